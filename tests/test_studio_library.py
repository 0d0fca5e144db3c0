"""The launcher's picker: GET /api/library lists the data root's library/ folder, and a launch may
name only what it lists (no uploads, nothing outside library/, no links followed)."""

from __future__ import annotations

import os
from pathlib import Path

from test_studio_launcher import calls, launch, launcher_app, wait_gone
from test_studio_support import get_json

from studio import library


def _library(root: Path) -> Path:
    lib = root / "library"
    (lib / "albums" / "night").mkdir(parents=True)
    (lib / "albums" / "night" / "01 a.mp3").write_bytes(b"x")
    (lib / "albums" / "night" / "02 b.flac").write_bytes(b"x")
    (lib / "albums" / "night" / "cover.jpg").write_bytes(b"x" * 10)
    (lib / "mix.m3u").write_text("albums/night/01 a.mp3\n")
    (lib / "loops").mkdir()
    (lib / "loops" / "rain.mov").write_bytes(b"x" * 20)
    (lib / ".hidden.png").write_bytes(b"x")
    (lib / "loose.mp3").write_bytes(b"x")                # not in a folder of its own: no music entry
    (lib / "elsewhere.png").symlink_to(root / "secret.png")
    (root / "secret.png").write_bytes(b"not yours")
    (lib / "linked").symlink_to(root, target_is_directory=True)
    os.link(root / "secret.png", lib / "hardlink.png")
    return lib


def test_the_library_lists_music_folders_playlists_pictures_and_loops_and_no_links(root, tmp_path):
    _library(root)
    app = launcher_app(root, tmp_path)
    body = get_json(app, "/api/library")
    assert body == {
        "music": [{"path": "library/albums/night", "bytes": 0, "tracks": 2}, {"path": "library/mix.m3u", "bytes": 22}],
        "artwork": [{"path": "library/albums/night/cover.jpg", "bytes": 10}],
        "loop": [{"path": "library/loops/rain.mov", "bytes": 20}],
        "truncated": False,
    }


def test_no_library_folder_is_an_empty_list(root, tmp_path):
    app = launcher_app(root, tmp_path)
    assert get_json(app, "/api/library") == {"music": [], "artwork": [], "loop": [], "truncated": False}


def test_a_launch_passes_the_picks_to_the_runner_as_typed_options(root, tmp_path):
    _library(root)
    app = launcher_app(root, tmp_path)
    resp = launch(app, music="library/albums/night", artwork="library/albums/night/cover.jpg",
                  loop="library/loops/rain.mov", fit="contain", minutes="auto", tracks=None,
                  license_note="licensed from Ada Reed")
    assert resp.status == 202, resp.body
    argv = calls(tmp_path)[0]
    for option in ("--music=library/albums/night", "--artwork=library/albums/night/cover.jpg",
                   "--loop=library/loops/rain.mov", "--fit=contain", "--minutes=auto",
                   "--license-note=licensed from Ada Reed", "--tracks=auto",
                   "--library-only"):  # the runner reads nothing outside library/ (a playlist's lines)
        assert option in argv, argv
    wait_gone(app)


def test_a_pick_outside_the_library_or_through_a_link_is_refused_before_anything_runs(root, tmp_path):
    _library(root)
    app = launcher_app(root, tmp_path)
    for field, path in [("artwork", "/etc/passwd"), ("artwork", "library/../secret.png"),
                        ("artwork", "library/elsewhere.png"), ("artwork", "library/hardlink.png"),
                        ("music", "library/linked/library/albums/night"), ("music", "library/loops"),
                        ("loop", "library/albums/night/cover.jpg"), ("artwork", "secret.png"),
                        ("music", "library/nothing-here")]:
        resp = launch(app, **{field: path}, **({"tracks": None} if field == "music" else {}))
        assert resp.status == 400, (field, path, resp.body)
        assert resp.json()["field"] == field, resp.json()
    assert calls(tmp_path) == []


def test_check_walks_without_following_links(root):
    lib = _library(root)
    assert library.check(root, "music", "library/albums/night") == "library/albums/night"
    assert library.check(root, "music", "library/mix.m3u") == "library/mix.m3u"
    (lib / "albums" / "night" / "later.mp3").unlink(missing_ok=True)
    try:
        library.check(root, "artwork", "library/elsewhere.png")
    except library.Refused as exc:
        assert "symbolic link" in str(exc)
    else:
        raise AssertionError("a link was accepted")
