"""The session and step state machine, driven with stand-in steps (no media, no providers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from helpers import params

from runner import sessions, store
from runner.pipeline import Skip, StepResult
from runner.providers.base import ProviderSet
from runner.providers.registry import NoUploader


def _providers() -> ProviderSet:
    return ProviderSet(art=None, motion=None, music=None, ambience=None, uploader=NoUploader("no creds"))


def _recording_steps(calls: list[str], fail: str | None = None, skip: str | None = None):
    """Stand-in steps that record their order, and fail or skip where told."""

    def make(name):
        async def fn(ctx):
            calls.append(name)
            await asyncio.sleep(0.01 if name != "artwork" else 0.05)
            if name == fail:
                raise RuntimeError(f"{name} broke")
            if name == skip:
                raise Skip(f"{name} not wanted")
            return StepResult({"made": name})
        return fn

    return {name: make(name) for name in store.STEPS}


def test_a_clean_run_marks_every_step_done_and_the_session_completed(root):
    state = sessions.create(root, params())
    calls: list[str] = []
    status = sessions.execute(root, state, _providers(), step_fns=_recording_steps(calls))
    assert status == "completed"
    on_disk = store.read_state(root, state["id"])
    assert on_disk["status"] == "completed"
    assert {s["status"] for s in on_disk["steps"].values()} == {"done"}
    assert all(s["attempts"] == 1 and s["started_at"] and s["finished_at"] for s in on_disk["steps"].values())
    assert on_disk["finished_at"] and on_disk["pid"] is None
    # phases: variation first; render, metadata and upload last and in that order
    assert calls[0] == "variation" and calls[-3:] == ["render", "metadata", "upload"]
    assert set(calls[1:4]) == {"artwork", "motion", "music"}
    assert calls.index("artwork") < calls.index("motion")


def test_art_and_music_run_at_the_same_time(root):
    state = sessions.create(root, params())
    running = {"now": 0, "peak": 0}

    async def slow(ctx):
        running["now"] += 1
        running["peak"] = max(running["peak"], running["now"])
        await asyncio.sleep(0.1)
        running["now"] -= 1
        return StepResult({})

    fns = _recording_steps([])
    fns.update(artwork=slow, music=slow)
    assert sessions.execute(root, state, _providers(), step_fns=fns) == "completed"
    assert running["peak"] == 2


def test_a_failing_step_fails_the_session_and_leaves_later_steps_pending(root):
    state = sessions.create(root, params())
    status = sessions.execute(root, state, _providers(), step_fns=_recording_steps([], fail="render"))
    assert status == "failed"
    on_disk = store.read_state(root, state["id"])
    assert on_disk["steps"]["render"]["status"] == "failed"
    assert on_disk["steps"]["render"]["error"] == "RuntimeError: render broke"
    assert on_disk["steps"]["metadata"]["status"] == "pending"
    assert "render" in on_disk["error"]
    events = [e["type"] for e in store.read_events(root, state["id"])]
    assert "step_failed" in events and events[-1] == "session_status"


def test_a_skipped_step_records_its_reason(root):
    state = sessions.create(root, params())
    assert sessions.execute(root, state, _providers(), step_fns=_recording_steps([], skip="upload")) == "completed"
    upload = store.read_state(root, state["id"])["steps"]["upload"]
    assert upload["status"] == "skipped" and upload["note"] == "upload not wanted"


def test_resume_runs_only_what_is_not_done(root):
    state = sessions.create(root, params())
    first: list[str] = []
    assert sessions.execute(root, state, _providers(), step_fns=_recording_steps(first, fail="render")) == "failed"
    again = sessions.prepare_resume(root, state["id"])
    second: list[str] = []
    assert sessions.execute(root, again, _providers(), step_fns=_recording_steps(second)) == "completed"
    assert second == ["render", "metadata", "upload"]
    render = store.read_state(root, state["id"])["steps"]["render"]
    assert render["attempts"] == 2 and render["status"] == "done" and render["error"] is None


def test_review_stops_before_upload_until_approved(root):
    state = sessions.create(root, params(review=True))
    calls: list[str] = []
    assert sessions.execute(root, state, _providers(), step_fns=_recording_steps(calls)) == "awaiting_review"
    assert "upload" not in calls
    assert store.read_state(root, state["id"])["steps"]["upload"]["status"] == "pending"
    with pytest.raises(sessions.SessionError, match="awaiting review"):
        sessions.prepare_resume(root, state["id"])
    approved = sessions.prepare_approve(root, state["id"], privacy="unlisted")
    calls.clear()
    assert sessions.execute(root, approved, _providers(), step_fns=_recording_steps(calls)) == "completed"
    assert calls == ["upload"]
    final = store.read_state(root, state["id"])
    assert final["privacy_override"] == "unlisted" and final["approved_at"]


def test_approve_refuses_a_session_that_is_not_awaiting_review(root):
    state = sessions.create(root, params())
    sessions.execute(root, state, _providers(), step_fns=_recording_steps([]))
    with pytest.raises(sessions.SessionError, match="not awaiting review"):
        sessions.prepare_approve(root, state["id"])


def test_resuming_a_completed_session_does_nothing(root):
    state = sessions.create(root, params())
    sessions.execute(root, state, _providers(), step_fns=_recording_steps([]))
    with pytest.raises(sessions.AlreadyDone, match="already completed"):
        sessions.prepare_resume(root, state["id"])


def test_a_running_session_whose_process_is_gone_reads_as_interrupted(root):
    state = sessions.create(root, params())
    now = dt.datetime(2026, 11, 21, 3, 0, tzinfo=dt.timezone.utc)
    state.update(status="running", pid=2**22 + 12345, heartbeat_at=store.iso(now))
    store.write_state(root, state)
    assert store.effective_status(state, now) == "interrupted"
    # a live pid with a fresh heartbeat is running; with a stale one it is not
    import os
    state["pid"] = os.getpid()
    assert store.effective_status(state, now + dt.timedelta(seconds=5)) == "running"
    assert store.effective_status(state, now + dt.timedelta(seconds=60)) == "interrupted"


def test_an_interrupted_step_restarts_on_resume(root):
    state = sessions.create(root, params())
    state["status"] = "running"
    state["pid"] = 2**22 + 999
    state["steps"]["variation"].update(status="done")
    state["steps"]["music"].update(status="running", attempts=1)
    store.write_state(root, state)
    again = sessions.prepare_resume(root, state["id"])
    assert again["steps"]["music"]["status"] == "pending"
    calls: list[str] = []
    assert sessions.execute(root, again, _providers(), step_fns=_recording_steps(calls)) == "completed"
    assert "variation" not in calls and "music" in calls
    assert store.read_state(root, state["id"])["steps"]["music"]["attempts"] == 2


def test_events_carry_a_monotonic_seq_across_resumes(root):
    state = sessions.create(root, params())
    sessions.execute(root, state, _providers(), step_fns=_recording_steps([], fail="metadata"))
    sessions.execute(root, sessions.prepare_resume(root, state["id"]), _providers(), step_fns=_recording_steps([]))
    seqs = [e["seq"] for e in store.read_events(root, state["id"])]
    assert seqs == list(range(1, len(seqs) + 1))
    assert any(e["type"] == "session_status" and e["data"]["status"] == "completed"
               for e in store.read_events(root, state["id"]))


def test_state_json_is_always_whole_json(root):
    state = sessions.create(root, params())
    sessions.execute(root, state, _providers(), step_fns=_recording_steps([]))
    folder = store.session_dir(root, state["id"])
    json.loads((folder / "state.json").read_text())
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_log_lines_name_the_session_and_step(root):
    state = sessions.create(root, params())
    sessions.execute(root, state, _providers(), step_fns=_recording_steps([], fail="music"))
    lines = (root / "logs" / "runner.log").read_text().splitlines()
    parsed = [store.parse_log_line(l) for l in lines]
    assert all(p["session"] == state["id"] for p in parsed)
    assert any(p["level"] == "ERROR" and p["step"] == "music" and "music broke" in p["message"] for p in parsed)


def test_every_running_state_on_disk_names_a_live_runner(root, monkeypatch):
    """A reader polling at any moment must never mistake a live run for an interrupted one."""
    state = sessions.create(root, params())
    seen: list[str] = []

    def make(name):
        async def fn(ctx):
            seen.append(store.effective_status(store.read_state(root, state["id"])))
            return StepResult({})
        return fn

    import runner.journal as journal_mod
    original = journal_mod.Journal.save

    def save_and_check(self):
        original(self)
        on_disk = store.read_state(root, self.id)
        if on_disk["status"] == "running":
            seen.append(store.effective_status(on_disk))

    monkeypatch.setattr(journal_mod.Journal, "save", save_and_check)
    assert sessions.execute(root, state, _providers(), step_fns={n: make(n) for n in store.STEPS}) == "completed"
    assert seen and set(seen) == {"running"}


def test_title_and_youtube_reach_the_state_from_the_step_outputs_in_the_write_that_marks_them_done(root):
    """Steps write only their outputs; readers still find the title and the link at the top level."""
    state = sessions.create(root, params())
    seen: dict[str, dict] = {}
    fns = _recording_steps([])

    async def metadata(ctx):
        return StepResult({"metadata": "metadata.json", "title": "lofi beats to read to [1 hour]"}, "titled")

    async def upload(ctx):
        seen["after_metadata"] = dict(store.read_state(root, state["id"]))
        return StepResult({"video_id": "vid123", "url": "https://youtu.be/vid123", "privacy": "private",
                           "privacy_requested": "unlisted", "privacy_note": "locked private", "quota_units": 1600})

    fns.update(metadata=metadata, upload=upload)
    assert sessions.execute(root, state, _providers(), step_fns=fns) == "completed"
    before = seen["after_metadata"]
    assert before["steps"]["metadata"]["status"] == "done"
    assert before["title"] == "lofi beats to read to [1 hour]" and before["youtube"] is None
    on_disk = store.read_state(root, state["id"])
    assert on_disk["title"] == "lofi beats to read to [1 hour]"
    assert on_disk["youtube"] == {"id": "vid123", "url": "https://youtu.be/vid123", "privacy": "private",
                                  "privacy_requested": "unlisted", "privacy_note": "locked private"}
