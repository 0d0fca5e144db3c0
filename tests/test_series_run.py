"""`series run`: makes what is due, once; resumes, retries once, refuses past dates; one run per series."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
import textwrap
from types import SimpleNamespace

import pytest
from helpers import REPO, run_cli

from runner import disk, plan as plans, series, sessions, store
from runner.pipeline import StepResult
from runner.providers.base import ProviderSet
from runner.providers.registry import NoUploader

UTC = dt.timezone.utc
# 09:00 in Berlin on 1 December 2026.
DAY1 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)

PLAN = """\
[series]
name = "Night Desk"
zone = "Europe/Berlin"
publish_time = "18:00"
ahead = 1

[[cadence]]
every = "day"
start = 2026-12-01
count = 4
themes = ["rainy night", "tea at dusk"]
"""


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def load(tmp_path, text=PLAN):
    path = tmp_path / "series.toml"
    path.write_text(textwrap.dedent(text))
    return plans.load(path)


def steps(fail: set[str] | None = None, gate: threading.Event | None = None):
    """Stand-in steps; the render fails for themes in `fail`, and waits on `gate` when given."""
    def make(name):
        async def fn(ctx):
            if name == "render" and gate is not None:
                gate.wait(30)
            if name == "render" and ctx.params["theme"] in (fail or set()):
                raise RuntimeError("render broke")
            return StepResult({})
        return fn
    return {name: make(name) for name in store.STEPS}


def providers(_params):
    return ProviderSet(None, None, None, None, NoUploader("no creds"))


def runner(root, plan, clock, **kw):
    return series.Runner(root, plan, providers, {}, clock=clock, step_fns=kw.pop("step_fns", steps()), **kw)


def sessions_by_entry(root):
    out: dict[str, list[str]] = {}
    for sid in store.list_session_ids(root):
        block = store.read_state(root, sid)["series"]
        out.setdefault(block["entry"], []).append(sid)
    return out


def test_it_makes_what_is_due_and_a_second_run_makes_nothing(root, tmp_path):
    plan, clock = load(tmp_path), Clock(DAY1)
    done = runner(root, plan, clock).run()
    # Today's entry and tomorrow's (ahead = 1); not the two after.
    assert [(o.key, o.action, o.status) for o in done] == [
        ("2026-12-01-rainy-night", "made", "completed"), ("2026-12-02-tea-at-dusk", "made", "completed")]
    state = store.read_state(root, done[0].session_id)
    assert state["series"]["id"] == "night-desk" and state["series"]["entry"] == "2026-12-01-rainy-night"
    assert state["series"]["publish_at"] == "2026-12-01T17:00:00Z"
    assert runner(root, plan, clock).run() == []
    clock.now += dt.timedelta(days=1)
    assert [o.key for o in runner(root, plan, clock).run()] == ["2026-12-03-rainy-night"]
    assert all(len(sids) == 1 for sids in sessions_by_entry(root).values())
    snap = store.read_json(series.series_dir(root, "night-desk") / "plan.json")
    assert [e["key"] for e in snap["entries"]] == [e.key for e in plan.entries]


def test_an_interrupted_entry_is_resumed_not_made_again(root, tmp_path):
    plan, clock = load(tmp_path), Clock(DAY1)
    entry = plan.entries[0]
    state = sessions.create(root, entry.params, clock=clock, series=series.series_block(plan, entry))
    state["status"], state["pid"] = "running", 999_999_999  # a runner that died
    store.write_state(root, state)
    done = runner(root, plan, clock).run()
    assert (done[0].action, done[0].session_id, done[0].status) == ("resumed", state["id"], "completed")
    assert len(sessions_by_entry(root)[entry.key]) == 1


def test_a_failed_entry_is_retried_once_then_left_for_a_person(root, tmp_path):
    plan, clock = load(tmp_path), Clock(DAY1)
    fns = steps(fail={"rainy night"})
    first = runner(root, plan, clock, step_fns=fns).run()
    assert (first[0].action, first[0].status) == ("made", "failed") and first[1].status == "completed"
    second = runner(root, plan, clock, step_fns=fns).run()
    assert [(o.action, o.status) for o in second] == [("retried", "failed")]
    third = runner(root, plan, clock, step_fns=fns).run()
    assert [o.action for o in third] == ["left"] and "left for a person" in third[0].message
    assert f"python -m runner resume {first[0].session_id}" in third[0].message
    assert len(sessions_by_entry(root)["2026-12-01-rainy-night"]) == 1


def test_an_entry_whose_publish_time_has_passed_is_refused_and_not_made(root, tmp_path):
    plan = load(tmp_path)
    late = Clock(dt.datetime(2026, 12, 1, 17, 30, tzinfo=UTC))  # 18:30 in Berlin, after 18:00
    done = runner(root, plan, late).run()
    assert (done[0].key, done[0].action) == ("2026-12-01-rainy-night", "refused")
    assert "publish time 2026-12-01 18:00 CET has passed" in done[0].message
    assert "2026-12-01-rainy-night" not in sessions_by_entry(root)


def test_two_runs_started_at_once_make_each_entry_once(root, tmp_path):
    plan, clock = load(tmp_path), Clock(DAY1)
    both_started = threading.Barrier(2)
    gate = threading.Event()
    results: dict[str, object] = {}

    def go(name):
        r = runner(root, plan, clock, step_fns=steps(gate=gate))
        both_started.wait()
        try:
            results[name] = r.run()
        except series.SeriesBusy as exc:
            results[name] = exc
            gate.set()  # the loser has spoken: let the winner finish

    threads = [threading.Thread(target=go, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    busy = [r for r in results.values() if isinstance(r, series.SeriesBusy)]
    made = [r for r in results.values() if isinstance(r, list)]
    assert len(busy) == 1 and len(made) == 1 and "another `series run`" in str(busy[0])
    assert {k: len(v) for k, v in sessions_by_entry(root).items()} == {
        "2026-12-01-rainy-night": 1, "2026-12-02-tea-at-dusk": 1}


def test_series_run_while_another_holds_the_series_says_so_and_exits_0(root, tmp_path):
    plan = load(tmp_path)
    with series.series_lock(root, plan.id):
        out = run_cli("series", "run", str(tmp_path / "series.toml"), root=root)
    assert out.returncode == 0, out.stderr
    assert "another `series run` is making series 'night-desk' now" in out.stdout
    assert store.list_session_ids(root) == []


def test_series_run_of_a_bad_plan_makes_nothing(root, tmp_path):
    path = tmp_path / "series.toml"
    path.write_text(PLAN.replace('zone = "Europe/Berlin"', 'zone = "Mars/Olympus"'))
    out = run_cli("series", "run", str(path), root=root)
    assert out.returncode == 2 and out.stderr.startswith(f"{path}:3: unknown time zone")
    assert store.list_session_ids(root) == [] and not (root / "series").exists()


@pytest.mark.parametrize("ahead", ["-1", "99", "x"])
def test_a_bad_ahead_is_one_line(root, tmp_path, ahead):
    load(tmp_path)
    out = run_cli("series", "run", str(tmp_path / "series.toml"), "--ahead", ahead, root=root)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_an_upload_that_failed_on_the_quota_waits_for_the_reset_without_using_its_retry(root, tmp_path):
    from runner import quota

    plan, clock = load(tmp_path), Clock(DAY1)
    entry = plan.entries[0]
    state = sessions.create(root, entry.params, clock=clock, series=series.series_block(plan, entry))
    state["status"] = "failed"
    state["steps"]["upload"]["status"] = "failed"
    store.write_state(root, state)
    quota.QuotaLedger(root).mark_exhausted("videos.insert", DAY1)
    done = runner(root, plan, clock).run()
    assert (done[0].key, done[0].action) == (entry.key, "waiting")
    assert "resets at midnight Pacific time (2026-12-02 00:00 PST)" in done[0].message
    assert store.read_state(root, state["id"])["series"]["retries"] == 0
    clock.now = dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # the quota day has turned
    again = runner(root, plan, clock).run()
    assert (again[0].key, again[0].action, again[0].status) == (entry.key, "retried", "completed")


class Disk:
    """The data root's free space as the runner sees it (a statvfs passed in), set by the test."""

    def __init__(self, free: int):
        self.free = free

    def __call__(self, _path: str) -> SimpleNamespace:
        return SimpleNamespace(f_bavail=self.free // 4096, f_frsize=4096)


def test_a_disk_too_small_for_an_entry_halts_the_series_naming_it_and_the_next_run_goes_on(root, tmp_path):
    plan, clock = load(tmp_path), Clock(DAY1)
    need = disk.estimate_bytes(plan.entries[0].params)["total"]  # what a single `run` of it checks
    small = Disk(need - 1024 * 1024)
    done = runner(root, plan, clock, statvfs=small).run()
    assert [(o.key, o.action, o.session_id) for o in done] == [
        ("2026-12-01-rainy-night", "no-space", None), ("2026-12-02-tea-at-dusk", "later", None)]
    line = done[0].line()
    assert line.split()[:2] == ["2026-12-01-rainy-night", "no-space"] and "\n" not in line
    assert f"writes about {disk.human(need)} under {root}" in line and f"{disk.human(small.free)} free" in line
    assert done[1].message == "waits for disk space (see the entry before it)"
    assert store.list_session_ids(root) == []  # nothing made, no session folder left behind

    done = runner(root, plan, clock, statvfs=Disk(need + 4096)).run()  # space is back
    assert [(o.key, o.action, o.status) for o in done] == [
        ("2026-12-01-rainy-night", "made", "completed"), ("2026-12-02-tea-at-dusk", "made", "completed")]


def test_a_failed_entry_waits_for_disk_space_without_using_its_retry(root, tmp_path):
    plan, clock = load(tmp_path), Clock(DAY1)
    first = runner(root, plan, clock, step_fns=steps(fail={"rainy night"})).run()
    sid = first[0].session_id
    assert first[0].status == "failed"
    need = disk.estimate_bytes(plan.entries[0].params)["total"]
    [short] = runner(root, plan, clock, statvfs=Disk(disk.SCRATCH_BYTES)).run()
    assert (short.action, short.session_id) == ("no-space", sid) and "free" in short.message
    state = store.read_state(root, sid)
    assert state["status"] == "failed" and state["series"]["retries"] == 0
    [again] = runner(root, plan, clock, statvfs=Disk(need)).run()
    assert (again.action, again.session_id, again.status) == ("retried", sid, "completed")


@pytest.mark.slow
def test_two_series_run_processes_started_at_once_make_the_entry_once(root, tmp_path):
    """Two real `python -m runner series run` processes, released together: one makes the
    due entry (a short keyless session), the other says the series is being made and exits 0."""
    tomorrow = (store.utc_now() + dt.timedelta(days=1)).astimezone(plans.ZoneInfo("Europe/Berlin")).date()
    path = tmp_path / "series.toml"
    path.write_text(textwrap.dedent(f"""\
        [series]
        name = "Twice"
        zone = "Europe/Berlin"
        minutes = 0.2
        tracks = 1
        upload = false
        ahead = 1

        [[entry]]
        date = {tomorrow.isoformat()}
        theme = "one entry"
        """))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_", "STUDIO_"))}
    env["PYTHONPATH"] = str(REPO)
    argv = [sys.executable, "-m", "runner", "series", "run", str(path), "--root", str(root)]
    # Both block reading one pipe; one write of two lines releases them together.
    read, write = os.pipe()
    wait_then_run = "import os, sys; os.read(int(sys.argv[1]), 3); os.execv(sys.argv[2], sys.argv[2:])"
    procs = [subprocess.Popen([sys.executable, "-c", wait_then_run, str(read), *argv], pass_fds=(read,),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=str(root))
             for _ in range(2)]
    os.close(read)
    os.write(write, b"go\ngo\n")
    os.close(write)
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    busy = [o for o in outs if "another `series run` is making series 'twice' now" in o]
    made = [o for o in outs if re.search(r"^\s+\S+-one-entry\s+made\s", o, flags=re.M)]
    assert len(busy) == 1 and len(made) == 1, outs
    [sid] = store.list_session_ids(root)
    assert store.read_state(root, sid)["status"] == "completed"
