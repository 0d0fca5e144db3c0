"""The sessions view: filters, sort and pagination over index entries.

One parser serves the list, the CSV and the JSON export, so an export is exactly the view
the table shows (same filters, same order; exports are simply not cut into pages).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any

from runner import store

from .door import Rows
from .reader import ALL_STATUSES, Entry

SORTABLE: tuple[str, ...] = (
    "created_at", "finished_at", "updated_at", "duration_s", "spent_usd", "cap_usd", "spend_ratio",
    "minutes", "tracks", "tracks_rendered", "status", "season", "theme", "title", "provider", "id", "disk_bytes",
)
DEFAULT_SORT = "-created_at"
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


class BadQuery(ValueError):
    """A query parameter the view cannot honour; the message names it."""


@dataclass(frozen=True)
class View:
    statuses: frozenset[str] = frozenset()
    seasons: frozenset[str] = frozenset()
    providers: frozenset[str] = frozenset()
    series: frozenset[str] = frozenset()    # series ids (sessions made by `series run`)
    text: str = ""
    date_from: float | None = None      # epoch seconds, inclusive
    date_to: float | None = None        # epoch seconds, exclusive
    sort: str = DEFAULT_SORT
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    echo: dict[str, Any] = field(default_factory=dict)   # the parameters as understood

    def matches(self, e: Entry) -> bool:
        row = e.row
        if self.statuses and row["status"] not in self.statuses:
            return False
        if self.seasons and row["season"] not in self.seasons:
            return False
        if self.providers and row["provider"] not in self.providers:
            return False
        if self.series and row["series"] not in self.series:
            return False
        if self.text and self.text not in e.text:
            return False
        if self.date_from is not None and (e.created_ts is None or e.created_ts < self.date_from):
            return False
        if self.date_to is not None and (e.created_ts is None or e.created_ts >= self.date_to):
            return False
        return True


def _parse_day(value: str, name: str, end: bool) -> float:
    """YYYY-MM-DD (a whole UTC day; "to" includes it) or a full ISO time."""
    value = value.strip()
    try:
        if len(value) == 10:
            day = _dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=_dt.timezone.utc)
            return (day + _dt.timedelta(days=1 if end else 0)).timestamp()
    except ValueError:
        pass
    t = store.parse_iso(value)
    if t is None:
        raise BadQuery(f"{name} must be a date (YYYY-MM-DD) or an ISO time, got {value!r}")
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.timestamp()


def whole(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number parameter from lo to hi (0 is a value, not "use the default").

    Missing or empty gives `default`; anything else raises BadQuery naming the parameter.
    """
    if value in (None, ""):
        return default
    try:
        n = int(value)
    except ValueError:
        raise BadQuery(f"{name} must be a whole number, got {value!r}") from None
    if not lo <= n <= hi:
        raise BadQuery(f"{name} must be from {lo} to {hi}, got {n}")
    return n


def parse_view(arg: Any, args: Any) -> View:
    """Build a View from request accessors: arg(name) -> last value, args(name) -> list."""
    statuses = frozenset(args("status"))
    bad = statuses - set(ALL_STATUSES)
    if bad:
        raise BadQuery(f"unknown status {sorted(bad)[0]!r}; choose from: {', '.join(ALL_STATUSES)}")
    seasons = frozenset(args("season"))
    bad = seasons - set(store.SEASONS)
    if bad:
        raise BadQuery(f"unknown season {sorted(bad)[0]!r}; choose from: {', '.join(store.SEASONS)}")
    providers = frozenset(args("provider"))
    series = frozenset(args("series"))
    odd = sorted(x for x in series if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,60}", x))
    if odd:
        raise BadQuery(f"series must be a series id (lowercase letters, digits and dashes), got {odd[0]!r}")
    text = (arg("q") or "").strip().lower()[:200]
    date_from = _parse_day(arg("from"), "from", end=False) if arg("from") else None
    date_to = _parse_day(arg("to"), "to", end=True) if arg("to") else None
    sort = arg("sort") or DEFAULT_SORT
    if sort.lstrip("-+") not in SORTABLE:
        raise BadQuery(f"cannot sort by {sort!r}; choose from: {', '.join(SORTABLE)} (prefix - for descending)")
    offset = whole(arg("offset"), "offset", 0, 0, 10**9)
    limit = whole(arg("limit"), "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    echo = {
        "status": sorted(statuses), "season": sorted(seasons), "provider": sorted(providers),
        "series": sorted(series), "q": text, "from": arg("from") or None, "to": arg("to") or None, "sort": sort,
    }
    return View(statuses, seasons, providers, series, text, date_from, date_to, sort, offset, limit, echo)


def sort_entries(entries: list[Entry], sort: str) -> list[Entry]:
    """All entries in the order `sort` asks for; rows without a value go last either way."""
    key = sort.lstrip("-+")
    desc = sort.startswith("-")
    if key == "id":
        # Entries arrive sorted by id, newest first.
        return list(entries) if desc else entries[::-1]
    present = [e for e in entries if e.row[key] is not None]
    missing = [e for e in entries if e.row[key] is None]
    if key in ("theme", "title"):
        present.sort(key=lambda e: str(e.row[key]).lower(), reverse=desc)
    else:
        present.sort(key=lambda e: e.row[key], reverse=desc)
    return present + missing


def select(entries: list[Entry], view: View, presorted: list[Entry] | None = None) -> list[Entry]:
    """The entries the view shows, in its order (entries arrive newest first).

    presorted, when given, is `sort_entries(entries, view.sort)` from a cache: filtering keeps
    order, so a cached sort serves every filter.
    """
    ordered = presorted if presorted is not None else sort_entries(entries, view.sort)
    if not _filters(view):
        return ordered
    return [e for e in ordered if view.matches(e)]


def _filters(view: View) -> bool:
    return bool(view.statuses or view.seasons or view.providers or view.series or view.text
                or view.date_from is not None or view.date_to is not None)


def disk_total(selected: list[Entry]) -> int:
    """Bytes on disk of the sessions in a view (those that recorded it)."""
    return sum(b for e in selected if type(b := e.row["disk_bytes"]) is int)


def page(selected: list[Entry], view: View, disk_bytes: int | None = None) -> dict[str, Any]:
    """A page of the view; disk_bytes is disk_total(selected) when the caller has it cached."""
    items = selected[view.offset: view.offset + view.limit]
    nxt = view.offset + len(items)
    return {
        "total": len(selected),
        "offset": view.offset,
        "limit": view.limit,
        "next_offset": nxt if nxt < len(selected) else None,
        "filters": view.echo,
        "disk_bytes": disk_total(selected) if disk_bytes is None else disk_bytes,
        "items": Rows(e.row for e in items),
    }
