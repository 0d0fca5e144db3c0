"""Terminal monitor: snapshots of every state, errors, following a run to its end, plain forms.

Sessions are written in the store format into temporary data roots; the monitor is given a
fixed clock where the picture depends on the time, never a patched one.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from runner import monitor, store
from runner import monitor_render as mr

REPO = Path(__file__).resolve().parent.parent
NOW = dt.datetime(2026, 11, 21, 3, 30, 0, tzinfo=dt.timezone.utc)
ESC = "\x1b"
SGR = re.compile(r"\x1b\[[0-9;]*m")


def ago(seconds: float, now: dt.datetime = NOW) -> str:
    return store.iso(now - dt.timedelta(seconds=seconds))


def dead_pid() -> int:
    """The pid of a process that has already exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_session(root: Path, status: str = "running", *, now: dt.datetime = NOW, theme: str = "rainy night",
                 started_s: float = 600, **edits: Any) -> dict[str, Any]:
    """A session folder in the store format, with a live runner (this process) when running."""
    params = store.validate_params({"theme": theme, "cap": 2.0})
    created = now - dt.timedelta(seconds=started_s)
    state = store.new_state(store.new_session_id(theme, created), params, created)
    state["status"] = status
    if status in ("running", "queued", "awaiting_review"):
        state["pid"] = os.getpid()
        state["heartbeat_at"] = store.iso(now)
    for key, value in edits.items():
        if key == "steps":
            for name, fields in value.items():
                state["steps"][name].update(fields)
        elif key == "cost":
            state["cost"].update(value)
        else:
            state[key] = value
    store.write_state(root, state, now)
    return state


def done(start: float, end: float, **more: Any) -> dict[str, Any]:
    return {"status": "done", "started_at": ago(start), "finished_at": ago(end), "attempts": 1, **more}


ALL_DONE = {
    "variation": done(600, 599, note="palette dusk"),
    "artwork": done(599, 560, cost_usd=0.04),
    "motion": done(560, 500, cost_usd=0.30),
    "music": done(599, 300, cost_usd=1.00),
    "render": done(300, 100),
    "metadata": done(100, 99),
}


def write_log(root: Path, session_id: str, messages: list[tuple[str, str, str]]) -> None:
    store.logs_dir(root).mkdir(parents=True, exist_ok=True)
    with open(store.log_path(root), "a", encoding="utf-8") as fh:
        for i, (level, step, message) in enumerate(messages):
            fh.write(store.format_log_line(level, session_id, step, message, NOW - dt.timedelta(seconds=60 - i)))


def snapshot(root: Path, session_id: str | None = None, **kw: Any) -> tuple[int, str]:
    out = io.StringIO()
    kw.setdefault("clock", lambda: NOW)
    code = monitor.run_monitor(root, session_id, once=True, out=out, env={}, interval=0.01, **kw)
    return code, out.getvalue()


def assert_fits(text: str, width: int = 80, height: int = 24) -> None:
    lines = text.rstrip("\n").split("\n")
    assert len(lines) <= height, f"{len(lines)} lines"
    for line in lines:
        assert mr.text_width(line) <= width, line


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    return tmp_path


# ----------------------------------------------------------------------------- snapshots

def test_queued_session_shows_waiting_to_start_with_every_step_pending(data_root: Path) -> None:
    state = make_session(data_root, "queued", started_s=3)
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "queued" in text.splitlines()[0]
    assert "queued for 0:03" in text
    assert "waiting to start" in text
    for name in store.STEPS:
        assert re.search(rf"· {name}\s+pending", text), name
    assert "$0.00 of $2.00" in text
    assert ESC not in text
    assert_fits(text)


def test_running_session_shows_rail_times_progress_cost_and_this_sessions_log(data_root: Path) -> None:
    state = make_session(
        data_root, "running", started_s=754,
        steps={
            "variation": done(754, 750, note="palette dusk, scene rooftop"),
            "artwork": done(750, 700, cost_usd=0.04),
            "motion": {"status": "running", "started_at": ago(700), "attempts": 1,
                       "progress": {"done": None, "total": None, "percent": 40, "label": None}},
            "music": {"status": "running", "started_at": ago(750), "attempts": 1, "cost_usd": 1.0,
                      "progress": {"done": 7, "total": 10, "percent": 70, "label": "music 7/10"}},
        },
        cost={"spent_usd": 1.10, "by_asset": {"image": 0.04, "video": 0.0, "music": 1.0, "ambience": 0.06}},
    )
    write_log(data_root, state["id"], [("INFO", "music", f"track {i} done") for i in range(1, 8)])
    write_log(data_root, "20261121-000000-someone-else", [("ERROR", "render", "not ours")])
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    lines = text.splitlines()
    assert "running" in lines[0] and state["id"] in lines[0]
    assert "elapsed 12:34" in lines[1]
    assert re.search(r"✓ variation\s+done\s+0:04\s+palette dusk", text)
    assert re.search(r"✓ artwork\s+done\s+0:50\s+\$0\.04", text)
    assert re.search(r"▶ music\s+running\s+12:30\s+\$1\.00\s+7/10 █+░+", text)
    assert re.search(r"▶ motion\s+running\s+11:40\s+40% ", text)
    assert re.search(r"· render\s+pending", text)
    assert "$1.10 of $2.00  55%" in text
    assert "image $0.04 · video $0.00 · music $1.00 · ambience $0.06" in text
    assert "now   motion 40% · music 7/10" in text
    assert "03:29:06 INFO  music: track 7 done" in text
    assert "not ours" not in text
    assert ESC not in text
    assert_fits(text)


def test_render_step_activity_shows_its_percentage(data_root: Path) -> None:
    state = make_session(data_root, "running", steps={
        **{k: v for k, v in ALL_DONE.items() if k not in ("render", "metadata")},
        "render": {"status": "running", "started_at": ago(30), "attempts": 1,
                   "progress": {"done": None, "total": None, "percent": 42.4, "label": None}},
    })
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "now   render 42%" in text
    assert re.search(r"▶ render\s+running\s+0:30\s+42% ████░░░░░░", text)


def test_awaiting_review_says_a_person_must_approve(data_root: Path) -> None:
    state = make_session(data_root, "awaiting_review", steps=ALL_DONE, title="Rainy Night Lofi")
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "awaiting review" in text.splitlines()[0]
    assert "title Rainy Night Lofi" in text
    assert "review it before upload" in text
    assert re.search(r"· upload\s+pending", text)
    assert_fits(text)


def test_completed_session_freezes_the_clock_at_its_finish(data_root: Path) -> None:
    state = make_session(data_root, "completed", started_s=600, finished_at=ago(90),
                         steps={**ALL_DONE, "upload": {"status": "skipped", "started_at": ago(99),
                                                       "finished_at": ago(99), "note": "no YouTube credentials"}},
                         cost={"spent_usd": 1.34})
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "✓ completed" in text.splitlines()[0]
    assert "elapsed 8:30" in text  # created 600 s before NOW, finished 90 s before
    assert re.search(r"↷ upload\s+skipped\s+0:00\s+no YouTube credentials", text)
    assert "now   finished" in text


def test_the_header_says_a_count_of_one_as_words(data_root: Path) -> None:
    # A 2-minute run makes 1 track (--tracks auto): the header said "1 tracks".
    params = store.validate_params({"theme": "rainy night", "minutes": 2, "cap": 2.0})
    state = make_session(data_root, "completed", params=params, finished_at=ago(90), steps=ALL_DONE)
    _, text = snapshot(data_root, state["id"])
    assert params["tracks"] == 1 and "· 2 min · 1 track ·" in text.splitlines()[1]
    state = make_session(data_root, "completed", theme="tea", params={**params, "tracks": 3}, steps=ALL_DONE)
    assert "· 3 tracks ·" in snapshot(data_root, state["id"])[1].splitlines()[1]


def test_failed_session_shows_the_failed_step_and_its_error(data_root: Path) -> None:
    state = make_session(data_root, "failed", finished_at=ago(10), error="render failed: ffmpeg exited 1",
                         steps={**{k: v for k, v in ALL_DONE.items() if k not in ("render", "metadata")},
                                "render": {"status": "failed", "started_at": ago(60), "finished_at": ago(10),
                                           "attempts": 3, "error": "ffmpeg exited 1"}})
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "✗ failed" in text.splitlines()[0]
    assert re.search(r"✗ render\s+failed\s+0:50\s+ffmpeg exited 1 \(try 3\)", text)
    assert "now   failed: render failed: ffmpeg exited 1" in text


def test_halted_budget_shows_the_halt_message_and_a_full_cost_bar(data_root: Path) -> None:
    msg = "music track 9 would cost $0.30 and cross the $2.00 cap (spent $1.90)"
    state = make_session(data_root, "halted_budget", finished_at=ago(5), halt={"message": msg, "step": "music"},
                         cost={"spent_usd": 1.90})
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "halted: budget cap" in text.splitlines()[0]
    assert "95%  nearly at the cap" in text
    # The message is long: it wraps onto a second row instead of being cut off.
    assert "now   halted at the spend cap: music track 9 would cost $0.30 and cross the" in text
    assert "$2.00 cap (spent $1.90)" in text
    assert_fits(text)


def test_running_session_whose_runner_died_shows_as_interrupted(data_root: Path) -> None:
    state = make_session(data_root, "running", pid=dead_pid(), heartbeat_at=ago(2),
                         steps={"variation": done(600, 590),
                                "artwork": {"status": "running", "started_at": ago(590)}})
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert "interrupted" in text.splitlines()[0]
    assert "now   interrupted" in text
    # The step clock stops at the last heartbeat, not at the present.
    assert re.search(r"▶ artwork\s+running\s+9:48", text)


def test_snapshot_of_a_wide_terminal_frame_never_exceeds_80_by_24(data_root: Path) -> None:
    long = "x" * 300
    state = make_session(data_root, "failed", theme="a" * 80, title="T" * 200, error=long,
                         steps={n: {"status": "failed", "error": long, "started_at": ago(9), "finished_at": ago(1)}
                                for n in store.STEPS})
    write_log(data_root, state["id"], [("ERROR", "music", long)] * 40)
    code, text = snapshot(data_root, state["id"])
    assert code == 0
    assert_fits(text)
    assert len(text.splitlines()) == 24


# ----------------------------------------------------------------------------- drawing

def test_cost_bar_is_amber_from_70_and_red_from_90_percent() -> None:
    assert mr.cost_level(1.38, 2.0) == (pytest.approx(0.69), mr.GREEN)
    assert mr.cost_level(1.40, 2.0)[1] == mr.AMBER
    assert mr.cost_level(1.79, 2.0)[1] == mr.AMBER
    assert mr.cost_level(1.80, 2.0)[1] == mr.RED
    assert mr.cost_level(2.50, 2.0)[1] == mr.RED
    assert mr.cost_level(1.0, 0)[0] is None


@pytest.mark.parametrize("spent, colour, words", [
    (0.50, mr.GREEN, ""), (1.50, mr.AMBER, "near the cap"), (1.90, mr.RED, "nearly at the cap"),
])
def test_coloured_cost_line_uses_the_threshold_colour(spent: float, colour: str, words: str) -> None:
    state = store.new_state("20261121-030000-x", store.validate_params({"theme": "x"}), NOW)
    state["cost"]["spent_usd"] = spent
    lines = mr.render_lines(state, NOW, color=True)
    cost = next(l for l in lines if "cost" in l)
    assert f"\x1b[{colour}m█" in cost
    assert f"\x1b[{colour};1m  {spent / 2 * 100:.0f}%" in cost
    assert words in cost


def test_control_characters_from_files_never_reach_the_terminal() -> None:
    state = store.new_state("20261121-030000-x", store.validate_params({"theme": "x"}), NOW)
    state["title"] = "evil\x1b]0;pwned\x07title\x1b[2J"
    state["steps"]["music"].update(status="running", progress={"label": "7/10\x1b[31m"})
    lines = mr.render_lines(state, NOW, status="running",
                            log_lines=[f"2026-11-21T03:29:00.000Z INFO  [x] music: a\x1b[1;1Hb\rc"])
    assert not any(ESC in l or "\x07" in l or "\r" in l for l in lines)


def test_a_misshapen_state_is_one_line_naming_the_field_not_a_crash(data_root: Path, capsys: Any) -> None:
    # Wrong types never reach the renderer: the monitor reads states through store.load_state,
    # which refuses them and says which field is wrong.
    state = make_session(data_root, "running")
    state["steps"]["music"] = {"status": "running", "progress": {"done": "a", "total": 0, "percent": None},
                               "started_at": "yesterday", "attempts": "many", "cost_usd": "lots"}
    state["cost"]["by_asset"] = ["no"]
    store.write_state(data_root, state, NOW)
    code, text = snapshot(data_root, state["id"])
    assert code == monitor.EXIT_UNREADABLE and text == ""
    err = capsys.readouterr().err
    assert f"monitor: session {state['id']} is unreadable: steps.music.started_at is a string, not a timestamp" in err
    assert err.count("\n") == 1


def test_wide_characters_count_as_two_columns_when_fitting() -> None:
    state = store.new_state("20261121-030000-x", store.validate_params({"theme": "雨の夜" * 20}), NOW)
    for line in mr.render_lines(state, NOW):
        assert mr.text_width(line) <= 80


def test_short_terminal_drops_log_lines_first() -> None:
    state = store.new_state("20261121-030000-x", store.validate_params({"theme": "x"}), NOW)
    log = [f"2026-11-21T03:29:{i:02d}.000Z INFO  [x] music: line {i}" for i in range(30)]
    tall = mr.render_lines(state, NOW, log_lines=log, height=40)
    short = mr.render_lines(state, NOW, log_lines=log, height=20)
    assert len(short) == 20 and "line 29" in short[-1]
    assert len(tall) == 40 and "line 29" in tall[-1]
    assert sum("line" in l for l in short) < sum("line" in l for l in tall)


def test_events_stand_in_when_the_log_has_nothing_for_the_session(data_root: Path) -> None:
    state = make_session(data_root, "running")
    store.append_jsonl(store.session_dir(data_root, state["id"]) / "events.jsonl",
                       {"seq": 1, "ts": ago(5), "type": "step_started", "step": "artwork", "message": "drawing Porsuk"})
    code, text = snapshot(data_root, state["id"])
    assert "events (UTC)" in text
    assert "03:29:55 step_started artwork: drawing Porsuk" in text


def test_ascii_glyphs_when_the_output_encoding_cannot_carry_unicode() -> None:
    assert mr.glyphs_for("ascii") is mr.ASCII
    assert mr.glyphs_for("utf-8") is mr.UNICODE
    state = store.new_state("20261121-030000-x", store.validate_params({"theme": "x"}), NOW)
    "\n".join(mr.render_lines(state, NOW, glyphs=mr.ASCII)).encode("ascii")


# ----------------------------------------------------------------------------- choosing and errors

def test_without_an_id_it_watches_the_newest_running_session(data_root: Path) -> None:
    older = make_session(data_root, "running", started_s=900, theme="older live")
    make_session(data_root, "completed", started_s=60, theme="newer done")
    code, text = snapshot(data_root)
    assert code == 0 and older["id"] in text.splitlines()[0]


def test_without_an_id_and_nothing_running_it_shows_the_newest_session(data_root: Path) -> None:
    make_session(data_root, "completed", started_s=900, theme="older")
    newer = make_session(data_root, "failed", started_s=60, theme="newer")
    dead = make_session(data_root, "running", started_s=30, theme="dead runner", pid=dead_pid())
    # A "running" session whose runner is gone does not count as running, but is newest.
    assert dead["id"] in snapshot(data_root)[1].splitlines()[0]
    shutil.rmtree(store.session_dir(data_root, dead["id"]))
    assert newer["id"] in snapshot(data_root)[1].splitlines()[0]


@pytest.mark.parametrize("make, session_id, code, message", [
    (lambda r: None, None, monitor.EXIT_NO_SESSION, "no sessions under"),
    (lambda r: make_session(r), "20261121-000000-missing", monitor.EXIT_NO_SESSION,
     "no session 20261121-000000-missing under"),
    (lambda r: None, "../etc", monitor.EXIT_NO_SESSION, "'../etc' is not a session id"),
    (lambda r: (r / "sessions" / "20261121-000000-corrupt").mkdir() or
     (r / "sessions" / "20261121-000000-corrupt" / "state.json").write_text('{"id": "20261121-0'),
     "20261121-000000-corrupt", monitor.EXIT_UNREADABLE, "session 20261121-000000-corrupt is unreadable"),
    (lambda r: (r / "sessions" / "20261121-000000-empty").mkdir(), "20261121-000000-empty",
     monitor.EXIT_UNREADABLE, "is unreadable: state.json is missing"),
])
def test_missing_or_unreadable_session_gets_one_clear_line_and_a_nonzero_exit(
        data_root: Path, capsys: pytest.CaptureFixture[str], make: Any, session_id: str | None,
        code: int, message: str) -> None:
    make(data_root)
    got, text = snapshot(data_root, session_id)
    err = capsys.readouterr().err
    assert got == code != 0
    assert text == ""
    assert err.count("\n") == 1 and err.startswith("monitor: ") and message in err
    assert "Traceback" not in err


def test_once_and_follow_together_are_refused(data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_session(data_root)
    assert monitor.run_monitor(data_root, None, once=True, follow=True, out=io.StringIO()) == 2
    assert "either --once or --follow" in capsys.readouterr().err


def test_session_deleted_while_watching_ends_with_the_unreadable_code(
        data_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = make_session(data_root, "running", now=store.utc_now())
    threading.Timer(0.3, shutil.rmtree, [store.session_dir(data_root, state["id"])]).start()
    code = monitor.run_monitor(data_root, state["id"], follow=True, out=io.StringIO(), env={}, interval=0.02)
    assert code == monitor.EXIT_UNREADABLE
    assert f"session {state['id']} is gone" in capsys.readouterr().err


# ----------------------------------------------------------------------------- following

class FakeRunner(threading.Thread):
    """Advances a session through the pipeline on disk, the way the runner would."""

    def __init__(self, root: Path, state: dict[str, Any], ending: str, pause: float = 0.08) -> None:
        super().__init__(daemon=True)
        self.root, self.state, self.ending, self.pause = root, state, ending, pause

    def write(self, **edits: Any) -> None:
        self.state.update(edits)
        self.state["heartbeat_at"] = store.iso()
        store.write_state(self.root, self.state)
        time.sleep(self.pause)

    def log(self, step: str, message: str) -> None:
        with open(store.log_path(self.root), "a", encoding="utf-8") as fh:
            fh.write(store.format_log_line("INFO", self.state["id"], step, message))

    def run(self) -> None:
        steps = self.state["steps"]
        self.write(status="running")
        for name in store.STEPS:
            steps[name].update(status="running", started_at=store.iso())
            self.log(name, "started")
            if name == "music":
                for i in range(1, 4):
                    steps[name]["progress"] = {"done": i, "total": 3, "percent": i / 3 * 100, "label": f"{i}/3"}
                    self.write()
            if name == "render" and self.ending == "failed":
                steps[name].update(status="failed", error="ffmpeg exited 1", finished_at=store.iso())
                self.write(status="failed", error="render failed", finished_at=store.iso())
                return
            if name == "music" and self.ending == "halted_budget":
                self.write(status="halted_budget", halt={"message": "track 3 would cross the cap"},
                           finished_at=store.iso())
                return
            if name == "render" and self.ending == "interrupted":
                self.write(pid=dead_pid())  # the runner dies mid-render, leaving "running"
                return
            steps[name].update(status="done", finished_at=store.iso(), progress=None)
            self.write()
        self.write(status="completed", finished_at=store.iso())


@pytest.mark.parametrize("ending, code", [
    ("completed", monitor.EXIT_OK), ("failed", monitor.EXIT_FAILED),
    ("halted_budget", monitor.EXIT_HALTED), ("interrupted", monitor.EXIT_INTERRUPTED),
])
def test_follow_watches_until_the_session_ends_and_exits_with_its_code(
        data_root: Path, ending: str, code: int) -> None:
    state = make_session(data_root, "queued", now=store.utc_now(), started_s=0)
    runner = FakeRunner(data_root, state, ending)
    out = io.StringIO()
    result: list[int] = []
    watcher = threading.Thread(target=lambda: result.append(monitor.run_monitor(
        data_root, state["id"], follow=True, out=out, env={}, interval=0.02)), daemon=True)
    watcher.start()
    # The runner starts once the monitor has drawn the queued session.
    deadline = time.monotonic() + 10
    while not out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.start()
    watcher.join(timeout=30)
    assert not watcher.is_alive(), "the monitor kept watching an ended session"
    assert result == [code]
    text = out.getvalue()
    assert ESC not in text
    frames = text.split("Badger Tape")[1:]
    assert len(frames) >= 4  # one plain frame per transition, not one per poll
    assert "music 2/3" in text  # it saw progress while the run was live
    assert mr.STATUS_TEXT[ending] in frames[-1].splitlines()[0]


def test_plain_watch_does_not_stop_when_the_session_ends(data_root: Path) -> None:
    state = make_session(data_root, "completed", finished_at=store.iso())
    result: list[int] = []
    watcher = threading.Thread(target=lambda: result.append(monitor.run_monitor(
        data_root, state["id"], out=io.StringIO(), env={}, interval=0.02)), daemon=True)
    watcher.start()
    watcher.join(timeout=0.5)
    assert watcher.is_alive() and result == []  # it stays on the final screen until Ctrl-C


def _start_monitor_process(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    code = ("import sys; from pathlib import Path; from runner.monitor import run_monitor; "
            f"sys.exit(run_monitor(Path({str(root)!r}), None, {', '.join(args)}))")
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=full_env, cwd=str(REPO))


@pytest.mark.parametrize("args, expected", [((), 0), (("follow=True",), 130)])
def test_ctrl_c_exits_0_from_the_plain_watch_and_130_from_follow(data_root: Path, args: tuple[str, ...],
                                                                  expected: int) -> None:
    make_session(data_root, "running", now=store.utc_now())
    proc = _start_monitor_process(data_root, *args)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the first frame is out: the watch loop is running
        assert "Badger Tape" in first
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == expected
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_sigterm_exits_143_without_a_traceback(data_root: Path) -> None:
    make_session(data_root, "running", now=store.utc_now())
    proc = _start_monitor_process(data_root, "follow=True")
    try:
        assert proc.stdout is not None and "Badger Tape" in proc.stdout.readline()
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == monitor.EXIT_SIGTERM
    assert "Traceback" not in err


def test_closed_output_pipe_exits_quietly_with_141(data_root: Path) -> None:
    state = make_session(data_root, "running", now=store.utc_now())
    proc = _start_monitor_process(data_root)
    try:
        assert proc.stdout is not None and "Badger Tape" in proc.stdout.readline()
        proc.stdout.close()  # the reader goes away, like `| head -1`
        state["steps"]["variation"]["status"] = "done"  # a change, so another frame is written
        store.write_state(data_root, state)
        assert proc.wait(timeout=10) == monitor.EXIT_SIGPIPE
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        proc.kill()
    assert "Traceback" not in err and "BrokenPipe" not in err


# ----------------------------------------------------------------------------- plain and NO_COLOR

def test_output_that_is_not_a_terminal_is_plain_text(data_root: Path) -> None:
    make_session(data_root, "halted_budget", cost={"spent_usd": 1.95})
    code, text = snapshot(data_root)
    assert code == 0 and ESC not in text and "98%" in text


def on_pty(**kw: Any) -> tuple[int, str]:
    """run_monitor writing to a real pseudo-terminal: its exit code and every byte it wrote."""
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO once the terminal side is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    with open(slave, "w", encoding="utf-8") as tty:
        assert tty.isatty()
        code = monitor.run_monitor(out=tty, **kw)
    reader.join(timeout=5)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def test_terminal_output_is_coloured(data_root: Path) -> None:
    make_session(data_root, "running", cost={"spent_usd": 1.5})
    code, text = on_pty(root=data_root, session_id=None, once=True, env={"TERM": "xterm"}, clock=lambda: NOW)
    assert code == 0
    assert f"\x1b[{mr.AMBER}m█" in text


@pytest.mark.parametrize("value", ["1", ""])
def test_no_color_snapshot_on_a_terminal_has_no_escape_sequences(data_root: Path, value: str) -> None:
    make_session(data_root, "running", cost={"spent_usd": 1.9})
    code, text = on_pty(root=data_root, session_id=None, once=True, env={"TERM": "xterm", "NO_COLOR": value},
                        clock=lambda: NOW)
    assert code == 0
    assert "Badger Tape" in text and "95%" in text
    assert ESC not in text


def test_no_color_live_view_moves_the_cursor_but_never_colours(data_root: Path) -> None:
    state = make_session(data_root, "running", now=store.utc_now())
    threading.Timer(0.3, lambda: store.write_state(data_root, {**state, "status": "completed",
                                                               "finished_at": store.iso()})).start()
    code, text = on_pty(root=data_root, session_id=state["id"], follow=True,
                        env={"TERM": "xterm", "NO_COLOR": "1"}, interval=0.02)
    assert code == 0
    assert "\x1b[?25l" in text and text.rstrip().endswith("\x1b[?25h")  # hidden while drawing, shown after
    assert not SGR.search(text)
    assert "completed" in text


def test_dumb_terminal_gets_plain_appended_frames(data_root: Path) -> None:
    make_session(data_root, "running", cost={"spent_usd": 1.5})
    code, text = on_pty(root=data_root, session_id=None, once=True, env={"TERM": "dumb"}, clock=lambda: NOW)
    assert code == 0 and "Badger Tape" in text and ESC not in text
