"""Server-Sent Events: one hub of numbered events, and one generator per connected client.

Every event gets the next number of a single monotonic sequence, and the hub keeps the most
recent ones in a ring. A client that reconnects with Last-Event-ID gets exactly the events it
missed; if they have left the ring (or come from an earlier server process), it gets a
"reset" event and should reload its data. The sequence starts at the process's start time in
microseconds, so ids from a previous process are always lower than this one's first id.

Clients never poll the disk: one watcher (studio/watch.py) does, only while at least one
client is connected, and publishes here.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Iterator

HEARTBEAT_S = 15.0
RETRY_MS = 2000


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    session: str | None
    data: bytes              # JSON, already redacted


def frame(event_type: str, data: bytes, event_id: int | None = None) -> bytes:
    head = f"event: {event_type}\n".encode()
    if event_id is not None:
        head += f"id: {event_id}\n".encode()
    # The hub's encoder writes JSON with no raw newlines, so one data line is enough.
    return head + b"data: " + data + b"\n\n"


def _plain_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


class Hub:
    def __init__(self, start_seq: int, capacity: int = 5000,
                 on_subscribers: Callable[[int], None] | None = None,
                 encode: Callable[[Any], bytes] | None = None) -> None:
        self._cond = threading.Condition()
        self._ring: deque[Event] = deque(maxlen=capacity)
        self.start_seq = start_seq
        self._seq = start_seq
        self._subscribers = 0
        self._closed = False
        # Told the new subscriber count, so the watcher runs only while somebody listens.
        self.on_subscribers = on_subscribers
        # The app passes its door (studio/door.py), which redacts every string it encodes.
        self.encode: Callable[[Any], bytes] = encode or _plain_json

    @property
    def last_id(self) -> int:
        return self._seq

    @property
    def subscribers(self) -> int:
        return self._subscribers

    def publish(self, event_type: str, payload: Any, session: str | None = None) -> int:
        data = self.encode(payload)
        with self._cond:
            self._seq += 1
            self._ring.append(Event(self._seq, event_type, session, data))
            self._cond.notify_all()
            return self._seq

    def since(self, last_id: int) -> list[Event] | None:
        """Events after last_id, or None when some of them are no longer held."""
        with self._cond:
            return self._since_locked(last_id)

    def _since_locked(self, last_id: int) -> list[Event] | None:
        if last_id > self._seq:
            return None                     # an id this process never issued
        if last_id == self._seq:
            return []
        oldest = self._ring[0].id if self._ring else self._seq + 1
        if last_id < oldest - 1:
            return None                     # fell out of the ring, or an earlier process
        return [e for e in self._ring if e.id > last_id]

    def wait(self, last_id: int, timeout: float) -> list[Event] | None:
        """Block up to timeout for events after last_id; [] on timeout; None when lost."""
        with self._cond:
            if self._seq == last_id and not self._closed:
                self._cond.wait(timeout)
            return self._since_locked(last_id)

    def subscribe(self, limit: int | None = None) -> bool:
        """Take a subscriber slot; False (and nothing taken) when `limit` are taken already.

        Checked and taken under one lock, so 300 clients connecting at once against a limit
        of 200 get exactly 200 slots.
        """
        with self._cond:
            if limit is not None and self._subscribers >= limit:
                return False
            self._subscribers += 1
            n = self._subscribers
        if self.on_subscribers:
            self.on_subscribers(n)
        return True

    def unsubscribe(self) -> None:
        with self._cond:
            self._subscribers -= 1
            n = self._subscribers
        if self.on_subscribers:
            self.on_subscribers(n)

    def close(self) -> None:
        """Wake every stream so it can end (server shutdown)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class Subscription:
    """A stream's body that holds its subscriber slot until it is closed (exactly once).

    The server closes every streamed body when the connection ends, also one it never
    iterated (a HEAD request), so a slot is never left taken by a client that is gone.
    """

    def __init__(self, hub: Hub, body: Iterator[bytes]) -> None:
        self._hub = hub
        self._body = body
        self._closed = False
        self._lock = threading.Lock()

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> bytes:
        return next(self._body)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._body.close()  # type: ignore[attr-defined]
        finally:
            self._hub.unsubscribe()

    def __del__(self) -> None:
        self.close()


def parse_last_id(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def stream(hub: Hub, *, last_id: int | None, accept: Callable[[Event], bool],
           client_gone: Callable[[], bool], mono: Callable[[], float],
           hello: Callable[[], dict[str, Any]], heartbeat_s: float = HEARTBEAT_S,
           poll_s: float = 0.5) -> Iterator[bytes]:
    """The bytes of one client's stream; stops when the client goes or the hub closes.

    The caller takes a subscriber slot first and wraps this in a Subscription, whose close()
    gives the slot back, so a generator closed by a broken pipe still lets the watcher stop.
    """
    dumps = hub.encode
    yield f"retry: {RETRY_MS}\n\n".encode()
    cursor = hub.last_id
    resumed = False
    backlog: list[Event] = []
    if last_id is not None:
        got = hub.since(last_id)
        if got is None:
            # The id carries the current position, so the client's next reconnect resumes here.
            yield frame("reset", dumps({"reason": "missed events are no longer available; reload",
                                        "last_id": cursor}), cursor)
        else:
            backlog, resumed, cursor = got, True, last_id
    yield frame("hello", dumps({**hello(), "resumed": resumed, "last_id": hub.last_id}))
    for ev in backlog:
        cursor = ev.id
        if accept(ev):
            yield frame(ev.type, ev.data, ev.id)
    last_write = mono()
    while not hub.closed:
        events = hub.wait(cursor, poll_s)
        if events is None:
            # This client fell so far behind that the ring moved past it.
            cursor = hub.last_id
            yield frame("reset", dumps({"reason": "stream fell behind; reload", "last_id": cursor}), cursor)
            last_write = mono()
            continue
        for ev in events:
            cursor = ev.id
            if accept(ev):
                yield frame(ev.type, ev.data, ev.id)
                last_write = mono()
        if client_gone():
            return
        if mono() - last_write >= heartbeat_s:
            # No id: a heartbeat is not a position in the stream.
            yield frame("heartbeat", dumps({"last_id": hub.last_id}))
            last_write = mono()
