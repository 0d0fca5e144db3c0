"""The daily budget: today's spend across every session's ledger, checked and booked under one lock."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest

from runner import daily, store
from runner.daily import DailyBudget, DailyBudgetExceeded

UTC = dt.timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def at(hhmm: str, day: str = "2026-12-01") -> dt.datetime:
    """A Berlin wall-clock time as an aware datetime."""
    return dt.datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=BERLIN)


def ledger(root, sid: str, *rows: tuple[str, str, str, float]) -> None:
    """rows: (call id, phase, Berlin time, usd)."""
    folder = store.session_dir(root, sid)
    folder.mkdir(parents=True, exist_ok=True)
    for call_id, phase, when, usd in rows:
        day, hhmm = when.split(" ") if " " in when else ("2026-12-01", when)
        store.append_jsonl(folder / "ledger.jsonl", {"ts": store.iso(at(hhmm, day)), "call_id": call_id,
                                                     "phase": phase, "usd": usd, "label": call_id})


def test_today_counts_paid_in_flight_and_unconfirmed_calls_of_every_session_not_failed_ones(root):
    ledger(root, "20261201-070000-a", ("a1", "estimate", "08:00", 0.30), ("a1", "actual", "08:01", 0.25),
           ("a2", "estimate", "09:00", 0.10), ("a2", "failed", "09:00", 0.0))
    ledger(root, "20261201-080000-b", ("b1", "estimate", "10:00", 0.35),                      # in flight
           ("b2", "estimate", "10:05", 0.07), ("b2", "unconfirmed", "10:06", 0.07))           # possibly paid
    ledger(root, "20261130-080000-c", ("c1", "estimate", "2026-11-30 23:59", 1.00),           # yesterday
           ("c1", "actual", "2026-12-01 00:01", 1.00))
    start, end = daily.day_bounds(dt.date(2026, 12, 1), BERLIN)
    assert daily.committed_between(root, start, end) == pytest.approx(0.25 + 0.35 + 0.07)


def test_the_day_is_the_plans_day_even_across_the_end_of_daylight_saving(root):
    start, end = daily.day_bounds(dt.date(2026, 10, 25), BERLIN)
    assert (end - start) == dt.timedelta(hours=25)
    assert start.astimezone(UTC) == dt.datetime(2026, 10, 24, 22, 0, tzinfo=UTC)
    ledger(root, "20261024-220000-a", ("late", "estimate", "2026-10-25 23:30", 0.5),
           ("early", "estimate", "2026-10-25 00:10", 0.25), ("next", "estimate", "2026-10-26 00:10", 2.0))
    assert daily.committed_between(root, start, end) == pytest.approx(0.75)


def test_a_call_that_would_cross_the_daily_budget_is_refused_and_names_it(root):
    ledger(root, "20261201-070000-a", ("a1", "estimate", "08:00", 0.80), ("a1", "actual", "08:01", 0.80))
    clock = lambda: at("12:00")  # noqa: E731
    guard = DailyBudget(root, 1.00, "Europe/Berlin", clock)
    booked: list[str] = []
    guard.admit("cover art", "fal-ai/flux/dev", 0.15, lambda: booked.append("cover"))
    assert booked == ["cover"]
    with pytest.raises(DailyBudgetExceeded) as err:
        guard.admit("video loop", "kling", 0.35, lambda: booked.append("loop"))
    assert booked == ["cover"]
    halt = err.value.as_dict()
    assert halt["budget"] == "daily" and halt["daily_budget_usd"] == 1.0 and halt["day"] == "2026-12-01"
    assert "would cross the daily budget" in halt["message"] and "$1.00 daily budget" in halt["message"]
    assert "continues tomorrow" in str(err.value)
    # The next day starts from zero.
    DailyBudget(root, 1.00, "Europe/Berlin", lambda: at("00:05", "2026-12-02")).admit(
        "video loop", "kling", 0.35, lambda: booked.append("loop"))
    assert booked == ["cover", "loop"]


def test_runners_admitting_at_once_never_pass_the_daily_budget(root):
    sids = [f"20261201-0{n}0000-s" for n in range(6)]
    for sid in sids:
        store.session_dir(root, sid).mkdir(parents=True)
    clock = lambda: at("12:00")  # noqa: E731
    go = threading.Barrier(len(sids))
    refused: list[str] = []

    def runner(sid: str) -> None:
        guard = DailyBudget(root, 1.00, "Europe/Berlin", clock)
        go.wait()
        for n in range(3):
            try:
                guard.admit(f"{sid} {n}", "m", 0.10, lambda: ledger(root, sid, (f"{sid}{n}", "estimate", "12:00", 0.10)))
            except DailyBudgetExceeded:
                refused.append(sid)

    threads = [threading.Thread(target=runner, args=(sid,)) for sid in sids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    start, end = daily.day_bounds(dt.date(2026, 12, 1), BERLIN)
    assert daily.committed_between(root, start, end) == pytest.approx(1.00)
    assert len(refused) == 18 - 10


def test_only_series_sessions_have_a_daily_budget(root):
    assert DailyBudget.for_state(root, {"id": "x"}, lambda: at("12:00")) is None
    guard = DailyBudget.for_state(root, {"series": {"daily_budget_usd": 2, "zone": "Europe/Berlin"}},
                                  lambda: at("12:00"))
    assert guard is not None and guard.limit_usd == 2.0 and guard.zone_name == "Europe/Berlin"
