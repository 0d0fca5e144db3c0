"""Serving files safely: path checks, secret-name refusal, HTTP Range, read from the descriptor.

Both the static front-end and the session media go through here, so the rules that keep a
request inside its folder are written once; the opening itself is studio/disk.py's.
"""

from __future__ import annotations

import os
import re
from email.utils import formatdate
from pathlib import Path

from . import disk
from .web import Response

# Names never served, whatever an allowlist says: the runner's secrets live next to the data.
_SECRET_NAME_RE = re.compile(
    r"(?i)(^\.env|\.env$|client_secrets?|token|secret|credential|\.pem$|\.key$|\.p12$|id_rsa|id_ed25519)"
)
# One path segment: no leading dot (hidden files, "." and ".."), no separators, no NUL.
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME_RE.search(name))


def split_safe(raw_path: str) -> list[str] | None:
    """A URL path tail as its segments, or None if any segment is suspicious.

    Every name the studio serves is spelled in plain characters, so a path holding any
    percent-escape is refused outright: no encoded slash, dot or NUL ever reaches the file
    system, and a malformed escape ("%ff", "%zz") is a 404 like any unknown name.
    """
    if "%" in raw_path:
        return None
    parts = raw_path.split("/")
    if not parts or any(not _SEGMENT_RE.fullmatch(p) for p in parts):
        return None
    if any(is_secret_name(p) for p in parts):
        return None
    return parts


def open_inside(base: Path, parts: list[str], *, one_link: bool = True) -> disk.Opened | None:
    """base/parts opened as a checked regular file (studio/disk.py), or None.

    No link is followed anywhere below base, so nothing planted there can reach ~/.ssh or
    the project's .env; names that look like secrets are refused whatever they hold.
    """
    if any(is_secret_name(p) for p in parts):
        return None
    try:
        base_fd = disk.open_dir(base)
    except disk.Refused:
        return None
    try:
        return disk.open_at(base_fd, parts, one_link=one_link)
    except disk.Refused:
        return None
    finally:
        os.close(base_fd)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for a single satisfiable byte range; None to send the whole
    file (no header, a form we do not serve such as several ranges); "unsatisfiable" for 416.
    """
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m:
        return None  # multi-range or another unit: ignoring Range is allowed (RFC 9110 14.2)
    first_s, last_s = m.groups()
    if not first_s and not last_s:
        return None
    if not first_s:  # suffix range: the last N bytes
        n = int(last_s)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if first >= size or (last_s and last < first):
        return "unsatisfiable"
    return first, min(last, size - 1)


class FileBody:
    """A response body read from an open descriptor; closing it (the server always does,
    also for a HEAD or 304 it never read) closes the file."""

    def __init__(self, f: disk.Opened, offset: int, length: int) -> None:
        self._f = f
        self._chunks = f.chunks(offset, length)

    def __iter__(self) -> "FileBody":
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._f.close()


def file_response(f: disk.Opened, content_type: str, range_header: str | None = None,
                  if_none_match: str | None = None, cache: str = "no-cache") -> Response:
    """200, 206, 304 or 416 for a file opened by open_inside, served from that descriptor.

    Every answer carries the file as its body (empty for 304 and 416) so that the server's
    close() of the body closes the file.
    """
    st = f.st
    size = st.st_size
    etag = f'"{st.st_mtime_ns:x}-{size:x}"'
    headers = [
        ("Content-Type", content_type),
        ("Accept-Ranges", "bytes"),
        ("ETag", etag),
        ("Last-Modified", formatdate(st.st_mtime, usegmt=True)),
        ("Cache-Control", cache),
    ]
    if if_none_match and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(304, headers, FileBody(f, 0, 0), length=0)
    rng = parse_range(range_header, size)
    if isinstance(rng, str):   # "unsatisfiable"
        return Response(416, [*headers, ("Content-Range", f"bytes */{size}")], FileBody(f, 0, 0), length=0)
    if rng is None:
        return Response(200, headers, FileBody(f, 0, size), length=size)
    first, last = rng
    length = last - first + 1
    return Response(206, [*headers, ("Content-Range", f"bytes {first}-{last}/{size}")],
                    FileBody(f, first, length), length=length)
