"""Where each entry of a series stands (store.entry_status), and the plan snapshots readers list."""

from __future__ import annotations

import datetime as dt
import os
import textwrap

import pytest
from helpers import params

from runner import plan as plans, series, sessions, store

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=UTC)


def _state(root, **changes):
    state = sessions.create(root, params(), clock=lambda: NOW - dt.timedelta(hours=1))
    for key, value in changes.items():
        state[key] = value
    return state


@pytest.mark.parametrize("changes, upload_out, expected", [
    ({"status": "running", "pid": os.getpid(), "heartbeat_at": store.iso(NOW)}, {}, "making"),
    ({"status": "interrupted"}, {}, "waiting"),
    ({"status": "halted_budget", "halt": {"budget": "daily", "message": "x"}}, {}, "waiting"),
    ({"status": "halted_budget", "halt": {"message": "cap"}}, {}, "failed"),
    ({"status": "failed", "error": "render: broke"}, {}, "failed"),
    ({"status": "completed"}, {}, "made"),
    ({"status": "awaiting_review"}, {}, "made"),
    ({"status": "completed", "youtube": {"id": "v1", "url": "u", "privacy": "private"}}, {}, "uploaded"),
    ({"status": "completed", "youtube": {"id": "v1", "url": "u", "privacy": "private"}},
     {"publish_at": "2026-12-01T17:00:00Z"}, "scheduled"),
    ({"status": "completed", "youtube": {"id": "v1", "url": "u", "privacy": "private"}},
     {"publish_at": "2026-12-01T11:00:00Z"}, "published"),
])
def test_an_entry_stands_where_its_latest_session_says(root, changes, upload_out, expected):
    state = _state(root, **changes)
    state["steps"]["upload"]["outputs"].update(upload_out)
    assert store.entry_status(state, NOW) == expected
    assert expected in store.ENTRY_STATUSES


def test_no_session_is_planned():
    assert store.entry_status(None, NOW) == "planned"


def test_plan_snapshots_are_listed_and_hostile_ones_skipped(root, tmp_path):
    (tmp_path / "series.toml").write_text(textwrap.dedent("""\
        [series]
        name = "Night Desk"
        zone = "Europe/Berlin"
        [[entry]]
        date = 2026-12-05
        theme = "rain"
        """))
    plan = plans.load(tmp_path / "series.toml")
    series.write_snapshot(root, plan, {}, NOW)
    (root / "series" / "evil").mkdir()
    os.symlink(root / "series" / "night-desk" / "plan.json", root / "series" / "evil" / "plan.json")
    (root / "series" / "bad").mkdir()
    (root / "series" / "bad" / "plan.json").write_text("{not json")
    (root / "series" / "wrong-id").mkdir()
    (root / "series" / "wrong-id" / "plan.json").write_text('{"id": "other", "entries": []}')
    [snap] = store.read_series_plans(root)
    assert snap["id"] == "night-desk" and snap["entries"][0]["publish_at"] == "2026-12-05T17:00:00Z"
    assert snap["entries"][0]["key"] == "2026-12-05-rain" and snap["zone"] == "Europe/Berlin"
