"""A session's files as the studio reads them: through disk.py, parsed by jsonsafe, checked
against their documented shape (docs/format.md).

state.json is judged by store.decode_state (the typed model). events.jsonl and ledger.jsonl
are append-only, one object a line: a line that is not JSON, or not an object of the
documented shape, is skipped and counted, and never stops the lines after it. events.jsonl
is read from its end, a bounded window; ledger.jsonl and metadata.json are capped in size.
Nothing here raises for what a file holds: a file that cannot be read at all comes back
empty with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from runner import store

from . import disk, jsonsafe

STATE = "state.json"
EVENTS = "events.jsonl"
LEDGER = "ledger.jsonl"
METADATA = "metadata.json"
MAX_STATE_BYTES = store.MAX_STATE_BYTES
EVENTS_WINDOW = 8 * 1024 * 1024      # the newest 8 MiB of a timeline; older events are not shown
MAX_LEDGER_BYTES = 4 * 1024 * 1024   # about 15,000 lines; the runner writes two per paid call
MAX_METADATA_BYTES = 256 * 1024


def state_bytes(folder: disk.SessionFolder) -> tuple[bytes | None, str | None]:
    """(bytes of state.json, None), or (None, why they cannot be read)."""
    try:
        return folder.read(STATE, MAX_STATE_BYTES), None
    except disk.Refused as exc:
        return None, str(exc)


def read_state(folder: disk.SessionFolder) -> tuple[store.State | None, str | None]:
    """(state, None), or (None, why the session is unreadable: one line, no file content)."""
    data, reason = state_bytes(folder)
    if data is None:
        return None, reason
    return store.decode_state(data, folder.id)


# ----------------------------------------------------------------------------- lines

def _text(v: Any) -> bool:
    return v is None or type(v) is str


def _money(v: Any) -> bool:
    return v is None or (type(v) in (int, float) and v - v == 0)   # v - v is NaN for NaN and inf


def event_ok(e: Any) -> bool:
    """An events.jsonl line of the documented shape: seq, ts, type, step, message, data."""
    return (type(e) is dict and type(e.get("seq")) is int and type(e.get("ts")) is str
            and type(e.get("type")) is str and _text(e.get("step")) and _text(e.get("message")))


_LEDGER_TEXT = ("ts", "call_id", "phase", "provider", "model", "asset", "step", "label", "cache_key")


def ledger_ok(line: Any) -> bool:
    """A ledger.jsonl line of the documented shape (fields may be missing, never mistyped)."""
    return (type(line) is dict and all(_text(line.get(k)) for k in _LEDGER_TEXT)
            and _money(line.get("usd")))


@dataclass
class Lines:
    """The checked lines of a .jsonl file, oldest first, and where they lie in it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0          # lines that were not JSON objects of the documented shape
    start: int = 0            # offset of the first byte looked at
    end: int = 0              # offset just after the last complete line (where to go on from)
    size: int = 0
    reason: str | None = None  # why the file could not be read at all (missing is not a reason)

    def note(self, name: str) -> str | None:
        """One line for a person about what was left out, or None."""
        if self.reason:
            return f"{self.reason}; nothing of it is shown"
        if self.skipped:
            s = "" if self.skipped == 1 else "s"
            return f"{name}: {self.skipped} line{s} skipped (not a JSON object of the documented shape)"
        return None


def parse_lines(data: bytes, start: int, check: Callable[[Any], bool], *, at_line_start: bool) -> Lines:
    """The complete lines in data (which begins at file offset start).

    A last line without its newline is being written and is left for later; when data does
    not begin at a line start, its first piece is the tail of a line and is dropped.
    """
    out = Lines(start=start, end=start)
    last = data.rfind(b"\n")
    if last < 0:
        return out
    begin = 0
    if not at_line_start:
        begin = data.find(b"\n") + 1
    for raw in data[begin:last + 1].split(b"\n")[:-1]:
        if not raw.strip():
            continue
        try:
            value = jsonsafe.loads(raw)
        except jsonsafe.BadJSON:
            out.skipped += 1
            continue
        if check(value):
            out.items.append(value)
        else:
            out.skipped += 1
    out.end = start + last + 1
    return out


def read_lines(folder: disk.SessionFolder, name: str, check: Callable[[Any], bool], *,
               window: int, start: int = 0) -> Lines:
    """The checked lines of folder/name from `start`, at most the last `window` bytes of it."""
    try:
        data, first, size = folder.tail(name, window, start)
    except disk.Refused as exc:
        return Lines(start=start, end=start, reason=None if exc.missing else str(exc))
    lines = parse_lines(data, first, check, at_line_start=first == start)
    lines.size = size
    return lines


def read_events(folder: disk.SessionFolder, start: int = 0, window: int = EVENTS_WINDOW) -> Lines:
    return read_lines(folder, EVENTS, event_ok, window=window, start=start)


def read_ledger(folder: disk.SessionFolder) -> Lines:
    try:
        data = folder.read(LEDGER, MAX_LEDGER_BYTES)
    except disk.Refused as exc:
        return Lines(reason=None if exc.missing else str(exc))
    lines = parse_lines(data, 0, ledger_ok, at_line_start=True)
    lines.size = len(data)
    return lines


def read_metadata(folder: disk.SessionFolder, rel: Any) -> dict[str, Any] | None:
    """metadata.json's title, description and tags, when the metadata step recorded it."""
    if rel != METADATA:
        return None
    try:
        meta = jsonsafe.loads(folder.read(METADATA, MAX_METADATA_BYTES))
    except (disk.Refused, jsonsafe.BadJSON):
        return None
    if not isinstance(meta, dict):
        return None
    tags = meta.get("tags")
    return {
        "title": meta.get("title") if isinstance(meta.get("title"), str) else None,
        "description": meta.get("description") if isinstance(meta.get("description"), str) else None,
        "tags": [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
    }


def notes(*named: tuple[str, Lines]) -> list[str]:
    return [n for n in (lines.note(name) for name, lines in named) if n]


def media_parts(rel: Any) -> Sequence[str] | None:
    """A recorded output path as path segments, or None when it is not a plain relative path."""
    if not isinstance(rel, str) or not rel:
        return None
    parts = rel.split("/")
    return None if any(p in ("", ".", "..") for p in parts) else parts
