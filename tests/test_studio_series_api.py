"""GET /api/series: each series' calendar with where every entry stands, today's spend against
its daily budget, today's YouTube quota and the disk; /api/sessions?series= filters by series."""

from __future__ import annotations

import os

import pytest
from series_helpers import NOW, seed_series
from test_studio_support import get_json, make_app

from runner import store


@pytest.fixture
def channel(root, tmp_path):
    seed_series(root, tmp_path)
    return root


def test_the_calendar_says_where_every_entry_stands(channel):
    body = get_json(make_app(channel, now=lambda: NOW), "/api/series")
    [s] = body["series"]
    assert (s["id"], s["name"], s["zone"], s["playlist"]) == ("night-desk", "Night Desk", "Europe/Berlin", "night desk")
    got = [(e["date"], e["status"]) for e in s["entries"]]
    assert got == [("2026-12-01", "published"), ("2026-12-02", "published"), ("2026-12-03", "scheduled"),
                   ("2026-12-04", "failed"), ("2026-12-05", "making"), ("2026-12-06", "planned"),
                   ("2026-12-07", "planned")]
    scheduled = s["entries"][2]
    assert scheduled["publish_at"] == "2026-12-03T17:00:00Z" and scheduled["publish_local"].startswith("2026-12-03T18:00")
    assert scheduled["youtube_url"] == "https://www.youtube.com/watch?v=vid00000003"
    assert s["entries"][3]["error"] == "render: ffmpeg failed (exit 1)"
    assert s["entries"][5]["session_id"] is None and s["entries"][5]["estimate_usd"] > 0
    assert s["counts"] == {"published": 2, "scheduled": 1, "failed": 1, "making": 1, "planned": 2}


def test_today_spend_is_every_session_of_the_plans_day_against_the_daily_budget(channel):
    [s] = get_json(make_app(channel, now=lambda: NOW), "/api/series")["series"]
    assert s["today"] == {"date": "2026-12-03", "spent_usd": pytest.approx(0.85), "daily_budget_usd": 1.5}


def test_quota_and_disk_are_shown(channel):
    body = get_json(make_app(channel, now=lambda: NOW), "/api/series")
    q = body["quota"]
    assert q["day"] == "2026-12-03" and q["used"] == {"videos.insert": 1, "shared": 151}
    assert q["limits"] == {"videos.insert": 100, "search.list": 100, "shared": 10000}
    assert q["resets_at"] == "2026-12-04T08:00:00.000Z"
    total = sum(store.read_state(channel, sid)["disk_bytes"] for sid in store.list_session_ids(channel))
    assert body["disk"] == {"total_bytes": total, "sessions": 5, "measured": 5}


def test_sessions_filter_by_series(channel, tmp_path):
    from helpers import params
    from runner import sessions

    other = sessions.create(channel, params(theme="not in a series"))
    app = make_app(channel, now=lambda: NOW)
    page = get_json(app, "/api/sessions?series=night-desk")
    assert page["total"] == 5 and other["id"] not in [r["id"] for r in page["items"]]
    assert {r["series"] for r in page["items"]} == {"night-desk"} and page["filters"]["series"] == ["night-desk"]
    assert all(r["entry"].startswith("2026-12-0") for r in page["items"])
    assert get_json(app, "/api/sessions?series=nope")["total"] == 0
    bad = get_json(app, "/api/sessions?series=../etc", status=400)
    assert "series must be a series id" in bad["error"]


def test_a_hostile_plan_file_is_skipped_not_served(channel, tmp_path):
    (channel / "series" / "evil").mkdir()
    secret = tmp_path / "secret.json"
    secret.write_text('{"id": "evil", "entries": [{"key": "leak"}]}')
    os.symlink(secret, channel / "series" / "evil" / "plan.json")
    (channel / "series" / "deep").mkdir()
    (channel / "series" / "deep" / "plan.json").write_text("[" * 5000)
    body = get_json(make_app(channel, now=lambda: NOW), "/api/series")
    assert [s["id"] for s in body["series"]] == ["night-desk"]


def test_no_series_is_an_empty_list(root):
    body = get_json(make_app(root, now=lambda: NOW), "/api/series")
    assert body["series"] == [] and body["quota"]["used"] == {} and body["disk"]["total_bytes"] == 0
