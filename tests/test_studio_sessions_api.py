"""The read-only JSON API: sessions list, one session, KPIs, exports, config."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from runner import store
from studio.reader import ROW_FIELDS
from test_studio_support import (NOW, add_event, add_ledger, at, body_bytes, call, get_json, make_app,
                                 make_session, sid)


@pytest.fixture
def seeded(root: Path) -> Path:
    make_session(root, sid(1), status="completed", theme="rainy night", season="autumn", spent=0.5,
                 title="Rainy Night Lofi", upload="done", youtube={"id": "abcDEF12345", "url": "https://youtu.be/abcDEF12345"},
                 created=at(1))
    make_session(root, sid(2, "snow-cabin"), status="failed", theme="snow cabin", season="winter", spent=1.9,
                 steps_done=3, error="music: provider timed out", created=at(2))
    make_session(root, sid(3, "cherry-blossom"), status="halted_budget", theme="cherry blossom", season="spring",
                 spent=1.5, steps_done=2, created=at(3))
    make_session(root, sid(4, "beach"), status="completed", theme="beach sunset", season="summer", spent=0.0,
                 upload="failed", created=at(4), minutes=30)
    make_session(root, sid(5, "old-day", day=18), status="completed", theme="old day", season="autumn", spent=0.2,
                 created=at(-86400 * 3), upload="skipped")
    return root


def ids(page: dict) -> list[str]:
    return [r["id"] for r in page["items"]]


def test_sessions_list_is_newest_first_with_every_row_field(seeded):
    app = make_app(seeded)
    page = get_json(app, "/api/sessions")
    assert page["total"] == 5 and page["all_total"] == 5
    assert ids(page)[:4] == [sid(4, "beach"), sid(3, "cherry-blossom"), sid(2, "snow-cabin"), sid(1)]
    for row in page["items"]:
        assert list(row) == list(ROW_FIELDS)
    first = next(r for r in page["items"] if r["id"] == sid(1))
    assert first["thumbnail_url"] == f"/media/{sid(1)}/thumbnail.jpg"
    assert first["youtube_url"] == "https://youtu.be/abcDEF12345"
    assert first["tracks_rendered"] == 3 and first["has_final"] is True


def test_sessions_filter_by_status_season_text_and_date(seeded):
    app = make_app(seeded)
    assert ids(get_json(app, "/api/sessions?status=failed")) == [sid(2, "snow-cabin")]
    assert set(ids(get_json(app, "/api/sessions?status=failed,halted_budget"))) == {
        sid(2, "snow-cabin"), sid(3, "cherry-blossom")}
    assert set(ids(get_json(app, "/api/sessions?season=autumn"))) == {sid(1), sid(5, "old-day", day=18)}
    # Text matches theme and title, case-insensitively.
    assert ids(get_json(app, "/api/sessions?q=LOFI")) == [sid(1)]
    assert ids(get_json(app, "/api/sessions?q=cherry")) == [sid(3, "cherry-blossom")]
    # A date range of whole UTC days: "to" includes its day.
    day = NOW.strftime("%Y-%m-%d")
    assert sid(5, "old-day", day=18) not in ids(get_json(app, f"/api/sessions?from={day}"))
    assert ids(get_json(app, f"/api/sessions?to={(at(-86400 * 2)).strftime('%Y-%m-%d')}")) == [sid(5, "old-day", day=18)]
    assert get_json(app, f"/api/sessions?from={day}&to={day}")["total"] == 4


def test_sessions_sort_both_ways_with_missing_values_last(seeded):
    make_session(seeded, sid(6, "unread"), created=at(6))
    (store.session_dir(seeded, sid(6, "unread")) / "state.json").write_text("{not json")
    app = make_app(seeded)
    by_spend = ids(get_json(app, "/api/sessions?sort=-spent_usd"))
    assert by_spend[:2] == [sid(2, "snow-cabin"), sid(3, "cherry-blossom")]
    assert by_spend[-1] == sid(6, "unread")
    up = ids(get_json(app, "/api/sessions?sort=spent_usd"))
    assert up[0] == sid(4, "beach") and up[-1] == sid(6, "unread")
    assert ids(get_json(app, "/api/sessions?sort=created_at"))[0] == sid(5, "old-day", day=18)
    assert ids(get_json(app, "/api/sessions?sort=theme"))[0] == sid(4, "beach")


def test_sessions_paginate_with_offset_and_limit(seeded):
    app = make_app(seeded)
    p1 = get_json(app, "/api/sessions?limit=2")
    p2 = get_json(app, f"/api/sessions?limit=2&offset={p1['next_offset']}")
    p3 = get_json(app, f"/api/sessions?limit=2&offset={p2['next_offset']}")
    assert len(ids(p1) + ids(p2) + ids(p3)) == 5 and p3["next_offset"] is None
    assert len(set(ids(p1) + ids(p2) + ids(p3))) == 5


@pytest.mark.parametrize("query", ["status=exploded", "season=monsoon", "sort=password", "limit=0",
                                   "limit=abc", "offset=-1", "from=yesterday"])
def test_bad_list_parameters_answer_400_with_a_reason(seeded, query):
    resp = call(make_app(seeded), "GET", f"/api/sessions?{query}")
    assert resp.status == 400
    assert resp.json()["error"]


def test_an_unreadable_session_is_listed_as_unreadable_and_the_rest_still_work(root):
    make_session(root, sid(1), created=at(1))
    for n, content in ((2, "{\"id\": \"x\", \"stat"), (3, ""), (4, "[1, 2]")):
        folder = store.session_dir(root, sid(n, "broken"))
        folder.mkdir(parents=True)
        (folder / "state.json").write_text(content)
    store.session_dir(root, sid(5, "empty")).mkdir(parents=True)   # no state.json at all
    app = make_app(root)
    page = get_json(app, "/api/sessions")
    rows = {r["id"]: r for r in page["items"]}
    assert rows[sid(1)]["status"] == "completed"
    for n, slug in ((2, "broken"), (3, "broken"), (4, "broken"), (5, "empty")):
        row = rows[sid(n, slug)]
        assert row["status"] == "unreadable" and row["readable"] is False
        assert row["created_at"].startswith("2026-11-21T")
    assert get_json(app, "/api/sessions?status=unreadable")["total"] == 4
    assert get_json(app, "/api/kpis")["unreadable"] == 4
    detail = get_json(app, f"/api/sessions/{sid(2, 'broken')}")
    assert detail["status"] == "unreadable" and detail["readable"] is False
    assert call(app, "GET", "/api/sessions.csv").status == 200


def test_a_running_session_whose_runner_died_shows_as_interrupted(root):
    make_session(root, sid(1), status="running", steps_done=3, pid=999_999_999, heartbeat=NOW)
    row = get_json(make_app(root), "/api/sessions")["items"][0]
    assert row["status"] == "interrupted"


def test_a_live_running_session_shows_running_with_its_step_and_progress(root):
    import os
    make_session(root, sid(1), status="running", steps_done=3, pid=os.getpid(), heartbeat=NOW)
    row = get_json(make_app(root), "/api/sessions")["items"][0]
    assert row["status"] == "running" and row["current_step"] == "music" and row["progress_percent"] == 25.0


def test_the_list_notices_new_and_changed_sessions(root):
    app = make_app(root)
    assert get_json(app, "/api/sessions")["total"] == 0
    state = make_session(root, sid(1), status="failed", steps_done=2)
    assert get_json(app, "/api/sessions")["items"][0]["status"] == "failed"
    state["status"] = "completed"
    state["cost"]["spent_usd"] = 0.25
    store.atomic_write_json(store.session_dir(root, sid(1)) / "state.json", state)
    row = get_json(app, "/api/sessions")["items"][0]
    assert row["status"] == "completed" and row["spent_usd"] == 0.25


def test_session_detail_has_steps_timeline_spend_tracks_media_and_ledger(seeded):
    s = sid(1)
    add_event(seeded, s, 1, "session_started", "started")
    add_event(seeded, s, 2, "progress", "music 1/3", step="music", done=1, total=3)
    add_event(seeded, s, 3, "step_done", "music done", step="music", seconds=12.5)
    add_ledger(seeded, s, "c1", 0.075, phase="estimate")
    add_ledger(seeded, s, "c1", 0.075, phase="actual")
    folder = store.session_dir(seeded, s)
    (folder / "artwork.png").write_bytes(b"\x89PNG fake")
    (folder / "metadata.json").write_text(json.dumps({"title": "Rainy Night Lofi", "description": "0:00 one",
                                                      "tags": ["lofi", "rain"]}))
    store.atomic_write_json(folder / "state.json", {
        **store.read_state(seeded, s),
        "steps": {**store.read_state(seeded, s)["steps"],
                  "metadata": {**store.new_step(), "status": "done", "outputs": {"metadata": "metadata.json"}}}})
    d = get_json(make_app(seeded), f"/api/sessions/{s}")
    assert [st["name"] for st in d["steps"]] == list(store.STEPS)
    assert d["steps"][0]["duration_s"] == 10.0
    assert [e["seq"] for e in d["timeline"]] == [1, 3]       # progress ticks left out by default
    assert d["timeline_total"] == 3
    assert d["spend"] == {"cap_usd": 2.0, "spent_usd": 0.5, "ratio": 0.25, "level": "ok",
                          "by_asset": {"image": 0.5, "video": 0.0, "music": 0.0, "ambience": 0.0}}
    assert d["tracks"][0] == {"index": 1, "title": "track 1", "seconds": 60.0, "provider": "local",
                              "model": "procedural", "bpm": 80, "key": "D minor", "file": "tracks/01.wav",
                              "url": f"/media/{s}/tracks/01.wav"}
    assert d["media"]["artwork"] == {"path": "artwork.png", "url": f"/media/{s}/artwork.png", "exists": True}
    assert d["media"]["final"]["exists"] is False
    assert d["calls"] == [{"call_id": "c1", "provider": "fal", "model": "fal-ai/flux/dev", "asset": "image",
                           "step": "artwork", "label": "cover art", "cache_key": "3f2a9b3f2a9b3f2a9b3f2a9b3f2a9b3f",
                           "estimate_usd": 0.075, "actual_usd": 0.075,
                           "estimated_at": store.iso(NOW), "paid_at": store.iso(NOW)}]
    assert d["ledger_total_usd"] == 0.075 and len(d["ledger"]) == 2
    assert d["metadata"] == {"title": "Rainy Night Lofi", "description": "0:00 one", "tags": ["lofi", "rain"]}
    assert d["youtube"] == {"id": "abcDEF12345", "url": "https://youtu.be/abcDEF12345", "privacy": None,
                            "privacy_note": None}
    assert d["actions"] == {"approve": False, "resume": False}
    with_progress = get_json(make_app(seeded), f"/api/sessions/{s}?progress=1")
    assert [e["seq"] for e in with_progress["timeline"]] == [1, 2, 3]


def test_spend_levels_turn_amber_at_70_and_red_at_90_percent(root):
    for n, spent in ((1, 1.39), (2, 1.4), (3, 1.8)):
        make_session(root, sid(n), spent=spent, cap=2.0)
    app = make_app(root)
    assert [get_json(app, f"/api/sessions/{sid(n)}")["spend"]["level"] for n in (1, 2, 3)] == ["ok", "amber", "red"]


def test_detail_offers_the_actions_the_status_allows(root):
    make_session(root, sid(1), status="awaiting_review", steps_done=6)
    make_session(root, sid(2), status="halted_budget", steps_done=2)
    app = make_app(root)
    assert get_json(app, f"/api/sessions/{sid(1)}")["actions"] == {"approve": True, "resume": False}
    assert get_json(app, f"/api/sessions/{sid(2)}")["actions"] == {"approve": False, "resume": True}


def test_a_javascript_youtube_link_never_reaches_the_page(root):
    make_session(root, sid(1), youtube={"id": "x", "url": "javascript:alert(1)"})
    app = make_app(root)
    assert get_json(app, "/api/sessions")["items"][0]["youtube_url"] is None
    assert get_json(app, f"/api/sessions/{sid(1)}")["youtube"]["url"] is None


def test_unknown_session_is_404_and_a_malformed_id_matches_no_route(root):
    app = make_app(root)
    assert call(app, "GET", f"/api/sessions/{sid(9)}").status == 404
    assert call(app, "GET", "/api/sessions/..%2f..%2fetc").status == 404


def test_session_events_page_by_seq_and_type(root):
    make_session(root, sid(1))
    for i in range(1, 6):
        add_event(root, sid(1), i, "progress" if i % 2 else "step_done", f"e{i}")
    app = make_app(root)
    page = get_json(app, f"/api/sessions/{sid(1)}/events?after=1&limit=2")
    assert [e["seq"] for e in page["events"]] == [2, 3] and page["next_after"] == 3 and page["has_more"]
    assert [e["seq"] for e in get_json(app, f"/api/sessions/{sid(1)}/events?type=step_done")["events"]] == [2, 4]
    assert call(app, "GET", f"/api/sessions/{sid(9)}/events").status == 404


def test_session_ledger_route_pairs_estimates_with_actuals(root):
    make_session(root, sid(1))
    add_ledger(root, sid(1), "a", 0.1, phase="estimate")
    add_ledger(root, sid(1), "b", 0.2, phase="estimate")
    add_ledger(root, sid(1), "a", 0.09, phase="actual")
    body = get_json(make_app(root), f"/api/sessions/{sid(1)}/ledger")
    assert [(c["call_id"], c["estimate_usd"], c["actual_usd"]) for c in body["calls"]] == [
        ("a", 0.1, 0.09), ("b", 0.2, None)]


def test_kpis_count_rates_spend_seasons_series_and_step_medians(seeded):
    k = get_json(make_app(seeded), "/api/kpis")
    assert k["sessions"] == 5 and k["completed"] == 3 and k["failed"] == 1
    assert k["by_status"]["halted_budget"] == 1
    assert k["upload"] == {"attempted": 2, "succeeded": 1, "failed": 1, "skipped": 1, "rate": 0.5}
    assert k["spend"]["total_usd"] == pytest.approx(4.1)
    assert k["spend"]["average_usd"] == pytest.approx(0.82)
    assert k["seasons"] == {"spring": 1, "summer": 1, "autumn": 2, "winter": 1}
    assert [p["id"] for p in k["series"]][-1] == sid(4, "beach")      # oldest first, newest last
    assert k["series"][0]["id"] == sid(5, "old-day", day=18)
    assert k["step_median_s"]["variation"] == 10.0 and k["step_median_s"]["upload"] == 70.0
    assert k["tracks_rendered"] == 9
    assert len(get_json(make_app(seeded), "/api/kpis?series=2")["series"]) == 2


def test_csv_export_is_exactly_the_filtered_view_with_a_filename(seeded):
    app = make_app(seeded)
    resp = call(app, "GET", "/api/sessions.csv?season=autumn&sort=spent_usd")
    assert resp.status == 200
    assert resp.header("Content-Type").startswith("text/csv")
    assert resp.header("Content-Disposition") == 'attachment; filename="badger-sessions-20261121-120000.csv"'
    rows = list(csv.DictReader(io.StringIO(body_bytes(resp).decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [sid(5, "old-day", day=18), sid(1)]
    assert list(rows[0]) == list(ROW_FIELDS)
    # Exports are not cut into pages, whatever limit the table uses.
    assert len(list(csv.DictReader(io.StringIO(body_bytes(call(app, "GET", "/api/sessions.csv?limit=1")).decode("utf-8-sig"))))) == 5


def test_json_export_is_exactly_the_filtered_view_with_a_filename(seeded):
    app = make_app(seeded)
    resp = call(app, "GET", "/api/sessions.json?status=completed&q=beach")
    assert resp.header("Content-Disposition") == 'attachment; filename="badger-sessions-20261121-120000.json"'
    body = resp.json()
    assert body["total"] == 1 and [r["id"] for r in body["items"]] == [sid(4, "beach")]
    assert body["filters"]["status"] == ["completed"] and body["filters"]["q"] == "beach"
    listed = get_json(app, "/api/sessions?status=completed&q=beach&limit=10000")
    assert listed["items"] == body["items"]


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(root):
    for n, theme in enumerate(["=HYPERLINK(\"http://x\")", "+1+cmd", "-2+3", "@SUM(A1)", "\tTab", "plain"], 1):
        make_session(root, sid(n, f"t{n}"), theme=theme.replace("\t", "x") if n == 5 else theme,
                     created=at(n), title="\ttabbed" if n == 5 else None, spent=-0.5 if n == 6 else 0.0)
    body = body_bytes(call(make_app(root), "GET", "/api/sessions.csv?sort=created_at")).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["theme"] for r in rows] == ["'=HYPERLINK(\"http://x\")", "'+1+cmd", "'-2+3", "'@SUM(A1)", "xTab", "plain"]
    assert rows[4]["title"] == "'\ttabbed"
    assert rows[5]["spent_usd"] == "-0.5"        # a plain negative number stays a number


def test_csv_neutraliser_leaves_plain_numbers_alone():
    from studio.csvexport import neutralise
    assert [neutralise(v) for v in ("-1.5", "+3", "-1e5", "-", "-1-1", "=1", "\r1", 7, -2.5, None, True)] == [
        "-1.5", "+3", "-1e5", "'-", "'-1-1", "'=1", "'\r1", "7", "-2.5", "", "true"]


def test_config_gives_the_token_choices_and_limits(root):
    c = get_json(make_app(root), "/api/config")
    assert c["token"] == "t0ken-for-tests" and c["token_header"] == "X-Studio-Token"
    assert c["choices"]["season"] == list(store.SEASONS) and c["defaults"] == store.DEFAULTS
    assert c["steps"] == list(store.STEPS) and "unreadable" in c["statuses"]
    assert c["spend_levels"] == {"amber": 0.7, "red": 0.9}


def test_health_answers(root):
    assert get_json(make_app(root), "/api/health")["ok"] is True


def test_rows_agree_with_the_format_modules_own_summary(root):
    make_session(root, sid(1), status="failed", steps_done=3, spent=0.3, title="T")
    row = get_json(make_app(root), "/api/sessions")["items"][0]
    summary = store.session_summary(root, sid(1), NOW)
    for key, value in summary.items():
        assert row[key] == value, key


def test_api_answers_are_never_cached(root):
    assert call(make_app(root), "GET", "/api/sessions").header("Cache-Control") == "no-store"


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"id": 1}', b'{"id": "x", "status": "odd", "steps": {}, '
                                     b'"params": {}, "cost": {}}', b'{"id": "x", "status": "running", "steps": [], '
                                     b'"params": {}, "cost": {}}', b"\xff\xfe", b"null"])
def test_the_index_reads_a_state_exactly_when_the_format_module_does(root, content):
    make_session(root, sid(1))
    path = store.session_dir(root, sid(1)) / "state.json"
    app = make_app(root)
    row = get_json(app, "/api/sessions")["items"][0]
    assert (row["status"] == "unreadable") == (store.read_state(root, sid(1)) is None)
    path.write_bytes(content)
    row = get_json(make_app(root), "/api/sessions")["items"][0]
    assert (row["status"] == "unreadable") == (store.read_state(root, sid(1)) is None)


def test_zero_means_zero_for_timeline_limit_and_series(root):
    make_session(root, sid(1))
    add_event(root, sid(1), 1, "step_done", "x")
    app = make_app(root)
    d = get_json(app, f"/api/sessions/{sid(1)}?timeline_limit=0")
    assert d["timeline"] == [] and d["timeline_total"] == 1
    assert get_json(app, "/api/kpis?series=0")["series"] == []
    for bad in ("timeline_limit=-1", "timeline_limit=x", "timeline_limit=99999"):
        assert call(app, "GET", f"/api/sessions/{sid(1)}?{bad}").status == 400
    assert call(app, "GET", "/api/kpis?series=abc").status == 400
    assert call(app, "GET", f"/api/sessions/{sid(1)}/events?after=-1").status == 400
