"""One summary row, one meaning: `list --json`, `show --json`, the studio's API and the terminal
monitor all show store.summarize's row for the same session, unreadable ones included."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_studio_support import get_json, make_app, make_session, write_state

from runner import cli, monitor, store
from runner import monitor_render as mr


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def sessions(root: Path) -> dict[str, str]:
    """One session of each kind, timed against the real clock (the CLI reads it)."""
    now = store.utc_now()
    ago = lambda s: now - dt.timedelta(seconds=s)  # noqa: E731
    made = {
        "completed": make_session(root, "20261121-010000-done", status="completed", title="Rainy Night Lofi",
                                  spent=0.5, upload="done", youtube={"id": "abcDEF12345"}, created=ago(7200)),
        "failed": make_session(root, "20261121-020000-broke", status="failed", spent=1.5, steps_done=3,
                               error="music: provider timed out", created=ago(6000)),
        "halted": make_session(root, "20261121-030000-halt", status="halted_budget", spent=1.9, steps_done=2,
                               created=ago(5000)),
        "running": make_session(root, "20261121-040000-live", status="running", steps_done=3, pid=os.getpid(),
                                heartbeat=now, created=ago(300)),
        "dead": make_session(root, "20261121-050000-dead", status="running", steps_done=2, pid=_dead_pid(),
                             heartbeat=ago(100), created=ago(400)),
        "review": make_session(root, "20261121-060000-review", status="awaiting_review", steps_done=6,
                               title="Review Me", created=ago(900)),
    }
    halted = made["halted"]
    halted["halt"] = {"message": "music track 3 would cross the $2.00 cap", "estimate_usd": 0.3}
    write_state(root, halted)
    unreadable = store.session_dir(root, "20261121-070000-bad")
    unreadable.mkdir()
    state = store.new_state("20261121-070000-bad", store.validate_params({"theme": "bad"}))
    state["steps"]["music"] = "done"  # type: ignore[typeddict-item]
    (unreadable / "state.json").write_text(json.dumps(state))
    ids = {k: v["id"] for k, v in made.items()}
    ids["unreadable"] = "20261121-070000-bad"
    return ids


def _cli(capsys: Any, *argv: str) -> Any:
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Equal in every summary field; a running session's clock moved on between the reads."""
    for key in store.SUMMARY_FIELDS:
        if key == "duration_s" and a["status"] in ("running", "queued"):
            assert a[key] == pytest.approx(b[key], abs=5), key
        else:
            assert a[key] == b[key], (a["id"], key)


def test_cli_list_show_and_the_studio_api_give_the_same_row(root: Path, sessions: dict[str, str],
                                                             capsys: Any) -> None:
    listed = {r["id"]: r for r in _cli(capsys, "list", "--json", "--root", str(root))}
    app = make_app(root, now=store.utc_now)
    api = {r["id"]: r for r in get_json(app, "/api/sessions")["items"]}
    assert set(listed) == set(api) == set(sessions.values())
    for sid in sessions.values():
        assert list(listed[sid]) == list(store.SUMMARY_FIELDS)
        _same(listed[sid], api[sid])
        _same(listed[sid], get_json(app, f"/api/sessions/{sid}")["row"])
        if listed[sid]["readable"]:
            _same(listed[sid], _cli(capsys, "show", sid, "--json", "--root", str(root))["summary"])
    # The kinds really differ: each status, the spend ratio and the reason come from the one row.
    assert {k: listed[v]["status"] for k, v in sessions.items()} == {
        "completed": "completed", "failed": "failed", "halted": "halted_budget", "running": "running",
        "dead": "interrupted", "review": "awaiting_review", "unreadable": "unreadable"}
    assert listed[sessions["halted"]]["spend_ratio"] == 0.95
    assert listed[sessions["halted"]]["error"] == "music track 3 would cross the $2.00 cap"
    assert listed[sessions["unreadable"]]["error"] == "steps.music is a string, not an object"


def test_the_monitor_shows_the_same_row(root: Path, sessions: dict[str, str], capsys: Any) -> None:
    now = store.utc_now()
    for kind, sid in sessions.items():
        row = store.session_summary(root, sid, now)
        out = io.StringIO()
        code = monitor.run_monitor(root, sid, once=True, out=out, env={}, interval=0.01, clock=lambda: now)
        text = out.getvalue()
        if not row["readable"]:
            assert code == monitor.EXIT_UNREADABLE
            assert f"is unreadable: {row['error']}" in capsys.readouterr().err
            continue
        assert code == 0, kind
        head = text.splitlines()
        assert mr.STATUS_TEXT[row["status"]] in head[0], kind
        label = "queued for" if row["status"] == "queued" else "elapsed"
        assert f"{label} {mr.duration(row['duration_s'])}" in head[1], kind
        assert row["theme"] in head[1]
        if row["title"]:
            assert f"title {row['title']}" in text
        cost = next(line for line in head if line.startswith("  cost"))
        assert f"${row['spent_usd']:.2f} of ${row['cap_usd']:.2f}  {row['spend_ratio'] * 100:.0f}%" in cost, kind
        if row["error"]:
            assert row["error"] in re.sub(r"\s+", " ", text), kind


def test_spend_levels_are_defined_once_and_served_to_the_page(root: Path) -> None:
    levels = get_json(make_app(root), "/api/config")["spend_levels"]
    assert levels == store.SPEND_LEVELS
    amber, red = levels["amber"], levels["red"]
    for ratio, level, colour in ((amber - 0.0001, "ok", mr.GREEN), (amber, "amber", mr.AMBER),
                                 (red - 0.0001, "amber", mr.AMBER), (red, "red", mr.RED)):
        assert store.spend_level(ratio) == level
        assert mr.cost_level(ratio * 2.0, 2.0)[1] == colour
