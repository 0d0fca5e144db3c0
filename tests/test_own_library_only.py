"""A run the studio starts from library/ picks reads only files inside library/ (`run --library-only`):
a playlist's lines, a folder's links and the picks themselves, links followed. From the command
line a person's own playlist may still name any file they can read."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.fixtures import loopback_only  # noqa: F401 - a run that got past the check must not reach fal
from own_helpers import picture, track
from test_bad_input import _assert_refused, main  # noqa: F401 - the in-process CLI fixture

from runner import library

OUTSIDE = "outside the data root's library/ folder"


@pytest.fixture
def lib(root: Path) -> Path:
    """library/ with a track, and a track and a picture outside it (in the data root's away/)."""
    folder = root / "library"
    folder.mkdir()
    track(folder / "mine.flac", 2, freq=330, level_db=0)
    away = root / "away"
    away.mkdir()
    track(away / "theirs.flac", 2, freq=440, level_db=0)
    picture(away / "theirs.png", 640, 360)
    return folder


def _refused(main, root: Path, *args: str, names: str) -> None:
    result = main("run", "--theme", "mine", *args, "--library-only", "--provider", "fal", root=root,
                  env={"FAL_KEY": "fal-test-key-never-used"})
    _assert_refused(result, names, OUTSIDE)
    assert result.returncode == 2
    assert list((root / "sessions").iterdir()) == []


def test_a_studio_run_refuses_a_playlist_line_that_leads_outside_library(main, root, lib):
    away = root / "away"
    for n, line in enumerate(["../away/theirs.flac", str(away / "theirs.flac"), f"file://{away}/theirs.flac",
                              str(away / "no-such-file.flac"), "linked.flac"]):
        (lib / "linked.flac").unlink(missing_ok=True)
        (lib / "linked.flac").symlink_to(away / "theirs.flac")
        (lib / f"mix{n}.m3u").write_text(f"#EXTM3U\nmine.flac\n{line}\n")
        # The line is named, and only as "outside": whether that file exists is not told.
        _refused(main, root, "--music", f"library/mix{n}.m3u", names=f"mix{n}.m3u:3: {line}")


def test_a_studio_run_refuses_a_link_in_a_music_folder_and_a_linked_pick(main, root, lib):
    away = root / "away"
    album = lib / "album"
    album.mkdir()
    track(album / "01 a.flac", 2, freq=330, level_db=0)
    (album / "02 b.flac").symlink_to(away / "theirs.flac")
    _refused(main, root, "--music", "library/album", names="02 b.flac")
    (lib / "cover.png").symlink_to(away / "theirs.png")
    _refused(main, root, "--artwork", "library/cover.png", names="cover.png")
    (lib / "escape.m3u").symlink_to(lib / ".." / "away" / "theirs.flac")
    _refused(main, root, "--music", "library/escape.m3u", names="escape.m3u")


def test_inside_library_links_are_fine_and_the_command_line_may_name_any_file(root, lib):
    away = root / "away"
    (lib / "same.flac").symlink_to(lib / "mine.flac")         # a link that stays inside
    (lib / "mix.m3u").write_text(f"mine.flac\nsame.flac\n{away / 'theirs.flac'}\n")
    (lib / "home.m3u").write_text("mine.flac\nsame.flac\n")
    own = library.check(root, {"music": "library/home.m3u"}, cwd=root, library_only=True)
    assert [t.path for t in own.music or ()] == ["library/mine.flac", "library/same.flac"]
    # Typed by a person: their playlist may name their files anywhere.
    own = library.check(root, {"music": "library/mix.m3u"}, cwd=root)
    assert [t.path for t in own.music or ()][-1] == "away/theirs.flac"  # shown relative to the data root
    with pytest.raises(library.BadInput, match="mix.m3u:3: .*" + OUTSIDE):
        library.check(root, {"music": "library/mix.m3u"}, cwd=root, library_only=True)
