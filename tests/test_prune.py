"""`python -m runner prune`: frees the intermediates of completed sessions, reports the bytes, keeps finals."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os

from helpers import params, run_cli

from runner import prune, sessions, store
from runner.pipeline import StepResult
from runner.providers.base import ProviderSet
from runner.providers.registry import NoUploader

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
# What a session leaves: intermediates (tracks, mix, ambience, scratch) and finals.
SIZES = {"tracks/01.wav": 4000, "tracks/02.wav": 5000, "mix.m4a": 700, "ambience.wav": 3000,
         ".master-abc/000.wav": 600, "final.mp4": 9000, "loop.mp4": 800, "artwork.png": 300,
         "thumbnail.jpg": 100}
INTERMEDIATE = 4000 + 5000 + 700 + 3000 + 600


def _make(root, *, age_days: float = 20, status: str = "completed", youtube: bool = False) -> str:
    when = NOW - dt.timedelta(days=age_days)
    clock = lambda: when  # noqa: E731

    async def write_files(ctx):
        for rel, size in SIZES.items():
            path = ctx.session_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\0" * size)
        return StepResult({})

    async def nothing(ctx):
        return StepResult({})

    async def upload(ctx):
        if status == "failed":
            raise RuntimeError("upload broke")
        return StepResult({"video_id": "vid1", "url": "https://www.youtube.com/watch?v=vid1"} if youtube else {})

    fns = {name: nothing for name in store.STEPS}
    fns.update(render=write_files, upload=upload)
    state = sessions.create(root, params(review=status == "awaiting_review"), clock=clock)
    sessions.execute(root, state, ProviderSet(None, None, None, None, NoUploader("x")), step_fns=fns, clock=clock)
    return state["id"]


def _files(root, sid) -> set[str]:
    folder = store.session_dir(root, sid)
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


def _cli(root, *args):
    out = run_cli("prune", "--json", *args, root=root)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_dry_run_reports_the_bytes_and_prune_frees_them_keeping_finals(root):
    sid = _make(root)
    before = _files(root, sid)
    report = _cli(root, "--dry-run")
    assert report["bytes"] == INTERMEDIATE and [s["id"] for s in report["sessions"]] == [sid]
    assert {f["path"]: f["bytes"] for f in report["sessions"][0]["files"]} == {
        ".master-abc/": 600, "ambience.wav": 3000, "mix.m4a": 700, "tracks/": 9000}
    assert _files(root, sid) == before  # a dry run removes nothing

    report = _cli(root)
    assert report["bytes"] == INTERMEDIATE and report["sessions"][0]["freed_bytes"] == INTERMEDIATE
    left = _files(root, sid)
    assert {"final.mp4", "loop.mp4", "artwork.png", "thumbnail.jpg", "state.json", "events.jsonl"} <= left
    assert not any(p.startswith(("tracks", "mix", "ambience", ".master")) for p in left)
    state = store.read_state(root, sid)
    assert state["status"] == "completed" and state["pruned"]["freed_bytes"] == INTERMEDIATE

    assert _cli(root)["bytes"] == 0  # nothing left to free


def test_the_human_report_names_what_it_frees(root):
    _make(root)
    out = run_cli("prune", "--dry-run", root=root)
    assert out.returncode == 0
    assert "would free 13.3 KB (13300 bytes) from 1 session(s), keeping finals" in out.stdout
    assert "tracks/" in out.stdout and "run again without --dry-run" in out.stdout


def test_running_awaiting_review_failed_and_recent_sessions_are_never_touched(root):
    review = _make(root, status="awaiting_review")
    failed = _make(root, status="failed")
    recent = _make(root, age_days=3)
    running = _make(root)
    state = store.read_state(root, running)
    state.update(status="running", pid=os.getpid(), heartbeat_at=store.iso(store.utc_now()))
    store.write_state(root, state)
    before = {sid: _files(root, sid) for sid in (review, failed, recent, running)}
    assert _cli(root)["sessions"] == []
    assert {sid: _files(root, sid) for sid in before} == before
    assert [s["id"] for s in _cli(root, "--older-than", "2d", "--dry-run")["sessions"]] == [recent]


def test_a_session_a_runner_holds_is_left_alone(root):
    sid = _make(root)
    fd = os.open(store.session_dir(root, sid) / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        [cand] = prune.candidates(root, older_than=dt.timedelta(days=14), keep="finals", now=NOW)
        assert prune.remove(root, cand, NOW) == 0 and "in use" in cand.note
    finally:
        os.close(fd)
    assert "tracks/01.wav" in _files(root, sid)


def test_keep_none_removes_finals_only_once_uploaded_and_keep_all_only_scratch(root):
    uploaded, local = _make(root, youtube=True), _make(root)
    report = {s["id"]: s for s in _cli(root, "--keep", "all", "--dry-run")["sessions"]}
    assert {f["path"] for f in report[uploaded]["files"]} == {".master-abc/"}
    report = {s["id"]: s for s in _cli(root, "--keep", "none")["sessions"]}
    assert report[uploaded]["freed_bytes"] == INTERMEDIATE + 9000 + 800
    assert report[local]["freed_bytes"] == INTERMEDIATE and "final.mp4 stays" in report[local]["note"]
    assert "final.mp4" not in _files(root, uploaded) and "final.mp4" in _files(root, local)
    assert {"artwork.png", "thumbnail.jpg", "metadata.json"} & _files(root, uploaded) == {"artwork.png",
                                                                                           "thumbnail.jpg"}


def test_a_link_inside_a_session_is_removed_as_a_link_never_followed(root, tmp_path):
    sid = _make(root)
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_bytes(b"x" * 50)
    os.symlink(outside, store.session_dir(root, sid) / "stems")
    report = _cli(root)
    assert (outside / "keep.txt").read_bytes() == b"x" * 50
    assert not os.path.lexists(store.session_dir(root, sid) / "stems")
    assert report["bytes"] == INTERMEDIATE + len(str(outside))  # the link itself, not what it points at


def test_bad_options_are_one_line_and_exit_2(root):
    for args in (("--older-than", "two weeks"), ("--keep", "some")):
        out = run_cli("prune", *args, root=root)
        assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_list_and_show_give_each_sessions_bytes_on_disk_and_the_total(root):
    a, b = _make(root), _make(root)
    rows = {r["id"]: r for r in json.loads(run_cli("list", "--json", root=root).stdout)}
    on_disk = {sid: store.tree_bytes(store.session_dir(root, sid)) for sid in (a, b)}
    # Recorded at the session's end; later writes (the final state.json) change it by a few bytes.
    assert all(abs(rows[sid]["disk_bytes"] - on_disk[sid]) < 2048 for sid in (a, b))
    assert rows[a]["disk_bytes"] > sum(SIZES.values())
    out = run_cli("list", root=root).stdout
    total = rows[a]["disk_bytes"] + rows[b]["disk_bytes"]
    assert f"2 session(s), {store.human_bytes(total)} on disk ({total} bytes)" in out
    assert store.human_bytes(rows[a]["disk_bytes"]) in out.splitlines()[1 + sorted([a, b], reverse=True).index(a)]

    _cli(root)  # prune: the recorded figure follows
    after = store.read_state(root, a)["disk_bytes"]
    assert abs(after - store.tree_bytes(store.session_dir(root, a))) < 2048  # state.json grew since
    assert after < rows[a]["disk_bytes"] - INTERMEDIATE + 2048
    show = run_cli("show", a, root=root).stdout  # show measures the folder as it is now
    now_bytes = store.tree_bytes(store.session_dir(root, a))
    assert f"  disk     {store.human_bytes(now_bytes)} ({now_bytes} bytes); prune freed 13.3 KB" in show
