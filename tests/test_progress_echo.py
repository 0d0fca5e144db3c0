"""The CLI hears a long quiet step's progress, at most one line every few seconds (issue 10 item 7).

Mastering and encoding an hour's mix take minutes after the last track is logged; the journal
echoes the step's progress label when the step has said nothing at the terminal for
PROGRESS_ECHO_S, and never more often. The clock is the journal's own, passed in.
"""

from __future__ import annotations

import datetime as dt
import io

from helpers import params

from runner import journal, store

T0 = dt.datetime(2026, 11, 21, 3, 15, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def _journal(root, clock, echo):
    state = store.new_state("20261121-031500-rain", params(), T0)
    store.write_state(root, state, T0)
    return journal.Journal(root, state, clock=clock, echo=echo)


def test_a_quiet_step_echoes_its_progress_at_most_every_few_seconds(root):
    clock, out = Clock(), io.StringIO()
    j = _journal(root, clock, out)
    j.log("INFO", "started", "music")
    for pct in range(0, 101):  # mastering reports each percent; 100 reports over 50 s
        j.progress("music", percent=pct, label=f"mastering {pct}%")
        clock.tick(0.5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  [music] started"
    progress = [line for line in lines[1:]]
    assert progress[0] == "  [music] mastering 10%" and progress[-1] == "  [music] mastering 100%"
    assert len(progress) == 10  # 50 s, one line each 5 s
    assert all("[music] mastering" in line for line in progress)
    # Every progress still reached the timeline, echoed or not.
    assert sum(1 for e in store.read_events(root, j.id) if e["type"] == "progress") == 101


def test_a_step_that_just_spoke_is_not_echoed_again_and_steps_keep_their_own_pace(root):
    clock, out = Clock(), io.StringIO()
    j = _journal(root, clock, out)
    j.progress("render", percent=0, label="render 0%")           # never said anything: echoed
    clock.tick(3)
    j.log("INFO", "track 3/3 ready", "music")
    j.progress("music", percent=1, label="mastering 1%")          # music spoke 0 s ago: quiet
    j.progress("render", percent=40, label="render 40%")          # 3 s since render's line: quiet
    clock.tick(2)
    j.progress("render", percent=60, label="render 60%")          # 5 s: echoed
    assert out.getvalue().splitlines() == ["  [render] render 0%", "  [music] track 3/3 ready",
                                           "  [render] render 60%"]


def test_counts_are_not_echoed_their_step_logs_each_one(root):
    clock, out = Clock(), io.StringIO()
    j = _journal(root, clock, out)
    clock.tick(60)
    j.progress("music", done=3, total=10)
    assert out.getvalue() == ""


def test_without_a_terminal_nothing_is_echoed(root):
    clock = Clock()
    j = _journal(root, clock, None)
    j.progress("music", percent=50, label="mastering 50%")
    assert j.state["steps"]["music"]["progress"]["label"] == "mastering 50%"
