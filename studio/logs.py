"""Reading logs/runner.log in bounded pieces: a page backwards from an offset, or forwards.

A log can be gigabytes (or a sparse file of zeros), so every read here has a byte budget:
it never holds more than one block plus one line, and a request that filters out most lines
stops after scanning `scan_budget` bytes and tells the caller where to continue. Lines longer
than MAX_LINE come in pieces, so one enormous "line" cannot defeat the budget; each piece is
redacted before it is shown or searched, and what touches a cut is hidden (a key cut in two
is no longer key-shaped). Backwards reading is store.scan_back, the monitor's reader too.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from runner import store

from . import disk
from .redact import Redactor

BLOCK = store.LOG_BLOCK
MAX_LINE = store.MAX_LOG_LINE
DEFAULT_LIMIT = 200
MAX_LIMIT = 2000
DEFAULT_SCAN_BUDGET = 8 * 1024 * 1024
PAYLOAD_CAP = 512 * 1024     # bytes of message text in one answer
LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARN", "ERROR")


def _blank(data: bytes) -> bool:
    # Sparse holes read as NUL bytes; a "line" made only of them is not a log record.
    return not data.strip(b"\x00 \t\r")


def line_boundary_before(fh: Any, end: int) -> int:
    """`end`, or the start of the line it falls inside (looking back at most MAX_LINE bytes)."""
    if end <= 0:
        return 0
    lo = max(0, end - MAX_LINE)
    fh.seek(lo)
    data = fh.read(end - lo)
    k = data.rfind(b"\n")
    if k == len(data) - 1:
        return end
    return lo + k + 1 if k >= 0 else (0 if lo == 0 else end)


def scan_forward(fh: Any, start: int, size: int, budget: int) -> Iterator[store.LineSpan]:
    """Complete lines from `start` onwards, oldest first, reading at most ~budget bytes.

    An unfinished last line is left for the next read: the runner may be writing it now.
    """
    skipping = False
    if start > 0:
        fh.seek(start - 1)
        # Started inside a line: skip to the next one rather than show half a record.
        skipping = fh.read(1) != b"\n"
    fh.seek(start)
    pos = start
    stop = min(size, start + budget)
    carry = b""
    carry_start = start
    head_out = False     # the beginning of the line in carry went out as a piece already
    while pos < stop:
        block = fh.read(min(BLOCK, stop - pos))
        if not block:
            break
        pos += len(block)
        buf = carry + block          # covers [carry_start, pos)
        begin = 0
        if skipping:
            nl = buf.find(b"\n")
            if nl < 0:
                yield store.LineSpan(carry_start, pos, b"", True)
                carry, carry_start = b"", pos
                continue
            yield store.LineSpan(carry_start, carry_start + nl + 1, b"", True)
            begin = nl + 1
            skipping = False
        nl = buf.find(b"\n", begin)
        while nl >= 0:
            yield from store.line_pieces(carry_start + begin, buf[begin:nl + 1], head_out=head_out)
            head_out = False
            begin = nl + 1
            nl = buf.find(b"\n", begin)
        carry_start += begin
        carry = buf[begin:]
        while len(carry) > MAX_LINE:
            yield store.LineSpan(carry_start, carry_start + MAX_LINE, carry[:MAX_LINE], head_out, True)
            carry_start += MAX_LINE
            carry = carry[MAX_LINE:]
            head_out = True


class LogReader:
    def __init__(self, root: Path, redactor: Redactor) -> None:
        self.path = store.log_path(root)
        self.redactor = redactor

    def parse(self, raw: store.LineSpan) -> dict[str, Any]:
        """A line (or piece) as the API shows it, its message redacted before anything
        searches it; a piece is redacted with its cut edges hidden (Redactor.cut)."""
        text = raw.data.decode("utf-8", "replace").replace("\x00", "")
        # Only a line's own beginning is a record: the middle of a long line that looks like
        # one must not pass for another session's line.
        rec = store.parse_log_line(text) if not raw.head_cut else {"message": text}
        msg = rec.get("message") or ""
        return {
            "offset": raw.start,
            "end": raw.end,
            "time": rec.get("time"),
            "level": rec.get("level"),
            "session": rec.get("session"),
            "step": rec.get("step"),
            "message": self.redactor.cut(msg, head=raw.head_cut, tail=raw.tail_cut) if raw.partial
            else self.redactor.text(msg),
            "partial": raw.partial,
        }

    def _open(self) -> disk.Opened | None:
        """logs/runner.log through studio/disk.py: no link, a regular file with one link."""
        try:
            logs_fd = disk.open_dir(self.path.parent)
        except disk.Refused:
            return None
        try:
            return disk.open_at(logs_fd, [self.path.name])
        except disk.Refused:
            return None
        finally:
            os.close(logs_fd)

    def size(self) -> int:
        f = self._open()
        if f is None:
            return 0
        with f:
            return f.size

    def page(self, *, before: int | None = None, after: int | None = None, limit: int = DEFAULT_LIMIT,
             levels: frozenset[str] = frozenset(), session: str | None = None, text: str = "",
             scan_budget: int = DEFAULT_SCAN_BUDGET, payload_cap: int = PAYLOAD_CAP) -> dict[str, Any]:
        """A page of parsed, redacted lines, oldest first.

        Without `after`: the newest lines ending at or before `before` (default: end of file).
        With `after`: the oldest lines starting at or after it (following a live log).
        """
        want: Callable[[dict[str, Any]], bool] = lambda r: (
            (not levels or r["level"] in levels)
            and (session is None or r["session"] == session)
            and (not text or text in r["message"].lower())
        )
        f = self._open()
        if f is None:
            return {"lines": [], "size": 0, "start": 0, "end": 0, "has_more_before": False,
                    "has_more_after": False, "truncated": False, "rotated": False}
        # Below one block plus one line a scan could end before showing a single line.
        scan_budget = max(scan_budget, 2 * BLOCK + MAX_LINE)
        with f, io.FileIO(f.fd, "rb", closefd=False) as fh:
            size = f.size
            lines: list[dict[str, Any]] = []
            used = 0
            truncated = False
            rotated = False
            if after is not None:
                if after > size:   # the log was truncated or replaced: start again
                    after, rotated = 0, True
                cursor = after
                for raw in scan_forward(fh, after, size, scan_budget):
                    cursor = raw.end
                    if _blank(raw.data):
                        continue
                    rec = self.parse(raw)
                    if not want(rec):
                        continue
                    used += len(rec["message"])
                    if len(lines) >= limit or used > payload_cap:
                        truncated = True
                        cursor = raw.start
                        break
                    lines.append(rec)
                return {"lines": lines, "size": size, "start": after, "end": cursor,
                        "has_more_before": after > 0, "has_more_after": cursor < size,
                        "truncated": truncated, "rotated": rotated}
            end = size if before is None else max(0, min(before, size))
            # Never end a page inside a line, so that "after=end" later resumes on a boundary.
            end = line_boundary_before(fh, end)
            cursor = end
            for raw in store.scan_back(fh, end, scan_budget):
                if _blank(raw.data):
                    cursor = raw.start
                    continue
                rec = self.parse(raw)
                if not want(rec):
                    cursor = raw.start
                    continue
                used += len(rec["message"])
                if len(lines) >= limit or used > payload_cap:
                    truncated = True
                    break
                lines.append(rec)
                cursor = raw.start
            lines.reverse()
            return {"lines": lines, "size": size, "start": cursor, "end": end,
                    "has_more_before": cursor > 0, "has_more_after": end < size,
                    "truncated": truncated, "rotated": False}
