"""A small threaded HTTP(S) server on 127.0.0.1, port 0, that the fakes build on.

Each fake subclasses FakeService and implements handle(req) -> Reply. Every request is
recorded (method, path, query, headers, body size), and `fail(route, *statuses)` queues
error answers for the next requests on a route, which is how tests inject a 429 or a 500.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .tls import TLSFiles


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    route: str = ""

    def json(self) -> Any:
        return json.loads(self.body or b"{}")

    def q(self, name: str, default: str | None = None) -> str | None:
        return (self.query.get(name) or [default])[0]


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Send only this many body bytes, call hold() (which blocks), then the rest: a cut stream.
    hold_after: int | None = None
    hold: Any = None

    @classmethod
    def json(cls, obj: Any, status: int = 200, **headers: str) -> "Reply":
        return cls(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **headers})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, handler, tls: ssl.SSLContext | None):
        self.tls = tls
        super().__init__(addr, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.tls is not None:
            # Handshake in the handler's thread, so one slow client never blocks accept().
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request, client_address):  # a killed client is expected; stay quiet
        pass


class FakeService:
    """Base of the fakes: start() serves in a thread; stop() shuts down."""

    name = "fake"

    def __init__(self, tls: TLSFiles | None = None):
        self.tls = tls
        self.requests: list[Request] = []
        self.lock = threading.RLock()
        self.busy = 0  # requests being answered right now (idle() waits for none)
        self._failures: dict[str, deque[tuple[int, Any]]] = defaultdict(deque)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "FakeService":
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                if isinstance(self.request, ssl.SSLSocket):
                    self.request.settimeout(10)
                    self.request.do_handshake()
                    self.request.settimeout(None)
                super().setup()

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _dispatch(self):
                with service.lock:
                    service.busy += 1
                try:
                    self._answer()
                finally:
                    with service.lock:
                        service.busy -= 1

            def _answer(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self._read(length)
                req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body)
                try:
                    reply = service._handle(req, self)
                except Exception as exc:  # a bug in a fake must be loud in the test, not a hang
                    reply = Reply.json({"error": f"fake crashed: {type(exc).__name__}: {exc}"}, 599)
                if reply is None:  # the fake dropped the connection on purpose
                    self.close_connection = True
                    return
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        if reply.hold_after is not None and reply.hold is not None:
                            self.wfile.write(reply.body[:reply.hold_after])
                            self.wfile.flush()
                            reply.hold()
                            self.wfile.write(reply.body[reply.hold_after:])
                        else:
                            self.wfile.write(reply.body)
                except OSError:
                    self.close_connection = True

            def _read(self, length: int) -> bytes:
                chunks, left = [], length
                while left > 0:
                    try:
                        chunk = self.rfile.read(min(left, 1 << 20))
                    except OSError:
                        break
                    if not chunk:
                        break
                    chunks.append(chunk)
                    left -= len(chunk)
                return b"".join(chunks)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

        ctx = self.tls.server_context() if self.tls else None
        self._server = _Server(("127.0.0.1", 0), Handler, ctx)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-fake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    # -- requests ---------------------------------------------------------------------------

    def fail(self, route: str, *statuses: int, body: Any = None) -> None:
        """The next len(statuses) requests on route get these statuses instead of an answer."""
        with self.lock:
            for status in statuses:
                self._failures[route].append((status, body))

    def idle(self) -> bool:
        """No request is being answered: what the fake has taken will not change any more."""
        with self.lock:
            return self.busy == 0

    def count(self, route: str, **match: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.route == route
                       and all(r.path.endswith(v) if k == "path_end" else r.q(k) == v for k, v in match.items()))

    def routed(self, route: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.route == route]

    def _handle(self, req: Request, handler: BaseHTTPRequestHandler) -> Reply | None:
        req.route = self.route(req)
        with self.lock:
            self.requests.append(req)
            queued = self._failures.get(req.route)
            failure = queued.popleft() if queued else None
        if failure is not None:
            status, body = failure
            return Reply.json(body if body is not None else {"detail": f"injected {status}"}, status)
        return self.handle(req)

    def route(self, req: Request) -> str:  # pragma: no cover - overridden
        return req.path

    def handle(self, req: Request) -> Reply | None:  # pragma: no cover - overridden
        return Reply(404)
