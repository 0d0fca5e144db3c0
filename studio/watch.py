"""The one poller behind the live stream; it runs only while a client is connected.

Each tick it refreshes the session index (whose listener publishes "session" events), reads
new lines of logs/runner.log ("log" events) and new timeline entries of the sessions in
motion ("timeline" events). Positions in those files survive the watcher stopping, so a
client that comes back with Last-Event-ID also gets what was written while nobody watched.
"""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Callable

from runner import store

from . import disk, sessionfiles
from .detail import compact_steps, spend_block
from .logs import LogReader
from .reader import MOVING, Change, SessionIndex
from .redact import Redactor
from .sse import Hub

MAX_LOG_LINES_PER_TICK = 2000
MAX_LOG_CATCHUP = 4 * 1024 * 1024      # further behind than this, skip ahead
MAX_TIMELINE_CATCHUP = 256 * 1024


def session_publisher(hub: Hub, redactor: Redactor) -> Callable[[list[Change]], None]:
    """The index listener: one "session" event per changed session."""

    def publish(changes: list[Change]) -> None:
        for c in changes:
            if c.kind == "removed" or c.entry is None:
                hub.publish("session_removed", {"id": c.session_id}, c.session_id)
                continue
            state = c.state
            hub.publish("session", {
                "id": c.session_id,
                "row": c.entry.row,
                # Only when state.json was re-read; a status that changed with time alone
                # (a runner that died) leaves the steps as the client has them.
                "steps": compact_steps(state, redactor) if state else None,
                "spend": spend_block(state) if state else None,
            }, c.session_id)

    return publish


class Watcher:
    def __init__(self, index: SessionIndex, hub: Hub, logs: LogReader, redactor: Redactor, *,
                 now: Callable[[], _dt.datetime], mono: Callable[[], float], tick: float = 0.25) -> None:
        self.index = index
        self.hub = hub
        self.logs = logs
        self.redactor = redactor
        self.now = now
        self.mono = mono
        self.tick = tick
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._log_offset: int | None = None
        self._timeline_offsets: dict[str, int] = {}
        self._active: set[str] = set()
        self._epoch: str | None = None
        self.ticks = 0

    @property
    def running(self) -> bool:
        return self._thread is not None

    def on_subscribers(self, count: int) -> None:
        """Hub callback: start when the first client arrives (the thread stops itself)."""
        if count <= 0:
            self._wake.set()
            return
        with self._lock:
            if self._thread is None:
                self._wake.clear()
                self._thread = threading.Thread(target=self._run, name="studio-watcher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                if self.hub.subscribers <= 0 or self.hub.closed:
                    self._thread = None
                    return
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - a bad file must not kill the stream
                self.hub.publish("error", {"message": f"watcher: {exc!r}"})   # the hub's door redacts
            self._wake.wait(self.tick)
            self._wake.clear()

    # ------------------------------------------------------------------ one tick

    def step(self) -> None:
        self.ticks += 1
        self.index.ensure_fresh(self.now(), self.mono())
        self._follow_log()
        self._follow_timelines()

    def _follow_log(self) -> None:
        if self._log_offset is None:
            # Start at the end of the last complete line: one being written now is news.
            self._log_offset = self.logs.page(limit=1)["end"]
            return
        size = self.logs.size()
        if size < self._log_offset:
            self._log_offset = 0          # truncated or rotated
        if size - self._log_offset > MAX_LOG_CATCHUP:
            skipped = size - MAX_LOG_CATCHUP - self._log_offset
            self._log_offset = size - MAX_LOG_CATCHUP
            self.hub.publish("log_gap", {"skipped_bytes": skipped})
        sent = 0
        while sent < MAX_LOG_LINES_PER_TICK:
            page = self.logs.page(after=self._log_offset, limit=500, scan_budget=1024 * 1024)
            for rec in page["lines"]:
                self.hub.publish("log", rec, rec.get("session"))
            sent += len(page["lines"])
            moved = page["end"] != self._log_offset
            self._log_offset = page["end"]
            if not page.get("has_more_after") or not moved:
                break

    def _follow_timelines(self) -> None:
        if self._epoch is None:
            # Timeline entries written before the first tick are history (the detail page
            # shows them); those written since are news, whenever we notice them.
            self._epoch = store.iso(self.now())
        # Only sessions in motion, and those that just stopped (for their last lines).
        todo = {e.id: e for e in self.index.moving()}
        for sid in self._active - todo.keys():
            e = self.index.get(sid)
            if e is not None:
                todo[sid] = e
            else:
                self._active.discard(sid)
        for sid, entry in todo.items():
            moving = entry.row["status"] in MOVING
            offset = self._timeline_offsets.get(sid)
            lines = self._new_timeline(sid, offset)
            for ev in lines.items:
                if ev["type"] == "progress":
                    continue  # the "session" event carries progress; keep the ring for news
                if ev["ts"] < self._epoch:
                    continue
                self.hub.publish("timeline", {"session": sid, **ev}, sid)
            # A line that is not an event is skipped (the detail's notes count it); the lines
            # after it still stream.
            self._timeline_offsets[sid] = lines.end
            # A session that just settled gets this last read, then is left alone until it moves.
            if moving:
                self._active.add(sid)
            else:
                self._active.discard(sid)

    def _new_timeline(self, sid: str, offset: int | None) -> sessionfiles.Lines:
        """events.jsonl lines after offset (None: only the last MAX_TIMELINE_CATCHUP bytes)."""
        try:
            folder = disk.open_session(self.index.root, sid)
        except disk.Refused:
            return sessionfiles.Lines(start=offset or 0, end=offset or 0)
        with folder:
            if offset is None:
                return sessionfiles.read_events(folder, 0, MAX_TIMELINE_CATCHUP)
            lines = sessionfiles.read_events(folder, offset, MAX_TIMELINE_CATCHUP)
            if lines.size < offset:   # truncated or replaced: read it again from the start
                lines = sessionfiles.read_events(folder, 0, MAX_TIMELINE_CATCHUP)
            return lines
