"""The socket side: ThreadingHTTPServer turning connections into App requests and back.

One thread per connection (the event stream holds its connection open). Anything a client
does to its own connection (hang up mid-file, stop reading, send garbage) ends that thread
only; the server's error hook keeps such noise out of the console.
"""

from __future__ import annotations

import select
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .app import MAX_BODY, App
from .web import Headers, Request, Response

# Errors that only mean "the client went away".
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError, socket.timeout)


class StudioServer(ThreadingHTTPServer):
    daemon_threads = True        # a stuck stream never blocks shutdown
    allow_reuse_address = True
    request_queue_size = 128     # 50+ streams connecting at once must not be refused

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, StudioHandler)
        host, port = self.server_address[:2]
        app.bind(str(host), int(port))

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE):
            return
        if not self.app.config.quiet:
            super().handle_error(request, client_address)

    def server_close(self) -> None:
        self.app.close()
        super().server_close()


class StudioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's
    # delayed ACK that costs 40 ms a response.
    disable_nagle_algorithm = True
    server_version = "BadgerStudio"
    sys_version = ""
    # A client that stops reading (or never finishes its request) times out instead of
    # holding a thread forever.
    timeout = 60
    server: StudioServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.server.app.config.quiet:
            super().log_message(format, *args)

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
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self._send(Response(400, [("Content-Type", "text/plain")], b"bad Content-Length"), close=True)
            return
        if length > MAX_BODY or length < 0:
            self._send(Response(413, [("Content-Type", "text/plain")], b"request body too large"), close=True)
            return
        body = self.rfile.read(length) if length else b""
        req = Request(self.command, self.path, Headers(self.headers.items()), body, self._client_gone)
        resp = self.server.app.handle(req)
        self._send(resp)

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
            for chunk in body:  # type: ignore[union-attr]
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
