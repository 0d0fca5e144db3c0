"""The Series view's data: each series' calendar (every entry and where it stands), today's
spend against its daily budget, today's YouTube quota, and the disk the sessions hold.

Read from the channel files a `series run` leaves in the data root (docs/format.md, "Channel
files"): series/<id>/plan.json, quota/youtube-<day>.jsonl, and the sessions' own ledgers and
states. Every file is opened through disk.py (no links, checked, capped) and parsed by
jsonsafe; every figure is computed by the store function the runner uses (entry_status,
ledger_spend_between, quota_usage_of), so the page and `series run` never disagree.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import zoneinfo
from collections import defaultdict
from pathlib import Path
from typing import Any

from runner import store

from . import disk, jsonsafe, sessionfiles
from .reader import Entry, youtube_url

MAX_SERIES = 50                        # plans shown; a data root is meant to hold one channel
MAX_ENTRIES = 1000                     # a plan holds at most this many (runner/plan.py)
_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,60}")


def overview(root: Path, entries: list[Entry], now: _dt.datetime) -> dict[str, Any]:
    """{"series": [...], "quota": ..., "disk": ...}; entries are the index's, newest first."""
    by_entry: dict[tuple[str, str], list[Entry]] = defaultdict(list)
    for e in entries:
        if e.row.get("series") and e.row.get("entry"):
            by_entry[(e.row["series"], e.row["entry"])].append(e)
    return {
        "generated_at": store.iso(now),
        "series": [_one(root, plan, by_entry, entries, now) for plan in read_plans(root)[:MAX_SERIES]],
        "quota": _quota(root, now),
        "disk": _disk(entries),
    }


def read_plans(root: Path) -> list[dict[str, Any]]:
    """The plan.json snapshots under root/series, by id; anything unreadable or misshapen skipped."""
    try:
        root_fd = disk.open_dir(root)
    except disk.Refused:
        return []
    try:
        try:
            series_fd = disk.open_subdir(root_fd, "series")
        except disk.Refused:
            return []
        try:
            names = sorted(n for n in os.listdir(series_fd) if _ID.fullmatch(n))
            out = []
            for name in names:
                try:
                    plan = jsonsafe.loads(disk.read_at(series_fd, [name, "plan.json"], store.MAX_CHANNEL_FILE_BYTES),
                                          max_depth=8)
                except (disk.Refused, jsonsafe.BadJSON):
                    continue
                if _plan_ok(plan, name):
                    out.append(plan)
            return out
        finally:
            os.close(series_fd)
    finally:
        os.close(root_fd)


def _plan_ok(plan: Any, name: str) -> bool:
    return (type(plan) is dict and plan.get("id") == name and type(plan.get("entries")) is list
            and len(plan["entries"]) <= MAX_ENTRIES and all(type(e) is dict and type(e.get("key")) is str
                                                           for e in plan["entries"]))


def _zone(name: Any) -> _dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (KeyError, ValueError, OSError):
        return _dt.timezone.utc


def _num(v: Any) -> float | None:
    return float(v) if type(v) in (int, float) and v - v == 0 else None


def _one(root: Path, plan: dict[str, Any], by_entry: dict[tuple[str, str], list[Entry]], entries: list[Entry],
         now: _dt.datetime) -> dict[str, Any]:
    zone = _zone(plan.get("zone"))
    today = now.astimezone(zone).date()
    calendar = []
    counts: dict[str, int] = defaultdict(int)
    for item in plan["entries"]:
        made = by_entry.get((plan["id"], item["key"])) or []
        state = _state(root, made[0].id) if made else None
        status = store.entry_status(state, now)
        counts[status] += 1
        calendar.append({
            "key": item["key"], "date": item.get("date"), "publish_at": item.get("publish_at"),
            "publish_local": item.get("publish_local"), "theme": item.get("theme"), "season": item.get("season"),
            "atmosphere": item.get("atmosphere"), "estimate_usd": _num(item.get("estimate_usd")),
            "status": status, "session_id": made[0].id if made else None, "sessions": len(made),
            "youtube_url": youtube_url(state.get("youtube") if state is not None else None),
            "error": made[0].row.get("error") if made and status == "failed" else None,
        })
    start, end = store.day_bounds(today, zone)
    budget = _num(plan.get("daily_budget_usd"))
    return {
        "id": plan["id"], "name": plan.get("name"), "zone": plan.get("zone"),
        "publish_time": plan.get("publish_time"), "privacy": plan.get("privacy"), "playlist": plan.get("playlist"),
        "provider": plan.get("provider"), "cap_usd": _num(plan.get("cap_usd")), "ahead_days": plan.get("ahead_days"),
        "written_at": plan.get("written_at"),
        "today": {"date": today.isoformat(), "spent_usd": _spend(root, entries, start, end),
                  "daily_budget_usd": budget},
        "counts": dict(counts), "entries": calendar,
    }


def _state(root: Path, session_id: str) -> store.State | None:
    try:
        with disk.open_session(root, session_id) as folder:
            return sessionfiles.read_state(folder)[0]
    except disk.Refused:
        return None


def _spend(root: Path, entries: list[Entry], start: _dt.datetime, end: _dt.datetime) -> float:
    """Money of every session's calls started today (store.ledger_spend_between). Only sessions
    whose state changed since the day began are read: a running session writes its state at
    least every heartbeat, so a ledger line of today has a state write of today beside it."""
    since = store.iso(start)
    total = 0.0
    try:
        sessions_fd = disk.open_dir(root / "sessions")
    except disk.Refused:
        return 0.0
    try:
        for e in entries:
            updated = e.row.get("updated_at")
            if not e.row.get("readable") or not isinstance(updated, str) or updated < since:
                continue
            try:
                data = disk.read_at(sessions_fd, [e.id, sessionfiles.LEDGER], sessionfiles.MAX_LEDGER_BYTES)
            except disk.Refused:
                continue
            rows = sessionfiles.parse_lines(data, 0, sessionfiles.ledger_ok, at_line_start=True).items
            total += store.ledger_spend_between(rows, start, end)
    finally:
        os.close(sessions_fd)
    return round(total, 4)


def _quota(root: Path, now: _dt.datetime) -> dict[str, Any]:
    name = store.quota_path(root, store.quota_day(now)).name
    try:
        root_fd = disk.open_dir(root)
    except disk.Refused:
        return store.quota_usage_of([], now)
    try:
        data = disk.read_at(root_fd, ["quota", name], store.MAX_CHANNEL_FILE_BYTES)
    except disk.Refused:
        data = b""
    finally:
        os.close(root_fd)
    rows = sessionfiles.parse_lines(data, 0, lambda r: type(r) is dict, at_line_start=True).items
    return store.quota_usage_of(rows, now)


def _disk(entries: list[Entry]) -> dict[str, Any]:
    known = [e.row["disk_bytes"] for e in entries if isinstance(e.row.get("disk_bytes"), int)]
    return {"total_bytes": sum(known), "sessions": len(entries), "measured": len(known)}
