"""The YouTube quota ledger: per Pacific day, videos.insert in its own bucket, stops before the limit."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest

from runner import quota
from runner.quota import QuotaExhausted, QuotaLedger

PT = ZoneInfo("America/Los_Angeles")
# 10:00 Pacific (18:00 UTC) on a winter day: PST, UTC-8.
NOON_ISH = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.timezone.utc)


def test_the_hundred_and_first_upload_of_a_pacific_day_is_refused_and_says_when_it_resets(root):
    ledger = QuotaLedger(root)
    for _ in range(100):
        ledger.take("videos.insert", NOON_ISH, session="s")
    with pytest.raises(QuotaExhausted) as err:
        ledger.take("videos.insert", NOON_ISH, session="s", zone=ZoneInfo("Europe/Berlin"))
    msg = str(err.value)
    assert "100 of 100 video uploads used" in msg and "own bucket" in msg and "videos.insert not sent" in msg
    # Midnight Pacific on 2 December is 08:00 UTC, 09:00 in Berlin; 14 hours after 10:00 PST.
    assert "resets at midnight Pacific time, 2026-12-02 09:00 CET (in 14 h 00 min)" in msg
    assert err.value.resets_at == dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.timezone.utc)
    assert ledger.usage(NOON_ISH).used == {"videos.insert": 100}  # the refused call is not counted
    # The uploads bucket is its own: the shared units are untouched and still usable.
    ledger.take("thumbnails.set", NOON_ISH)
    # The next Pacific day starts from zero.
    assert ledger.usage(err.value.resets_at).used == {}
    ledger.take("videos.insert", err.value.resets_at)


def test_other_calls_share_ten_thousand_units(root):
    ledger = QuotaLedger(root)
    for _ in range(199):
        ledger.take("playlistItems.insert", NOON_ISH)          # 9,950 units
    ledger.room_for(["thumbnails.set"], NOON_ISH)              # 50 more fit exactly
    with pytest.raises(QuotaExhausted, match=r"9950 of 10000 units used, 100 more needed \(thumbnails.set, playlistItems.insert\)"):
        ledger.room_for(["videos.insert", "thumbnails.set", "playlistItems.insert"], NOON_ISH)
    assert ledger.usage(NOON_ISH).left(quota.SHARED) == 50


def test_a_day_counts_from_midnight_pacific_not_utc(root):
    ledger = QuotaLedger(root, limits={"videos.insert": 1})
    late = dt.datetime(2026, 12, 2, 7, 59, tzinfo=dt.timezone.utc)    # 23:59 PST on 1 December
    ledger.take("videos.insert", late)
    with pytest.raises(QuotaExhausted):
        ledger.take("videos.insert", late + dt.timedelta(seconds=30))
    ledger.take("videos.insert", late + dt.timedelta(minutes=1))   # 00:00 PST on 2 December
    assert quota.pacific_day(late) == dt.date(2026, 12, 1)
    # In summer Pacific time is UTC-7: the reset is at 07:00 UTC.
    assert quota.resets_at(dt.datetime(2026, 7, 1, 12, tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc) \
        == dt.datetime(2026, 7, 2, 7, 0, tzinfo=dt.timezone.utc)


def test_when_youtube_says_the_quota_is_spent_the_ledger_believes_it_until_the_reset(root):
    ledger = QuotaLedger(root)
    ledger.mark_exhausted("thumbnails.set", NOON_ISH)
    with pytest.raises(QuotaExhausted, match="YouTube said the shared units are used up"):
        ledger.take("playlistItems.insert", NOON_ISH)
    ledger.take("videos.insert", NOON_ISH)  # another bucket
    assert ledger.usage(quota.resets_at(NOON_ISH)).exhausted == frozenset()


def test_runners_taking_at_once_never_pass_the_limit(root):
    ledger_limit = 25
    start = threading.Barrier(8)
    refused: list[int] = []

    def worker() -> None:
        own = QuotaLedger(root, limits={"videos.insert": ledger_limit})  # each its own file descriptor
        start.wait()
        for _ in range(10):
            try:
                own.take("videos.insert", NOON_ISH)
            except QuotaExhausted:
                refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert QuotaLedger(root).usage(NOON_ISH).used == {"videos.insert": ledger_limit}
    assert len(refused) == 80 - ledger_limit


def test_an_unknown_method_has_no_price_and_says_where_to_add_it(root):
    with pytest.raises(KeyError, match="runner/store.py QUOTA_COSTS"):
        QuotaLedger(root).take("captions.insert", NOON_ISH)
