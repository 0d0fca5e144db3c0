"""The YouTube Data API quota, counted per Pacific day, so uploads stop before a known limit.

Google counts quota per API project per day and resets it at midnight Pacific time
(developers.google.com/youtube/v3/determine_quota_cost, checked 2026-11): `videos.insert`
and `search.list` each have their own bucket of 100 calls a day; every other method draws
on a shared 10,000 units a day (thumbnails.set 50, playlistItems.insert 50, playlists.insert
50, playlists.list 1). A call counts when it is sent, whether or not it succeeds.

The ledger is one append-only file per Pacific day under the data root,
`quota/youtube-YYYY-MM-DD.jsonl`, one JSON object a line:

    {"ts": "...Z", "method": "videos.insert", "units": 1, "session": "<id>"}
    {"ts": "...Z", "exhausted": "shared", "session": "<id>"}   # YouTube said quotaExceeded

`take()` checks and records one call under a lock, so several runners of one data root
share the count. One data root per API project: two channels on one Google Cloud project
must share a data root (or a project each), or their counts will not add up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from . import store

PACIFIC = ZoneInfo(store.QUOTA_ZONE)
SOURCE = "developers.google.com/youtube/v3/determine_quota_cost, checked 2026-11"
# The costs, buckets and limits are store's (the studio shows the same figures).
COSTS = store.QUOTA_COSTS
OWN_BUCKETS = store.QUOTA_OWN_BUCKETS
SHARED = store.QUOTA_SHARED
SHARED_UNITS = store.QUOTA_SHARED_UNITS
UPLOAD_NAMES = {"videos.insert": "video uploads", "search.list": "searches", SHARED: "units"}

bucket_of = store.quota_bucket
limits_default = store.quota_limits
pacific_day = store.quota_day
resets_at = store.quota_resets_at
ledger_path = store.quota_path


def _cost(method: str) -> int:
    if method not in COSTS:
        raise KeyError(f"no quota cost for {method!r}; add it to runner/store.py QUOTA_COSTS ({SOURCE})")
    return COSTS[method]


@dataclass(frozen=True)
class Usage:
    """One Pacific day's quota: calls or units used per bucket, and buckets YouTube said are spent."""

    day: dt.date
    used: dict[str, int]
    exhausted: frozenset[str]
    limits: dict[str, int]

    def left(self, bucket: str) -> int:
        if bucket in self.exhausted:
            return 0
        return max(0, self.limits[bucket] - self.used.get(bucket, 0))

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "timezone": "America/Los_Angeles",
                "buckets": {b: {"used": self.used.get(b, 0), "limit": lim, "exhausted": b in self.exhausted}
                            for b, lim in self.limits.items()}}


class QuotaExhausted(Exception):
    """Calls would pass a known quota limit; nothing was sent. The message says when it resets."""

    def __init__(self, methods: list[str], usage: Usage, now: dt.datetime, zone: ZoneInfo | None = None):
        self.methods, self.usage = methods, usage
        self.bucket = b = bucket_of(methods[0])
        self.resets_at = resets_at(now)
        used, limit = usage.used.get(b, 0), usage.limits[b]
        if b in usage.exhausted:
            what = f"YouTube said the {'shared units are' if b == SHARED else b + ' bucket is'} used up"
        elif b == SHARED:
            need = sum(_cost(m) for m in methods)
            what = f"{used} of {limit} units used, {need} more needed ({', '.join(methods)})"
        else:
            what = f"{used} of {limit} {UPLOAD_NAMES.get(b, b)} used ({b} has its own bucket)"
        local = self.resets_at.astimezone(zone or dt.timezone.utc)
        hours, rest = divmod(max(0, int((self.resets_at - now).total_seconds())), 3600)
        super().__init__(
            f"YouTube quota for {usage.day} (Pacific) would run out: {what}; {', '.join(methods)} not sent. "
            f"It resets at midnight Pacific time, {local:%Y-%m-%d %H:%M %Z} (in {hours} h {rest // 60:02d} min)")


class QuotaLedger:
    def __init__(self, root: Path, limits: Mapping[str, int] | None = None):
        self.root = root
        self.limits = {**limits_default(), **(limits or {})}

    def usage(self, now: dt.datetime) -> Usage:
        today = store.quota_usage(self.root, now)
        return Usage(dt.date.fromisoformat(today["day"]), dict(today["used"]),
                     frozenset(today["exhausted"]) & frozenset(self.limits), dict(self.limits))

    def room_for(self, methods: list[str], now: dt.datetime, zone: ZoneInfo | None = None) -> None:
        """Raise QuotaExhausted unless every call in `methods` fits in today's quota; records nothing.

        An upload asks first for all its calls (insert, thumbnail, playlist), so a video is
        never sent when its thumbnail or playlist entry could not follow today.
        """
        usage = self.usage(now)
        by_bucket: dict[str, list[str]] = {}
        for m in methods:
            by_bucket.setdefault(bucket_of(m), []).append(m)
        for b, ms in by_bucket.items():
            need = len(ms) if b != SHARED else sum(_cost(m) for m in ms)
            if need > usage.left(b):
                raise QuotaExhausted(ms, usage, now, zone)

    def take(self, method: str, now: dt.datetime, session: str | None = None,
             zone: ZoneInfo | None = None) -> None:
        """Record one call about to be sent, or raise QuotaExhausted (and record nothing)."""
        with self._lock():
            self.room_for([method], now, zone)
            self._append({"ts": store.iso(now), "method": method, "units": _cost(method), "session": session}, now)

    def mark_exhausted(self, method: str, now: dt.datetime, session: str | None = None) -> None:
        """YouTube answered quotaExceeded: that bucket is spent until the reset, whatever we counted."""
        with self._lock():
            self._append({"ts": store.iso(now), "exhausted": bucket_of(method), "session": session}, now)

    def _append(self, row: dict[str, Any], now: dt.datetime) -> None:
        path = ledger_path(self.root, pacific_day(now))
        path.parent.mkdir(parents=True, exist_ok=True)
        store.append_jsonl(path, row)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        folder = self.root / "quota"
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
