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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from runner import store

from . import disk, sessionfiles
from .media import media_url
from .redact import Redactor

# Raw statuses whose state.json is expected to change soon.
MOVING = frozenset({"queued", "running", "awaiting_review"})
UNREADABLE = "unreadable"
ALL_STATUSES: tuple[str, ...] = (*store.SESSION_STATUSES, UNREADABLE)

# Every row has exactly these keys, in this order (the CSV columns follow it too).
ROW_FIELDS: tuple[str, ...] = (
    "id", "readable", "status", "theme", "title", "season", "atmosphere", "minutes", "tracks",
    "provider", "privacy", "upload", "review", "cap_usd", "spent_usd", "spend_ratio",
    "created_at", "updated_at", "finished_at", "duration_s", "current_step", "progress_percent",
    "tracks_rendered", "upload_status", "youtube_id", "youtube_url", "thumbnail_url",
    "artwork_url", "has_loop", "has_final", "series", "entry", "disk_bytes", "error",
)
MAX_ERROR_CHARS = 300
# Fields with a handful of values, shared across rows instead of copied per row.
_ENUM_FIELDS = frozenset({"status", "season", "atmosphere", "provider", "privacy", "current_step", "upload_status"})
MAX_STATES_KEPT = 200   # per refresh, for the live stream's step details
PREFETCH_FROM = 64
PREFETCH_BATCH = 512


def _intern(v: Any) -> Any:
    # Statuses, seasons and the like repeat across thousands of rows; share one copy.
    return sys.intern(v) if isinstance(v, str) and len(v) <= 24 else v


def short_text(value: Any, limit: int = MAX_ERROR_CHARS) -> str | None:
    """One line for a table cell from an error or halt value, whatever its shape."""
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):
        value = value.get("message") or value.get("reason") or value.get("error") or ", ".join(
            f"{k}: {v}" for k, v in value.items())
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


def time_from_id(session_id: str) -> str | None:
    """The UTC start time encoded in a session id, for sessions whose state is unreadable."""
    try:
        t = _dt.datetime.strptime(session_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    return store.iso(t)


def _naive(text: Any) -> _dt.datetime | None:
    # The runner's own format ("2026-11-21T03:15:04.210Z", always UTC) parses on a fast path.
    if isinstance(text, str) and len(text) == 24 and text[23] == "Z":
        try:
            return _dt.datetime.fromisoformat(text[:23])
        except ValueError:
            return None
    t = store.parse_iso(text)
    if t is None:
        return None
    return t.astimezone(_dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def step_seconds(step: Any) -> float | None:
    if not isinstance(step, dict):
        return None
    a, b = _naive(step.get("started_at")), _naive(step.get("finished_at"))
    if a is None or b is None:
        return None
    return round(max(0.0, (b - a).total_seconds()), 3)


def _num(v: Any) -> float | int | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def effective(state_bits: dict[str, Any], now: _dt.datetime) -> str:
    return store.effective_status(state_bits, now)


@dataclass(eq=False)
class Entry:
    """One session in the index: its public row plus what queries and KPIs need."""

    id: str
    key: tuple[int, int, int] | None         # (inode, mtime_ns, size) of state.json
    row: dict[str, Any]                        # public, redacted, ROW_FIELDS order
    raw_status: str
    live: dict[str, Any] | None                # status/pid/heartbeat/times, for moving sessions
    created_ts: float | None                   # for date filters
    text: str                                  # lower-cased theme, title and id, for search
    step_s: tuple[float | None, ...]           # seconds per step (done steps), store.STEPS order
    spent: float
    tracks_done: int


def _unreadable_entry(session_id: str, key: tuple[int, int, int] | None, reason: str | None = None) -> Entry:
    row = dict.fromkeys(ROW_FIELDS)
    created = time_from_id(session_id)
    row.update(id=session_id, readable=False, status=UNREADABLE, created_at=created,
               error=reason or "state.json is missing, partial or corrupt")
    created_dt = store.parse_iso(created)
    return Entry(session_id, key, row, UNREADABLE, None,
                 created_dt.timestamp() if created_dt else None, session_id.lower(),
                 (None,) * len(store.STEPS), 0.0, 0)


def build_entry(session_id: str, key: tuple[int, int, int] | None, state: dict[str, Any] | None,
                now: _dt.datetime, redactor: Redactor, reason: str | None = None) -> Entry:
    """The index entry for one state (None: unreadable, for `reason`). Mirrors store.session_summary's fields."""
    if state is None:
        return _unreadable_entry(session_id, key, redactor.text(reason) if reason else None)
    params = state.get("params") if isinstance(state.get("params"), dict) else {}
    cost = state.get("cost") if isinstance(state.get("cost"), dict) else {}
    steps = state.get("steps") if isinstance(state.get("steps"), dict) else {}
    raw_status = state.get("status")
    live = None
    if raw_status in MOVING:
        live = {k: state.get(k) for k in ("status", "pid", "heartbeat_at", "created_at")}
    status = effective(live, now) if live else raw_status
    created = store.parse_iso(state.get("created_at"))
    finished = store.parse_iso(state.get("finished_at"))
    end = finished or (now if status in ("running", "queued") else store.parse_iso(state.get("updated_at")))
    duration = round((end - created).total_seconds(), 3) if created and end else None

    def out(name: str) -> dict[str, Any]:
        s = steps.get(name)
        o = s.get("outputs") if isinstance(s, dict) else None
        return o if isinstance(o, dict) else {}

    art, music = out("artwork"), out("music")
    tracks = music.get("tracks") if isinstance(music.get("tracks"), list) else []
    current = store.current_step(state)
    progress = None
    if current:
        p = (steps.get(current) or {}).get("progress")
        progress = _num(p.get("percent")) if isinstance(p, dict) else None
    spent = _num(cost.get("spent_usd"))
    cap = _num(cost.get("cap_usd"))
    upload_step = steps.get("upload") if isinstance(steps.get("upload"), dict) else {}
    theme = params.get("theme") if isinstance(params.get("theme"), str) else None
    title = state.get("title") if isinstance(state.get("title"), str) else None
    row = {
        "id": session_id,
        "readable": True,
        "status": status,
        "theme": redactor.text(theme) if theme else theme,
        "title": redactor.text(title) if title else title,
        "season": params.get("season"),
        "atmosphere": params.get("atmosphere"),
        "minutes": _num(params.get("minutes")),
        "tracks": _num(params.get("tracks")),
        "provider": params.get("provider"),
        "privacy": params.get("privacy"),
        "upload": params.get("upload") if isinstance(params.get("upload"), bool) else None,
        "review": params.get("review") if isinstance(params.get("review"), bool) else None,
        "cap_usd": cap,
        "spent_usd": spent,
        "spend_ratio": round(spent / cap, 4) if spent is not None and cap else None,
        "created_at": state.get("created_at"),
        "updated_at": state.get("updated_at"),
        "finished_at": state.get("finished_at"),
        "duration_s": duration,
        "current_step": current,
        "progress_percent": progress,
        "tracks_rendered": len(tracks),
        "upload_status": upload_step.get("status"),
        "youtube_id": (state.get("youtube") or {}).get("id") if isinstance(state.get("youtube"), dict) else None,
        "youtube_url": youtube_url(state.get("youtube")),
        "thumbnail_url": media_url(session_id, art.get("thumbnail")),
        "artwork_url": media_url(session_id, art.get("artwork")),
        "has_loop": media_url(session_id, out("motion").get("loop")) is not None,
        "has_final": media_url(session_id, out("render").get("final")) is not None,
        "series": (state.get("series") or {}).get("id") if isinstance(state.get("series"), dict) else None,
        "entry": (state.get("series") or {}).get("entry") if isinstance(state.get("series"), dict) else None,
        "disk_bytes": _num(state.get("disk_bytes")),
        "error": redactor.text(short_text(state.get("error") or state.get("halt") or state.get("attention")) or "") or None,
    }
    # Only simple scalars reach a row (a misshapen field must not break sorting or CSV).
    for k, v in row.items():
        if not (v is None or isinstance(v, (str, int, float, bool))):
            row[k] = None
        elif k in _ENUM_FIELDS:
            row[k] = _intern(v)
    step_s = tuple(step_seconds(steps.get(n)) if (steps.get(n) or {}).get("status") == "done" else None
                   for n in store.STEPS)
    return Entry(session_id, key, row, raw_status, live, created.timestamp() if created else None,
                 " ".join(x for x in (theme, title, session_id) if x).lower(), step_s,
                 float(spent or 0.0), len(tracks))


@dataclass(frozen=True)
class Change:
    kind: str                          # "changed" | "removed"
    session_id: str
    entry: Entry | None
    state: dict[str, Any] | None       # the freshly read state, when it was re-read


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
        entries = self._entries
        changes: list[Change] = []
        try:
            st = os.stat(self._dir)
            dir_key: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
        except OSError:
            dir_key = None
        names: set[str] | None = None
        removed: list[str] = []
        if full or dir_key != self._dir_key:
            names = set(store.list_session_ids(self.root)) if dir_key else set()
            self._dir_key = dir_key
            removed = [sid for sid in entries if sid not in names]
        if full:
            candidates: Iterable[str] = names or ()
        else:
            candidates = set(self._watch)
            if names is not None:
                candidates |= names - entries.keys()
        sep = os.sep
        stale: list[tuple[str, tuple[int, int, int] | None]] = []
        for sid in candidates:
            key = store.change_key(self._dir + sep + sid + sep + "state.json")
            old = entries.get(sid)
            if old is not None and old.key == key and (key is not None or old.raw_status == UNREADABLE):
                continue
            stale.append((sid, key))
        fresh: list[Entry] = []
        rekeyed: list[tuple[Entry, tuple[int, int, int] | None]] = []
        for sid, key, data, reason in _read_all(self._dir, stale):
            state, reason = store.decode_state(data, sid) if data is not None else (None, reason)
            old = entries.get(sid)
            if old is not None and state is None and old.raw_status == UNREADABLE \
                    and old.row["error"] == self.redactor.text(reason or ""):
                rekeyed.append((old, key))  # still unreadable for the same reason: nothing to tell
                continue
            entry = build_entry(sid, key, state, now, self.redactor, reason)
            fresh.append(entry)
            # Keep the parsed state only for a listener that will use it, and only for a
            # few: holding ten thousand parsed states at once would set the peak memory.
            keep = state if self._populated and len(changes) < MAX_STATES_KEPT else None
            changes.append(Change("changed", sid, entry, keep))
        # Time alone can turn a running session into an interrupted one (its runner died).
        reread = {c.session_id for c in changes}
        aged: list[Entry] = []
        settled: list[str] = []
        for sid in list(self._watch):
            e = entries.get(sid)
            if e is None or e.live is None or sid in reread or sid in removed:
                continue
            if e.row["status"] not in MOVING:
                settled.append(sid)   # its runner is gone; a full sweep notices a resume
                continue
            status = effective(e.live, now)
            if status != e.row["status"]:
                aged.append(replace(e, row={**e.row, "status": _intern(status)}))
        with self._lock:
            for sid in removed:
                del entries[sid]
                self._watch.discard(sid)
            for old, key in rekeyed:
                old.key = key
            self._watch.difference_update(settled)
            for e in fresh + aged:
                entries[e.id] = e
                if e.raw_status == UNREADABLE or (e.live is not None and e.row["status"] in MOVING):
                    self._watch.add(e.id)
                else:
                    self._watch.discard(e.id)   # settled, or its runner is gone: a full sweep notices a resume
            changes = [Change("removed", sid, None, None) for sid in removed] + changes
            changes += [Change("changed", e.id, e, None) for e in aged]
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
        folder = disk.SessionFolder(sessions_fd, session_id)
    except disk.Refused as exc:
        return None, f"the session folder {exc.reason}"
    with folder:
        return sessionfiles.state_bytes(folder)


def _prefetch(sessions_fd: int, items: list[tuple[str, Any]]) -> None:
    for sid, _ in items:
        disk.prefetch(sessions_fd, [sid, "state.json"])
