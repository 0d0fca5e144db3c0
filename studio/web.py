"""Plain request and response values, so the application can be driven without a socket.

The HTTP glue (studio/server.py) turns a socket into a Request and writes a Response back;
tests build Requests by hand and read Responses directly. Nothing here does I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping
from urllib.parse import parse_qs, urlsplit


class Headers:
    """Case-insensitive, single-valued request headers (the last value wins).

    `repeated` names the headers sent more than once, so a guard can refuse two Host headers
    instead of trusting whichever one a parser kept.
    """

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._d: dict[str, str] = {}
        repeated = set()
        for k, v in pairs:
            name = k.lower()
            if name in self._d:
                repeated.add(name)
            self._d[name] = v
        self.repeated: frozenset[str] = frozenset(repeated)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._d.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._d


@dataclass
class Request:
    method: str
    target: str                      # the raw request target: path plus query string
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    # Asked by long-lived responses (the event stream) whether the peer has hung up.
    client_gone: Callable[[], bool] = lambda: False

    def __post_init__(self) -> None:
        if not isinstance(self.headers, Headers):
            self.headers = Headers(self.headers)
        self.path, self.authority, query = split_target(self.target)
        self.query = parse_qs(query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def args(self, name: str) -> list[str]:
        """All values of a repeated or comma-separated parameter, blanks dropped."""
        out: list[str] = []
        for v in self.query.get(name, []):
            out.extend(p.strip() for p in v.split(",") if p.strip())
        return out


def split_target(target: str) -> tuple[str, str | None, str]:
    """(path, authority or None, query) of a request target (RFC 9112 section 3.2).

    Origin form ("/a?b") is split by hand: urlsplit would read "//evil/x" as a host. Absolute
    form ("http://host:port/a") yields its authority, which the Host guard checks like a Host
    header. Anything else (authority form, "*", garbage) gets the path "", which no route has.
    """
    if target.startswith("/"):
        path, _, query = target.partition("?")
        return path, None, query
    if target[:7].lower() == "http://":
        parts = urlsplit(target)
        return parts.path or "/", parts.netloc, parts.query
    return "", None, ""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    # bytes for ordinary answers; an iterator for files and the event stream.
    body: bytes | Iterator[bytes] = b""
    # For iterator bodies: the length when known (files); None means "until the connection
    # closes" (the event stream), which the server marks with Connection: close.
    length: int | None = None
    # A JSON value not yet encoded: App.handle has studio/door.py encode (and redact) it.
    data: Any = None
    has_data: bool = False

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self) -> Any:
        """The decoded body (tests and callers that already know it is JSON)."""
        assert isinstance(self.body, bytes)
        return json.loads(self.body)


def dumps(obj: Any) -> bytes:
    # ensure_ascii keeps U+2028/2029 and friends escaped; compact separators keep pages small.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def json_response(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON answer; its body is encoded (and redacted) by the door when the app finishes it."""
    return Response(status, [("Content-Type", "application/json; charset=utf-8"), *(headers or [])],
                    data=obj, has_data=True)


def error(status: int, message: str, **extra: Any) -> Response:
    return json_response({"error": message, **extra}, status)
