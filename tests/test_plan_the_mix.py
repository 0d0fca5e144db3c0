"""The mix is planned before any track is made: the count follows the length, and a count the
length cannot hold is refused in one line before anything is made or paid for (issue 10 item 3)."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from runner import cli, store


def _main(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("minutes,tracks", [(60, 24), (0.5, 1), (2, 1), (5, 2), (10, 4), (720, 30), (0.05, 1)])
def test_auto_makes_about_one_track_per_two_and_a_half_minutes(minutes, tracks):
    assert store.validate_params({"theme": "x", "minutes": minutes})["tracks"] == tracks
    assert store.validate_params({"theme": "x", "minutes": minutes, "tracks": "auto"})["tracks"] == tracks


def test_the_shortest_video_is_one_second():
    assert store.validate_params({"theme": "x", "minutes": store.MIN_VIDEO_S / 60})["minutes"] * 60 == 1.0
    with pytest.raises(store.InvalidParams, match=r"at least 1 s \(0\.0167 minutes\), got 0\.0166"):
        store.validate_params({"theme": "x", "minutes": 0.0166})


def test_auto_is_the_default():
    assert store.DEFAULTS["tracks"] == "auto"
    assert store.validate_params({"theme": "x"})["tracks"] == 24


@pytest.mark.parametrize("minutes,tracks,most", [(0.1, 2, 1), (3, 30, 18), (0.5, 8, 3)])
def test_a_count_the_length_cannot_hold_is_refused_naming_the_most_it_holds(minutes, tracks, most):
    with pytest.raises(store.InvalidParams) as err:
        store.validate_params({"theme": "x", "minutes": minutes, "tracks": tracks})
    assert f"hold at most {most} track" in str(err.value) and f"not {tracks}" in str(err.value)


def test_a_count_the_length_holds_is_kept():
    assert store.validate_params({"theme": "x", "minutes": 3, "tracks": 18})["tracks"] == 18
    assert store.validate_params({"theme": "x", "minutes": 60, "tracks": 10})["tracks"] == 10


@pytest.mark.parametrize("argv", [["--minutes", "0.1", "--tracks", "2"], ["--minutes", "3", "--tracks", "30"]])
@pytest.mark.parametrize("command", ["run", "estimate"])
def test_the_cli_refuses_in_one_line_before_a_session_exists(tmp_path: Path, command, argv):
    code, out, err = _main(command, "--theme", "too many", *argv, "--provider", "fal", "--root", str(tmp_path))
    assert code == cli.EXIT_BAD_INPUT
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "hold at most" in lines[0] and "Traceback" not in err
    assert not (tmp_path / "sessions").exists() or not any((tmp_path / "sessions").iterdir())


def test_every_track_made_is_heard_once_and_kept_as_flac(tmp_path: Path):
    from helpers import run_cli

    result = run_cli("run", "--theme", "three songs", "--minutes", "1", "--tracks", "3", "--no-upload", root=tmp_path)
    assert result.returncode == 0, result.stderr
    sid = result.stdout.splitlines()[0]
    music = store.read_state(tmp_path, sid)["steps"]["music"]["outputs"]
    assert [s["track"] for s in music["segments"]] == [1, 2, 3]
    assert [round(s["end"] - s["start"]) for s in music["segments"]] == [24, 24, 20]  # 20 s each + crossfades
    assert [t["file"] for t in music["tracks"]] == ["tracks/01.flac", "tracks/02.flac", "tracks/03.flac"]
    assert music["ambience"] == "ambience.flac"
    folder = store.session_dir(tmp_path, sid)
    assert not list(folder.rglob("*.wav")) and not list(folder.glob(".master-*"))


def test_the_disk_estimate_knows_how_long_a_local_bed_can_be():
    from runner import disk
    from runner.media import ambience

    assert disk.BED_MAX_S == ambience.BED_SECONDS
    hour = disk.estimate_bytes(store.validate_params({"theme": "x", "minutes": 60}))
    quiet = disk.estimate_bytes(store.validate_params({"theme": "x", "minutes": 60, "atmosphere": "none"}))
    assert hour["ambience"] > 200_000_000 and quiet["ambience"] == 0
