"""A full disk is one line, and leaves nothing half-written (issue 10 item 6).

The real cases run on a small tmpfs mounted for the test (root only, as in CI; skipped with
the reason elsewhere): a run the disk cannot hold is refused before anything is written, and
a disk that fills up while a step writes fails that step in one line naming the disk and the
resume command, marks the session failed, removes its temporary files, and `resume` completes
once space is back.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator

import pytest
from helpers import REPO, params, run_cli

from runner import disk, store
from runner.media.ffmpeg import FFmpegError

MB = 1024 * 1024


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[callable]:
    """mount(size_mb) -> a fresh tmpfs of that size under tmp_path, unmounted after the test."""
    mounted: list[Path] = []

    def mount(size_mb: int) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
        where = tmp_path / f"disk{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        for _ in range(5):  # never leave a mount behind in the test's folder
            subprocess.run(["umount", "-l", str(where)], capture_output=True)
            if not os.path.ismount(where):
                break
            time.sleep(0.2)


def _fill(path: Path, leave: int = 0) -> Path:
    """Take every free byte of path's disk but `leave` with one file (tmpfs has no fallocate)."""
    filler = path / "filler.bin"
    block = b"\0" * MB
    with open(filler, "wb") as fh:
        try:
            while disk.free_bytes(path) > leave + len(block):
                fh.write(block)
                fh.flush()
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
                if disk.free_bytes(path) <= leave:
                    break
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def _temporaries(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*") if p.name != ".lock")


# ----------------------------------------------------------------------------- before the run

def test_a_run_the_disk_cannot_hold_is_refused_in_one_line_before_anything_is_written(small_disk):
    root = small_disk(48)
    result = run_cli("run", "--theme", "rainy night", "--minutes", "60", "--no-upload", root=root)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "not enough free space" in line and "3.0 GB" in line and str(root) in line and "MB free" in line
    assert not any((root / "sessions").iterdir())


def test_series_run_on_a_disk_too_small_names_the_entry_and_makes_nothing(small_disk, tmp_path):
    root = small_disk(48)
    tomorrow = (store.utc_now() + dt.timedelta(days=1)).date()  # due (ahead 2), publish time still to come
    plan = tmp_path / "series.toml"
    plan.write_text(f'[series]\nname = "Big"\nzone = "UTC"\nminutes = 60\nupload = false\nahead = 2\n\n'
                    f'[[entry]]\ndate = {tomorrow.isoformat()}\ntheme = "rainy night"\n')
    result = run_cli("series", "run", str(plan), root=root)
    assert result.returncode == 1, result.stdout + result.stderr
    [line] = [l for l in result.stdout.splitlines() if "no-space" in l]
    assert line.split()[:2] == [f"{tomorrow.isoformat()}-rainy-night", "no-space"]
    assert "writes about 3.0 GB" in line and "MB free" in line and str(root) in line and result.stderr == ""
    assert not (root / "sessions").exists() or not any((root / "sessions").iterdir())


def test_the_estimate_names_each_part_and_a_fake_disk_decides(tmp_path):
    p = params(minutes=60, tracks=24)
    need = disk.estimate_bytes(p)
    assert set(need) == {"tracks", "ambience", "mix", "loop", "final", "fixed", "scratch", "total"}
    # An hour of 48 kHz 16-bit stereo tracks, and a final at the loop's rate plus the AAC mix.
    assert need["tracks"] >= 3600 * 192_000 and need["final"] >= 3600 * (200_000 + 24_000)

    def statvfs(free: int):
        return lambda _path: SimpleNamespace(f_bavail=free // 4096, f_frsize=4096)

    assert disk.check_space(tmp_path, p, statvfs=statvfs(need["total"] + 4096)) <= need["total"]
    with pytest.raises(disk.NotEnoughSpace, match=r"not enough free space: this run writes about 3\.\d GB"):
        disk.check_space(tmp_path, p, statvfs=statvfs(need["total"] - 10 * MB))
    # A resumed session's files count as written already.
    assert disk.check_space(tmp_path, p, written=need["total"] // 2,
                            statvfs=statvfs(need["total"] // 2 + MB)) <= need["total"] // 2 + MB


def test_the_estimate_is_enough_for_what_a_run_really_writes(small_disk):
    p = params(minutes=1, tracks=2)
    size = disk.estimate_bytes(p)["total"] // MB + 2  # the estimate, and room for logs/
    root = small_disk(size)
    result = run_cli("run", "--theme", "rainy night", "--minutes", "1", "--tracks", "2", "--no-upload", root=root)
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------- during the run

def test_a_disk_that_fills_during_a_step_is_one_line_then_resume_completes(small_disk):
    p = params(minutes=1, tracks=2)
    root = small_disk(disk.estimate_bytes(p)["total"] // MB + 32)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "runner", "run", "--theme", "rainy night", "--minutes", "1", "--tracks", "2",
            "--no-upload", "--root", str(root)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        sid = None
        while time.monotonic() < deadline and proc.poll() is None:
            ids = store.list_session_ids(root)
            state = store.read_state(root, ids[0]) if ids else None
            if state and state["steps"]["music"]["status"] == "running":
                sid = ids[0]
                break
            time.sleep(0.05)
        assert sid, "the music step never started"
        filler = _fill(root)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, out + err
    assert "Traceback" not in out + err
    state = store.read_state(root, sid)
    assert state["status"] == "failed"
    assert "is full (No space left on device)" in state["error"] and str(root) in state["error"]
    assert f"python -m runner resume {sid}" in state["error"]
    assert state["error"].split(": ", 1)[1] in err  # said once, in one line, at the terminal
    assert _temporaries(store.session_dir(root, sid)) == []

    filler.unlink()
    resumed = run_cli("resume", sid, root=root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    state = store.read_state(root, sid)
    assert state["status"] == "completed" and (store.session_dir(root, sid) / "final.mp4").stat().st_size > 0


# ----------------------------------------------------------------------------- recognising it

@pytest.mark.parametrize("exc,code", [
    (OSError(errno.ENOSPC, "No space left on device"), errno.ENOSPC),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), errno.EDQUOT),
    (OSError(errno.EROFS, "Read-only file system"), errno.EROFS),
    (FFmpegError("ffmpeg failed", stderr="av_interleaved_write_frame(): No space left on device"), errno.ENOSPC),
    (OSError(errno.EACCES, "Permission denied"), None),
    (ValueError("no"), None),
])
def test_a_disk_that_takes_no_more_is_recognised_from_python_or_ffmpeg(exc, code):
    assert disk.disk_errno(exc) == code
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = exc
    assert disk.disk_errno(wrapped) == code


def test_the_line_names_the_disk_and_the_resume_command(tmp_path):
    line = disk.describe(errno.EROFS, tmp_path, "20261121-031500-rain")
    assert line.startswith(f"the disk holding {tmp_path} (mounted on ") and "is read-only (Read-only file system)" in line
    assert "make it writable, then run `python -m runner resume 20261121-031500-rain`" in line
    assert "\n" not in line


def test_only_dot_named_temporaries_are_removed(tmp_path):
    (tmp_path / "tracks").mkdir()
    for name in (".lock", ".final.partial.mp4", ".mix.tmp.m4a", "tracks/.03.wav.tmp", "tracks/01.wav", "loop.mp4"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / ".master-abc").mkdir()
    (tmp_path / ".master-abc" / "000.wav").write_bytes(b"x")
    removed = disk.remove_scratch(tmp_path)
    assert removed == [".final.partial.mp4", ".master-abc", ".mix.tmp.m4a", "tracks/.03.wav.tmp"]
    assert sorted(p.name for p in tmp_path.rglob("*")) == [".lock", "01.wav", "loop.mp4", "tracks"]
    shutil.rmtree(tmp_path / "tracks")
