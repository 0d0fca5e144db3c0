"""The socket side: a gate that holds waiting connections, and a thread per request in progress.

http.server's ThreadingHTTPServer gives each connection a thread from accept to close, so
3,000 half-open connections are 3,000 threads, and when they all close at once their wake-ups
fight over the GIL while other clients wait for seconds. Here one gate thread holds every
connection that is not in the middle of a request (a new one still sending its head, an idle
keep-alive one) in a selector, reads without blocking, and hands a connection to a worker
thread only once its whole head (and a small body) has arrived. A waiting connection that
closes costs the gate one recv and one close.

Anything a client does to its own connection (hang up mid-file, stop reading, send garbage)
ends that connection only; the server's error hook keeps such noise out of the console.
Every answer, including the ones http.server writes itself (400, 414, 431, 501, 505), goes
through App.refuse or App.handle, so it passes the Host check and carries the security headers.
"""

from __future__ import annotations

import collections
import re
import select
import selectors
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import typing
from typing import Any, Iterator

from .app import MAX_BODY, App
from .web import Headers, Request, Response

# Errors that only mean "the client went away".
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, socket.timeout)
MAX_HEAD = 64 * 1024 + 1024        # http.server refuses longer request lines and headers itself
WAIT_S = 60.0                      # how long a connection may wait for its next complete request
MAX_WAITING = 8192                 # beyond this (or near the descriptor limit) the longest-waiting one is closed
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*([0-9]{1,12})[ \t]*\r?$")
_EXPECT = re.compile(rb"(?im)^expect:")


def _body_needed(head: bytes) -> int:
    """Bytes of body to wait for after this head: its Content-Length when that is small
    enough to accept, else 0 (a bigger one is refused without reading it; "Expect:
    100-continue" waits for our answer before sending the body)."""
    length = _CONTENT_LENGTH.search(head)
    if length is None or _EXPECT.search(head):
        return 0
    n = int(length.group(1))
    return 0 if n > MAX_BODY else n


def request_ready(buf: bytes | bytearray) -> bool:
    """Whether buf holds a whole request head and the body it announces (see _body_needed)."""
    m = _HEAD_END.search(buf)
    if m is None:
        return len(buf) > MAX_HEAD           # too long to be a head: let http.server refuse it
    return len(buf) >= m.end() + _body_needed(bytes(buf[:m.end()]))


class _Input:
    """The handler's rfile: the bytes the gate already read, then the socket."""

    def __init__(self, sock: socket.socket, head: bytes) -> None:
        self._sock = sock
        self._buf = bytearray(head)

    def _fill(self) -> bool:
        data = self._sock.recv(65536)   # the handler's timeout applies
        self._buf += data
        return bool(data)

    def readline(self, limit: int = -1) -> bytes:
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i >= 0 and (limit < 0 or i < limit):
                return self._take(i + 1)
            if 0 <= limit <= len(self._buf):
                return self._take(limit)
            start = len(self._buf)
            if not self._fill():
                return self._take(len(self._buf))

    def read(self, n: int = -1) -> bytes:
        while (n < 0 or len(self._buf) < n) and self._fill():
            pass
        return self._take(len(self._buf) if n < 0 else min(n, len(self._buf)))

    def _take(self, n: int) -> bytes:
        out = bytes(self._buf[:n])
        del self._buf[:n]
        return out

    def pending(self) -> bytes:
        return bytes(self._buf)

    def close(self) -> None:
        pass


class _Waiting:
    """A connection at the gate: what it has sent so far, and until when it may wait."""

    __slots__ = ("sock", "addr", "buf", "deadline", "need")

    def __init__(self, sock: socket.socket, addr: Any, buf: bytes, deadline: float) -> None:
        self.sock, self.addr, self.buf, self.deadline = sock, addr, bytearray(buf), deadline
        self.need: int | None = None   # bytes that make the request whole, once the head is in

    def ready(self, before: int = 0) -> bool:
        """request_ready, scanning only what arrived since `before` bytes (a client sending
        one byte at a time must not cost a rescan of its whole head each time)."""
        if self.need is None:
            m = _HEAD_END.search(self.buf, max(0, before - 3))
            if m is None:
                return len(self.buf) > MAX_HEAD
            self.need = m.end() + _body_needed(bytes(self.buf[:m.end()]))
        return len(self.buf) >= self.need


class Gate:
    """One thread and a selector holding every connection that waits for a whole request."""

    def __init__(self, server: "StudioServer", wait_s: float = WAIT_S, max_waiting: int = MAX_WAITING) -> None:
        self.server = server
        self.wait_s = wait_s
        self.max_waiting = min(max_waiting, _descriptor_room())
        self._sel = selectors.DefaultSelector()
        self._waiting: "collections.OrderedDict[int, _Waiting]" = collections.OrderedDict()
        self._incoming: "collections.deque[_Waiting]" = collections.deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="studio-gate", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def park(self, sock: socket.socket, addr: Any, buffered: bytes = b"") -> None:
        """Hold sock until its next request is complete (any thread may call this)."""
        with self._lock:
            if self._closed:
                _close(sock)
                return
            self._incoming.append(_Waiting(sock, addr, buffered, time.monotonic() + self.wait_s))
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass   # the gate is awake already (its wake-up buffer is full)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._thread.join(5)

    # ------------------------------------------------------------------ the gate's thread

    def _run(self) -> None:
        try:
            while not self._closed:
                for key, _ in self._sel.select(timeout=1.0):
                    if key.data is None:
                        self._take_incoming()
                    else:
                        self._readable(key.data)
                self._expire(time.monotonic())
        finally:
            for w in list(self._waiting.values()) + list(self._incoming):
                _close(w.sock)
            self._waiting.clear()
            self._sel.close()
            self._wake_r.close()
            self._wake_w.close()

    def _take_incoming(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while True:
            with self._lock:
                if not self._incoming:
                    return
                w = self._incoming.popleft()
            if w.ready():
                self._dispatch(w)
                continue
            try:
                w.sock.setblocking(False)
                self._sel.register(w.sock, selectors.EVENT_READ, w)
            except (OSError, ValueError):
                _close(w.sock)
                continue
            self._waiting[w.sock.fileno()] = w
            while len(self._waiting) > self.max_waiting:
                self._drop(next(iter(self._waiting.values())))

    def _readable(self, w: _Waiting) -> None:
        try:
            data = w.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(w)                     # the client hung up while waiting
            return
        before = len(w.buf)
        w.buf += data
        if w.ready(before):
            self._unregister(w)
            self._dispatch(w)

    def _expire(self, now: float) -> None:
        while self._waiting:
            w = next(iter(self._waiting.values()))
            if w.deadline > now:
                return
            self._drop(w)

    def _unregister(self, w: _Waiting) -> None:
        self._waiting.pop(w.sock.fileno(), None)
        try:
            self._sel.unregister(w.sock)
        except (KeyError, ValueError, OSError):
            pass

    def _drop(self, w: _Waiting) -> None:
        self._unregister(w)
        _close(w.sock)

    def _dispatch(self, w: _Waiting) -> None:
        threading.Thread(target=self.server.work, args=(w.sock, w.addr, bytes(w.buf)),
                         name="studio-request", daemon=True).start()


def _descriptor_room(reserve: int = 256) -> int:
    """Descriptors the gate may fill with waiting connections, leaving room for files and streams."""
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return MAX_WAITING
    return MAX_WAITING if soft == resource.RLIM_INFINITY else max(64, soft - reserve)


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


class StudioServer(ThreadingHTTPServer):
    daemon_threads = True        # a stuck stream never blocks shutdown
    allow_reuse_address = True
    request_queue_size = 1024    # hundreds of clients connecting at once must not be refused

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self.gate = Gate(self)       # first: a failed bind calls server_close, which closes it
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, StudioHandler)
        host, port = self.server_address[:2]
        app.bind(str(host), int(port))

    def process_request(self, request: Any, client_address: Any) -> None:
        # No thread yet: the connection waits at the gate until its request is whole.
        self.gate.park(request, client_address)

    def work(self, sock: socket.socket, addr: Any, head: bytes) -> None:
        """A worker thread: answer the buffered request (and any pipelined after it), then
        hand a kept-alive connection back to the gate."""
        keep: bytes | None = None
        try:
            handler = StudioHandler(sock, addr, self, head)
            keep = handler.keep
        except Exception:  # noqa: BLE001 - one connection's failure is that connection's
            self.handle_error(sock, addr)
        if keep is None:
            self.shutdown_request(sock)
        else:
            self.gate.park(sock, addr, keep)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE):
            return
        if not self.app.config.quiet:
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        self.app.close()
        self.gate.close()
        super().server_close()


class StudioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed ACK that costs 40 ms a response.
    disable_nagle_algorithm = True
    server_version = "BadgerStudio"
    sys_version = ""
    # A client that stops reading (or stops sending a body it announced) times out instead
    # of holding a thread forever.
    timeout = 60
    server: StudioServer
    rfile: Any

    def __init__(self, request: Any, client_address: Any, server: StudioServer, head: bytes = b"") -> None:
        self._head = head
        self.keep: bytes | None = None   # set when the connection should go back to the gate
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        self.rfile.close()                    # the gate read the head; read on from our buffer
        self.rfile = _Input(self.connection, self._head)

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()
        while not self.close_connection:
            pending = self.rfile.pending()
            if not request_ready(pending):
                self.keep = pending           # wait for the next request at the gate
                return
            self.handle_one_request()         # a pipelined request that is already here

    def handle_one_request(self) -> None:
        self.headers = None  # type: ignore[assignment]  # an error page must not see the last request's
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.server.app.config.quiet:
            super().log_message(format, *args)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            # No headers at all, so no Host to check and no way to send ours: refuse it.
            self.send_error(400)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals, answered like ours (its HTML page echoed the request)."""
        # A request line too broken to name a version reads as HTTP/0.9, which would make
        # http.server leave out the status line and every header; answer in HTTP/1.1.
        self.request_version = self.protocol_version
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "error"
        headers = Headers(self.headers.items()) if self.headers is not None else None
        self._send(self.server.app.refuse(code, f"{code} {phrase}\n", headers), close=True)

    def _client_gone(self) -> bool:
        """True once the peer has closed its side (readable with nothing to read)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _handle(self) -> None:
        headers = Headers(self.headers.items())
        if "content-length" in headers.repeated or "transfer-encoding" in headers:
            # Only one plain body framing is accepted: anything else could hide a second request.
            self._send(self.server.app.refuse(400, "one Content-Length and no Transfer-Encoding\n", headers),
                       close=True)
            return
        raw = (headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():
            self._send(self.server.app.refuse(400, "bad Content-Length\n", headers), close=True)
            return
        length = int(raw)
        if length > MAX_BODY:
            self._send(self.server.app.refuse(413, "request body too large\n", headers), close=True)
            return
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, self.path, headers, body, self._client_gone)
        self._send(self.server.app.handle(req))

    def _send(self, resp: Response, close: bool = False) -> None:
        head_only = self.command == "HEAD"
        body = resp.body
        stream = not isinstance(body, bytes)
        try:
            self.send_response(resp.status)
            for k, v in resp.headers:
                self.send_header(k, v)
            if not stream:
                self.send_header("Content-Length", str(len(body)))  # type: ignore[arg-type]
            elif resp.length is not None:
                self.send_header("Content-Length", str(resp.length))
            else:
                close = True   # an open-ended stream ends when the connection does
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if head_only:
                return
            if not stream:
                self.wfile.write(body)  # type: ignore[arg-type]
                return
            for chunk in typing.cast(Iterator[bytes], body):
                if chunk:
                    self.wfile.write(chunk)
        except CLIENT_GONE:
            self.close_connection = True
        finally:
            if stream:
                body.close()  # type: ignore[union-attr]

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()


def make_server(app: App, host: str = "127.0.0.1", port: int = 8765) -> StudioServer:
    return StudioServer((host, port), app)
