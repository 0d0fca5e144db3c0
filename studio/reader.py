"""A cached, read-only index of the sessions on disk.

Ten thousand sessions cost about 40 ms just to stat and a few hundred to parse, so the index
keeps one flat, already-redacted row per session and re-reads a state.json only when its
(inode, mtime, size) changes. The runner replaces state.json by rename, so a new version
always has a new inode.

Two sweeps keep the index fresh without statting everything on every request:
- quick (every few hundred ms): the sessions folder itself (new or removed sessions) and the
  sessions still in motion (queued, running, awaiting review) or unreadable;
- full (every few seconds): every state.json, which catches a finished session resumed from
  the command line.
Both report what changed to a listener (the live stream), whoever triggered them.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import threading
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from runner import store

from . import disk, sessionfiles
from .media import media_url
from .redact import Redactor

# Raw statuses whose state.json is expected to change soon.
MOVING = frozenset({"queued", "running", "awaiting_review"})
UNREADABLE = store.UNREADABLE
ALL_STATUSES: tuple[str, ...] = (*store.SESSION_STATUSES, UNREADABLE)

# What the studio adds to store.summarize's row: links the page can follow safely.
LINK_FIELDS: tuple[str, ...] = ("youtube_url", "thumbnail_url", "artwork_url", "has_loop", "has_final")
# Every row has exactly these keys, in this order (the CSV columns follow it too): the
# summary row with the links after youtube_id.
_AT = store.SUMMARY_FIELDS.index("youtube_id") + 1
ROW_FIELDS: tuple[str, ...] = (*store.SUMMARY_FIELDS[:_AT], *LINK_FIELDS, *store.SUMMARY_FIELDS[_AT:])
MAX_ERROR_CHARS = 300
# Fields with a handful of values, shared across rows instead of copied per row.
_ENUM_FIELDS = ("status", "season", "atmosphere", "provider", "privacy", "current_step", "upload_status")
MAX_STATES_KEPT = 200   # per refresh, for the live stream's step details
PREFETCH_FROM = 64
PREFETCH_BATCH = 512


def short_text(value: Any, limit: int = MAX_ERROR_CHARS) -> str | None:
    """One line for a table cell from an error or halt value, whatever its shape."""
    text = store.one_line(value)
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def youtube_url(youtube: Any) -> str | None:
    """Only an https YouTube link reaches the page (a planted javascript: URL never does)."""
    if not isinstance(youtube, dict):
        return None
    url = youtube.get("url")
    if isinstance(url, str) and url.startswith(("https://www.youtube.com/", "https://youtube.com/",
                                                "https://youtu.be/", "https://studio.youtube.com/")):
        return url
    vid = youtube.get("id")
    if isinstance(vid, str) and 6 <= len(vid) <= 20 and all(c.isalnum() or c in "-_" for c in vid):
        return f"https://www.youtube.com/watch?v={vid}"
    return None


@dataclass(eq=False)
class Entry:
    """One session in the index: its public row plus what queries and KPIs need."""

    id: str
    key: tuple[int, int, int] | None         # (inode, mtime_ns, size) of state.json
    row: dict[str, Any]                        # public, redacted, ROW_FIELDS order
    raw_status: str
    live: dict[str, Any] | None                # status/pid/heartbeat/times, for moving sessions
    created_ts: float | None                   # for date filters
    text: str                                  # lower-cased redacted theme, title and id, for search
    step_s: tuple[float | None, ...]           # seconds per step (done steps), store.STEPS order
    spent: float
    tracks_done: int


def build_entry(session_id: str, key: tuple[int, int, int] | None, state: store.State | None,
                now: _dt.datetime, redactor: Redactor, reason: str | None = None) -> Entry:
    """The index entry for one state: store.summarize's row, redacted, plus the studio's links.

    state None means unreadable, for the reason given.
    """
    if state is None:
        summary = store.unreadable_row(session_id, reason)
        live = None
        step_s: tuple[float | None, ...] = (None,) * len(store.STEPS)
    else:
        summary = store.summarize(state, now)
        live = {k: state[k] for k in ("status", "pid", "heartbeat_at", "created_at")} \
            if state["status"] in MOVING else None
        steps = state["steps"]
        step_s = tuple(store.step_seconds(steps[n]) if steps[n]["status"] == "done" else None for n in store.STEPS)
    row = _row(summary, state, redactor)
    created = store.parse_iso(row["created_at"])
    return Entry(session_id, key, row, state["status"] if state else UNREADABLE, live,
                 created.timestamp() if created else None,
                 " ".join(x for x in (row["theme"], row["title"], session_id) if x).lower(), step_s,
                 float(row["spent_usd"] or 0.0), row["tracks_rendered"] or 0)


def _row(summary: store.SummaryRow, state: store.State | None, redactor: Redactor) -> dict[str, Any]:
    """The public row: redacted text, safe links, ROW_FIELDS order, enum values interned."""
    sid = summary["id"]
    row: dict[str, Any] = {**summary, **_links(sid, state)}
    for k in ("theme", "title"):
        if row[k]:
            row[k] = redactor.text(row[k])
    # Redacted before it is cut, so a cut never leaves part of a secret showing.
    row["error"] = short_text(redactor.text(row["error"])) if row["error"] else None
    for k in _ENUM_FIELDS:
        if row[k] is not None:
            # Statuses, seasons and the like repeat across thousands of rows; share one copy.
            row[k] = sys.intern(row[k])
    return {k: row[k] for k in ROW_FIELDS}


def _links(session_id: str, state: store.State | None) -> dict[str, Any]:
    if state is None:
        return dict.fromkeys(LINK_FIELDS)
    steps = state["steps"]
    art = steps["artwork"]["outputs"]
    return {
        "youtube_url": youtube_url(state["youtube"]),
        "thumbnail_url": media_url(session_id, art.get("thumbnail")),
        "artwork_url": media_url(session_id, art.get("artwork")),
        "has_loop": media_url(session_id, steps["motion"]["outputs"].get("loop")) is not None,
        "has_final": media_url(session_id, steps["render"]["outputs"].get("final")) is not None,
    }


@dataclass(frozen=True)
class Change:
    kind: str                          # "changed" | "removed"
    session_id: str
    entry: Entry | None
    state: store.State | None          # the freshly read state, when it was re-read


Listener = Callable[[list[Change]], None]


class SessionIndex:
    """Thread-safe cache of session rows; a sweep (refresh) is the only thing that touches the disk.

    Two locks: `_sweep` lets one sweep run at a time, and it reads files; `_lock` guards the
    entries and is held only to swap them in, never while a file is read, so a slow or
    hostile file delays the next sweep, not the requests reading the index.
    """

    def __init__(self, root: Path, redactor: Redactor, *, quick_interval: float = 0.25,
                 full_interval: float = 3.0, listener: Listener | None = None) -> None:
        self.root = root
        self.redactor = redactor
        self.quick_interval = quick_interval
        self.full_interval = full_interval
        self.listener = listener
        self._dir = str(store.sessions_dir(root))
        self._sweep = threading.Lock()
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._dir_key: tuple[int, int] | None = None
        self._last_quick = float("-inf")
        self._last_full = float("-inf")
        self.generation = 0
        self._ordered: list[Entry] = []
        self._order_gen = -1
        self._populated = False
        # Sessions worth a look on every quick sweep: in motion, or unreadable for now.
        self._watch: set[str] = set()

    # ------------------------------------------------------------------ reading

    def ensure_fresh(self, now: _dt.datetime, mono: float) -> None:
        """Sweep if the last sweeps are older than their intervals (requests call this).

        While another sweep runs, the index as it stands is fresh enough; only before the
        first sweep has finished (the cold start) does a request wait for it. The intervals
        are decided again once the sweep lock is held, so requests that queued behind the
        cold start find the index fresh instead of each sweeping once more.
        """
        if mono - self._last_quick < self.quick_interval and mono - self._last_full < self.full_interval:
            return
        if not self._sweep.acquire(blocking=not self._populated):
            return
        try:
            if mono - self._last_full >= self.full_interval:
                self._sweep_held(now, mono, True)
            elif mono - self._last_quick >= self.quick_interval:
                self._sweep_held(now, mono, False)
        finally:
            self._sweep.release()

    def entries(self) -> list[Entry]:
        """All entries, newest first (ids begin with their UTC start time). Do not mutate."""
        return self.snapshot()[0]

    def snapshot(self) -> tuple[list[Entry], int]:
        """(entries newest first, the generation they belong to), consistent with each other."""
        ordered, gen = self._ordered, self._order_gen
        if gen != self.generation:
            with self._lock:
                if self._order_gen != self.generation:
                    self._ordered = sorted(self._entries.values(), key=lambda e: e.id, reverse=True)
                    self._order_gen = self.generation
                ordered, gen = self._ordered, self._order_gen
        return ordered, gen

    def moving(self) -> list[Entry]:
        """Entries whose session is queued, running or awaiting review (a handful)."""
        with self._lock:
            picked = [self._entries.get(sid) for sid in self._watch]
        return [e for e in picked if e is not None and e.row["status"] in MOVING]

    def get(self, session_id: str) -> Entry | None:
        return self._entries.get(session_id)

    # ------------------------------------------------------------------ refreshing

    def refresh(self, now: _dt.datetime, mono: float, full: bool = True) -> list[Change]:
        with self._sweep:
            return self._sweep_held(now, mono, full)

    def _sweep_held(self, now: _dt.datetime, mono: float, full: bool) -> list[Change]:
        changes = self._sweep_files(now, full)
        self._last_quick = mono
        if full:
            self._last_full = mono
        # The first sweep finds everything; that is the starting point, not news.
        news = self._populated
        self._populated = True
        if changes and news and self.listener is not None:
            self.listener(changes)
        return changes

    def _sweep_files(self, now: _dt.datetime, full: bool) -> list[Change]:
        """Look at the disk (no lock held: only sweeps change the entries, one at a time),
        then swap what changed in under the index lock."""
        names, removed = self._sweep_folder(full)
        stale = self._stale(self._candidates(full, names))
        fresh, rekeyed, changes = self._reread(stale, now)
        aged, settled = self._age(now, skip={c.session_id for c in changes} | set(removed))
        return self._swap_in(removed, rekeyed, settled, fresh + aged,
                             [Change("removed", sid, None, None) for sid in removed] + changes
                             + [Change("changed", e.id, e, None) for e in aged])

    def _sweep_folder(self, full: bool) -> tuple[set[str] | None, list[str]]:
        """(the session names on disk, those gone from it), when the folder changed or on a full
        sweep; (None, []) when a quick sweep finds the folder as it was."""
        try:
            st = os.stat(self._dir)
            dir_key: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
        except OSError:
            dir_key = None
        if not full and dir_key == self._dir_key:
            return None, []
        names = set(store.list_session_ids(self.root)) if dir_key else set()
        self._dir_key = dir_key
        return names, [sid for sid in self._entries if sid not in names]

    def _candidates(self, full: bool, names: set[str] | None) -> Iterable[str]:
        """Sessions worth a stat: every one on a full sweep; else the watched and the new."""
        if full:
            return names or ()
        candidates = set(self._watch)
        if names is not None:
            candidates |= names - self._entries.keys()
        return candidates

    def _stale(self, candidates: Iterable[str]) -> list[tuple[str, tuple[int, int, int] | None]]:
        """The candidates whose state.json changed (by change key) since the index read it."""
        sep = os.sep
        stale = []
        for sid in candidates:
            key = store.change_key(self._dir + sep + sid + sep + "state.json")
            old = self._entries.get(sid)
            if old is not None and old.key == key and (key is not None or old.raw_status == UNREADABLE):
                continue
            stale.append((sid, key))
        return stale

    def _reread(self, stale: list[tuple[str, tuple[int, int, int] | None]], now: _dt.datetime
                ) -> tuple[list[Entry], list[tuple[Entry, tuple[int, int, int] | None]], list[Change]]:
        """Read and judge each stale state.json: (new entries, entries only re-keyed, changes)."""
        fresh: list[Entry] = []
        rekeyed: list[tuple[Entry, tuple[int, int, int] | None]] = []
        changes: list[Change] = []
        for sid, key, data, reason in _read_all(self._dir, stale):
            state, reason = store.decode_state(data, sid) if data is not None else (None, reason)
            entry = build_entry(sid, key, state, now, self.redactor, reason)
            old = self._entries.get(sid)
            if old is not None and state is None and old.raw_status == UNREADABLE and old.row == entry.row:
                rekeyed.append((old, key))  # still unreadable for the same reason: nothing to tell
                continue
            fresh.append(entry)
            # Keep the parsed state only for a listener that will use it, and only for a
            # few: holding ten thousand parsed states at once would set the peak memory.
            keep = state if self._populated and len(changes) < MAX_STATES_KEPT else None
            changes.append(Change("changed", sid, entry, keep))
        return fresh, rekeyed, changes

    def _age(self, now: _dt.datetime, skip: set[str]) -> tuple[list[Entry], list[str]]:
        """Time alone can turn a running session into an interrupted one (its runner died):
        (entries whose status aged so, watched sessions that have settled)."""
        aged: list[Entry] = []
        settled: list[str] = []
        for sid in list(self._watch):
            e = self._entries.get(sid)
            if e is None or e.live is None or sid in skip:
                continue
            if e.row["status"] not in MOVING:
                settled.append(sid)   # its runner is gone; a full sweep notices a resume
                continue
            status = store.effective_status(typing.cast(store.State, e.live), now)
            if status != e.row["status"]:
                aged.append(replace(e, row={**e.row, "status": sys.intern(status)}))
        return aged, settled

    def _swap_in(self, removed: list[str], rekeyed: list[tuple[Entry, tuple[int, int, int] | None]],
                 settled: list[str], new: list[Entry], changes: list[Change]) -> list[Change]:
        """Apply one sweep's findings under the index lock, the only time a sweep holds it."""
        entries = self._entries
        with self._lock:
            for sid in removed:
                del entries[sid]
                self._watch.discard(sid)
            for old, key in rekeyed:
                old.key = key
            self._watch.difference_update(settled)
            for e in new:
                entries[e.id] = e
                if e.raw_status == UNREADABLE or (e.live is not None and e.row["status"] in MOVING):
                    self._watch.add(e.id)
                else:
                    self._watch.discard(e.id)   # settled, or its runner is gone: a full sweep notices a resume
            if changes:
                self.generation += 1
        return changes


def _read_all(folder: str, items: list[tuple[str, Any]]) -> Iterator[tuple[str, Any, bytes | None, str | None]]:
    """(id, key, bytes of state.json or None, why not) for each item, in order, each read
    through studio/disk.py (no links, a regular file with one link, at most MAX_STATE_BYTES).

    On a cold start the files are not in the page cache and one read at a time waits on the
    disk for each. So the kernel is told one batch ahead which files come next (WILLNEED);
    its readahead then overlaps with our parsing. Threads would fight the parser for the GIL.
    """
    try:
        sessions_fd = disk.open_dir(folder)
    except disk.Refused as exc:
        for sid, key in items:
            yield sid, key, None, f"the sessions folder {exc.reason}"
        return
    try:
        ahead = len(items) >= PREFETCH_FROM
        if ahead:
            _prefetch(sessions_fd, items[:PREFETCH_BATCH])
        for i, (sid, key) in enumerate(items):
            if ahead and i % PREFETCH_BATCH == 0:
                _prefetch(sessions_fd, items[i + PREFETCH_BATCH: i + 2 * PREFETCH_BATCH])
            data, reason = read_state_bytes(sessions_fd, sid)
            yield sid, key, data, reason
    finally:
        os.close(sessions_fd)


def read_state_bytes(sessions_fd: int, session_id: str) -> tuple[bytes | None, str | None]:
    """(bytes of the session's state.json, None) or (None, why it cannot be read)."""
    try:
        return disk.read_in(sessions_fd, session_id, sessionfiles.STATE, sessionfiles.MAX_STATE_BYTES), None
    except disk.Refused as exc:
        if exc.name == session_id:
            return None, f"the session folder {exc.reason}"
        return None, str(exc)


def _prefetch(sessions_fd: int, items: list[tuple[str, Any]]) -> None:
    for sid, _ in items:
        disk.prefetch(sessions_fd, sid + "/" + sessionfiles.STATE)
