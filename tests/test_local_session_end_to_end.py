"""Whole local sessions through the real CLI: real art, motion, music and ffmpeg renders."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers import REPO, run_cli
from media_helpers import FFMPEG

from runner import metadata, store


def _only_session(root: Path) -> str:
    ids = store.list_session_ids(root)
    assert len(ids) == 1, ids
    return ids[0]


def test_a_local_run_completes_with_upload_skipped(root):
    result = run_cli("run", "--theme", "rainy night", "--season", "autumn", "--minutes", "0.4", "--tracks", "2",
                     root=root)
    assert result.returncode == 0, result.stderr
    sid = result.stdout.splitlines()[0]
    assert store.is_session_id(sid) and sid == _only_session(root)
    state = store.read_state(root, sid)
    assert state["status"] == "completed"
    assert [state["steps"][s]["status"] for s in store.STEPS] == ["done"] * 6 + ["skipped"]
    assert "YOUTUBE_CLIENT_SECRETS" in state["steps"]["upload"]["note"]
    folder = store.session_dir(root, sid)
    for name in ["artwork.png", "thumbnail.jpg", "loop.mp4", "final.mp4", "metadata.json", "mix.m4a"]:
        assert (folder / name).stat().st_size > 0, name
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["title"] and meta["tags"]
    # 24 s hold no three 10 s chapters: the tracks are listed without timestamps, both named.
    assert metadata.problems(meta, state["steps"]["render"]["outputs"]["seconds"]) == []
    assert metadata.chapter_times(meta["description"]) == [] and "\n1. " in meta["description"]
    assert "[24 sec]" in meta["title"]
    assert "status   completed" in result.stdout and str(folder / "final.mp4") in result.stdout
    assert "$0.00 of $2.00 cap" in result.stdout
    assert state["cost"]["spent_usd"] == 0
    # readers: list and show agree with the state
    listed = json.loads(run_cli("list", "--json", root=root).stdout)
    assert listed[0]["id"] == sid and listed[0]["status"] == "completed"
    shown = json.loads(run_cli("show", sid, "--json", root=root).stdout)
    assert shown["title"] == meta["title"]
    # resuming a completed session does no work
    before = (folder / "state.json").stat().st_mtime_ns
    again = run_cli("resume", sid, root=root)
    assert again.returncode == 0 and "already completed" in again.stdout
    assert (folder / "state.json").stat().st_mtime_ns == before


def test_review_stops_before_upload_and_exits_zero(root):
    result = run_cli("run", "--theme", "review me", "--minutes", "0.2", "--tracks", "1", "--review", root=root)
    assert result.returncode == 0, result.stderr
    sid = result.stdout.splitlines()[0]
    assert store.read_state(root, sid)["status"] == "awaiting_review"
    approved = run_cli("approve", sid, root=root)
    assert approved.returncode == 0, approved.stderr
    state = store.read_state(root, sid)
    assert state["status"] == "completed" and state["steps"]["upload"]["status"] == "skipped"


def _snapshot(folder: Path, names: list[str]) -> dict[str, tuple[int, int]]:
    return {n: ((folder / n).stat().st_mtime_ns, (folder / n).stat().st_size) for n in names}


def _pcm_digest(path: Path) -> str:
    pcm = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "s16le", "-"], capture_output=True, check=True).stdout
    return hashlib.sha256(pcm).hexdigest()


def test_sigkill_during_music_then_resume_completes_without_rewriting_finished_work(root):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "--theme", "kill me", "--minutes", "3", "--tracks", "12",
         "--no-upload", "--root", str(root)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sid = proc.stdout.readline().strip()
    folder = store.session_dir(root, sid)
    deadline = time.monotonic() + 120
    state = None
    try:
        while time.monotonic() < deadline:
            state = store.read_state(root, sid)
            music = (state or {}).get("steps", {}).get("music", {})
            made = len(music.get("outputs", {}).get("tracks", []))
            if state and music.get("status") == "running" and 1 <= made < 12:
                break
            assert proc.poll() is None, "the run ended before it could be killed mid-music"
            time.sleep(0.02)
        else:
            raise AssertionError("never saw the music step half-way")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()

    state = store.read_state(root, sid)
    assert store.effective_status(state) == "interrupted"
    made = state["steps"]["music"]["outputs"]["tracks"]
    samples = {t["index"]: _pcm_digest(folder / t["file"]) for t in made}
    finished = []
    if state["steps"]["artwork"]["status"] == "done":
        finished += ["artwork.png", "thumbnail.jpg"]
    if state["steps"]["motion"]["status"] == "done":
        finished.append("loop.mp4")
    before = _snapshot(folder, finished)

    result = run_cli("resume", sid, root=root)
    assert result.returncode == 0, result.stderr
    after = store.read_state(root, sid)
    assert after["status"] == "completed"
    assert _snapshot(folder, finished) == before  # not one finished file rewritten
    # The finished tracks were not made again: the same samples, kept as FLAC once mixed.
    tracks = after["steps"]["music"]["outputs"]["tracks"]
    assert {t["index"]: _pcm_digest(folder / t["file"]) for t in tracks if t["index"] in samples} == samples
    assert all(t["file"].endswith(".flac") for t in tracks)
    assert after["steps"]["music"]["attempts"] == 2
    if "artwork.png" in finished:
        assert after["steps"]["artwork"]["attempts"] == 1
    assert len(after["steps"]["music"]["outputs"]["tracks"]) == 12
    # each track was made once, except any that was in flight at the kill
    actual = [l["label"] for l in store.read_ledger(root, sid) if l["phase"] == "actual" and l["asset"] == "music"]
    assert len(actual) == len(set(actual)) == 12
    assert (folder / "final.mp4").stat().st_size > 0
