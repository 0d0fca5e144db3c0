"""A person's files that cannot be used: one line naming the file and the reason, exit 2, before
anything is made or paid, and no session left behind (cli.main in-process, as test_bad_input)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest
from fakes.fixtures import loopback_only  # noqa: F401 - a run that got past the check must not reach fal
from own_helpers import clip, drm_m4a, picture, track, truncated_flac, video_only, with_orientation
from test_bad_input import _assert_refused, main  # noqa: F401 - the in-process CLI fixture

from runner import library


def _garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def _empty_dir(path: Path) -> Path:
    path.mkdir()
    (path / "cover.jpg").write_bytes(b"not audio, and not named like it")
    return path


def _playlist_with_a_gap(path: Path) -> Path:
    track(path.parent / "here.flac", 2, freq=330, level_db=0)
    path.write_text("here.flac\ngone.mp3\n")
    return path


CASES: list[tuple[str, str, Callable[[Path], Path], str]] = [
    # (option, file name under library/, what makes it, the reason the line must give)
    ("--music", "nowhere", lambda p: p, "no such folder or playlist"),
    ("--music", "empty", _empty_dir, "holds no audio files"),
    ("--music", "noise.mp3", _garbage, "unreadable"),
    ("--music", "cut.flac", truncated_flac, "truncated"),
    ("--music", "silent.m4a", video_only, "no audio stream"),
    ("--music", "locked.m4a", drm_m4a, "protected by DRM"),
    ("--music", "list.m3u", _playlist_with_a_gap, "gone.mp3: no such file"),
    ("--artwork", "small.png", lambda p: picture(p, 600, 400), "600x400 is too small"),
    ("--artwork", "sideways.jpg", lambda p: with_orientation(picture(p, 700, 400), 6),
     "400x700 (stored 700x400, turned by its EXIF orientation) is too small"),
    ("--artwork", "noise.png", _garbage, "unreadable"),
    ("--loop", "short.mp4", lambda p: clip(p, seamless=True, seconds=1), "a loop must last at least 2 s"),
    ("--loop", "locked.mp4", lambda p: _encrypted_clip(p), "protected by DRM"),
]


def _encrypted_clip(path: Path) -> Path:
    from own_helpers import ff

    plain = clip(path.with_name("plain.mp4"), seamless=True, seconds=2)
    ff("-i", str(plain), "-c", "copy", "-encryption_scheme", "cenc-aes-ctr",
       "-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb", "-encryption_kid", "a7e61c373e219033c21091fa607bf3b8",
       str(path))
    return path


@pytest.mark.parametrize("option,name,make,reason", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_file_that_cannot_be_used_is_one_line_before_anything_is_made(main, root, option, name, make, reason):
    (root / "library").mkdir()
    given = make(root / "library" / name)
    result = main("run", "--theme", "mine", option, f"library/{name}", "--provider", "fal", root=root,
                  env={"FAL_KEY": "fal-test-key-never-used"})
    _assert_refused(result, reason)
    line = result.stderr.strip()
    assert str(given) in line or str(given.parent) in line, line  # the line names the file
    assert result.returncode == 2
    assert list((root / "sessions").iterdir()) == []


def test_fit_without_a_picture_or_loop_is_refused(main, root):
    _assert_refused(main("run", "--theme", "mine", "--fit", "contain", root=root), "fit applies to --artwork or --loop")


def test_a_checked_file_that_changes_before_it_is_used_stops_the_step(tmp_path):
    f = track(tmp_path / "a.flac", 2, freq=330, level_db=0)
    kept = {"path": str(f), "sha256": library.sha256_of(f)}
    assert library.verified(tmp_path, kept) == f
    track(f, 3, freq=440, level_db=0)
    with pytest.raises(Exception, match="changed since the run began"):
        library.verified(tmp_path, kept)
