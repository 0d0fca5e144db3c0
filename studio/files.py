"""Serving files safely: path checks, secret-name refusal, HTTP Range and chunked reading.

Both the static front-end and the session media go through here, so the rules that keep a
request inside its folder are written once.
"""

from __future__ import annotations

import os
import re
from email.utils import formatdate
from pathlib import Path
from typing import Iterator

from .web import Response

CHUNK = 256 * 1024

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


def resolve_inside(base: Path, parts: list[str]) -> Path | None:
    """base/parts as a real regular file whose real path stays inside base's real path.

    A symlink is followed only if its target is still inside base, so a link planted in a
    session folder cannot reach ~/.ssh or the project's .env.
    """
    try:
        real_base = base.resolve(strict=True)
        target = base.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if target == real_base or real_base not in target.parents:
        return None
    if is_secret_name(target.name) or not target.is_file():
        return None
    return target


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


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        left = length
        while left > 0:
            data = fh.read(min(CHUNK, left))
            if not data:
                break  # the file shrank under us; the client sees a short body
            left -= len(data)
            yield data


def file_response(path: Path, content_type: str, range_header: str | None = None,
                  if_none_match: str | None = None, cache: str = "no-cache") -> Response:
    """200, 206, 304 or 416 for a file already checked by resolve_inside."""
    st = path.stat()
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
        return Response(304, headers)
    rng = parse_range(range_header, size)
    if rng == "unsatisfiable":
        return Response(416, [*headers, ("Content-Range", f"bytes */{size}")], b"")
    if rng is None:
        return Response(200, headers, _read(path, 0, size), length=size)
    first, last = rng  # type: ignore[misc]
    length = last - first + 1
    return Response(206, [*headers, ("Content-Range", f"bytes {first}-{last}/{size}")],
                    _read(path, first, length), length=length)
