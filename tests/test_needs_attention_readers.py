"""A session stopped as needs_attention is shown for what it is by every reader: the CLI's
exit code, the monitor's status line and --follow exit code, the studio's row and detail."""

from __future__ import annotations

from runner import cli, monitor, store
from runner import monitor_render as mr
from test_studio_support import NOW, get_json, make_app, make_session

MESSAGE = ("track 2/4 (fal-ai/minimax-music/v2) was sent to fal at 03:15:04 UTC but its answer was never recorded, "
           "so it may have gone through: check your fal request history (https://fal.ai/dashboard/requests), then "
           "run `python -m runner resume 20261121-120000-rain --resend 3f2a9c1b7d4e` to send it again")
ATTENTION = {"message": MESSAGE, "calls": [{"id": "3f2a9c1b7d4e", "label": "track 2/4", "provider": "fal",
                                            "app": "fal-ai/minimax-music/v2", "step": "music", "request_id": None}]}
SID = "20261121-120000-rain"


def _session(root):
    state = make_session(root, SID, status="needs_attention", steps_done=3)
    state["attention"] = ATTENTION
    store.write_state(root, state, NOW)
    return state


def test_the_status_is_part_of_the_format_and_has_its_exit_codes():
    assert "needs_attention" in store.SESSION_STATUSES and "needs_attention" in store.FINAL_STATUSES
    assert cli.EXIT["needs_attention"] == 5 and monitor.FINAL_EXIT["needs_attention"] == 6


def test_the_monitor_says_what_to_check(root):
    state = _session(root)
    screen = "\n".join(mr.render_lines(state, NOW, width=200))
    assert "needs attention" in screen and "https://fal.ai/dashboard/requests" in screen
    assert "--resend 3f2a9c1b7d4e" in screen


def test_an_80_by_24_monitor_shows_what_to_check_and_the_command_to_run(root):
    # The message was cut after two lines at 80 columns, before what to check and the command.
    state = _session(root)
    logs = [store.format_log_line("INFO", SID, "music", f"line {i}", NOW) for i in range(30)]
    screen = mr.render_lines(state, NOW, log_lines=logs, width=80, height=24)
    text = " ".join(line.strip() for line in screen)
    assert "https://fal.ai/dashboard/requests" in text and "--resend 3f2a9c1b7d4e" in text
    assert len(screen) <= 24 and all(mr.text_width(line) <= 80 for line in screen)
    assert "line 29" in text  # the newest log line still shows


def test_the_studio_row_and_detail_carry_the_message(root):
    _session(root)
    app = make_app(root)
    [row] = get_json(app, "/api/sessions")["items"]
    assert row["status"] == "needs_attention" and row["error"].startswith("track 2/4 (fal-ai/minimax-music/v2)")
    detail = get_json(app, f"/api/sessions/{SID}")
    assert detail["attention"]["message"] == MESSAGE and detail["attention"]["calls"][0]["label"] == "track 2/4"
    assert detail["actions"]["resume"] is False  # a person checks first, then resumes from a shell
