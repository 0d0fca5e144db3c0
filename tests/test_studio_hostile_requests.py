"""Requests built to slip past the studio's guards: each answer is still guarded.

In-process where the point is the application, through a real socket where it is the socket
(http.server's own error pages, many connections at once).
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner import store
from studio.security import CSP
from studio.server import make_server
from studio.web import Headers, Request
from test_studio_support import HOST, ORIGIN, body_bytes, call, make_app, make_session, serving, sid

REPO = Path(__file__).resolve().parent.parent


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the server closes; (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def assert_guarded(headers: dict[str, str]) -> None:
    assert headers.get("content-security-policy") == CSP
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("cache-control") == "no-store"


# ------------------------------------------------------------------ http.server's own answers

@pytest.mark.parametrize("name, data, status", [
    ("bad request line", b"GARBAGE<script>\r\n\r\n", 400),
    ("request line too long", b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    ("header line too long", b"GET / HTTP/1.1\r\nHost: {host}\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n", 431),
    ("too many headers", b"GET / HTTP/1.1\r\nHost: {host}\r\n" + b"X-A: 1\r\n" * 120 + b"\r\n", 431),
    ("unknown method", b"BREW<script> / HTTP/1.1\r\nHost: {host}\r\n\r\n", 501),
    ("HTTP/2 request line", b"GET / HTTP/2.0\r\nHost: {host}\r\n\r\n", 505),
    ("body over the limit", b"POST /api/launch HTTP/1.1\r\nHost: {host}\r\nContent-Length: 99999999\r\n\r\n", 413),
    ("two Content-Lengths", b"POST /api/launch HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\n"
                            b"Content-Length: 4\r\n\r\n{}{}", 400),
    ("chunked body", b"POST /api/launch HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
])
def test_the_servers_own_error_answers_carry_the_security_headers(root, name, data, status):
    app = make_app(root)
    with serving(app) as (_, port):
        got, headers, body = raw_exchange(port, data.replace(b"{host}", f"127.0.0.1:{port}".encode()))
    assert got == status, name
    assert_guarded(headers)
    assert headers["content-type"].startswith("text/plain")
    assert b"<script>" not in body and b"<html" not in body.lower(), body[:200]


@pytest.mark.parametrize("data", [
    b"BREW / HTTP/1.1\r\nHost: evil.example:{port}\r\n\r\n",
    b"POST /api/launch HTTP/1.1\r\nHost: evil.example:{port}\r\nContent-Length: 99999999\r\n\r\n",
    b"POST /api/launch HTTP/1.1\r\nHost: evil.example:{port}\r\nContent-Length: x\r\n\r\n",
])
def test_the_servers_own_error_answers_still_refuse_a_foreign_host(root, data):
    app = make_app(root)
    with serving(app) as (_, port):
        got, headers, body = raw_exchange(port, data.replace(b"{port}", str(port).encode()))
    assert got == 403
    assert_guarded(headers)


def test_two_host_headers_are_a_bad_request(root):
    app = make_app(root)
    for pair in ([("Host", HOST), ("Host", "evil.example:8765")], [("Host", "evil.example:8765"), ("Host", HOST)],
                 [("Host", HOST), ("host", HOST)]):
        resp = app.handle(Request("GET", "/api/config", Headers(pair)))
        assert resp.status == 400 and app.token.encode() not in body_bytes(resp), pair
    with serving(app) as (_, port):
        got, headers, body = raw_exchange(port, f"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                                                f"Host: evil.example\r\n\r\n".encode())
        assert got == 400 and app.token.encode() not in body
        assert_guarded(headers)


def test_an_absolute_form_target_is_checked_like_host(root):
    app = make_app(root)
    for target in ("http://evil.example:8765/api/config", "http://evil.example/api/config",
                   "HTTP://127.0.0.1:9999/api/config"):
        resp = call(app, "GET", target)
        assert resp.status == 403 and app.token.encode() not in body_bytes(resp), target
    assert call(app, "GET", "http://127.0.0.1:8765/api/config").status == 200
    # Origin form is split by hand: "//host/x" is a path, not a host and a path.
    assert call(app, "GET", "//evil.example/api/config").status == 404
    assert call(app, "GET", "*").status == 400


@pytest.mark.parametrize("path", ["/%ff", "/js/%ff.js", "/media/{id}/%ff.png", "/media/{id}/art%E0%A4%A.png",
                                  "/media/{id}/%", "/media/{id}/%zz.png", "/api/sessions/%ff",
                                  "/media/{id}/tracks%2F01.wav", "/media/{id}/tracks%2f01.wav",
                                  "/media/{id}/artwork%2Epng", "/js%2Fviews.js"])
def test_bad_escapes_and_encoded_slashes_are_not_found(root, path):
    make_session(root, sid(1))
    folder = store.session_dir(root, sid(1))
    (folder / "tracks").mkdir()
    (folder / "tracks" / "01.wav").write_bytes(b"RIFF")
    (folder / "artwork.png").write_bytes(b"PNG")
    app = make_app(root)
    resp = call(app, "GET", path.format(id=sid(1)))
    assert resp.status == 404, (path, resp.status)
    assert call(app, "GET", f"/media/{sid(1)}/tracks/01.wav").status == 200


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"theme": ' + b"[" * 500 + b"]" * 500 + b"}",
                                  b'{"season": ' + b'{"a":' * 200 + b"1" + b"}" * 200 + b"}"])
def test_a_deeply_nested_body_is_a_bad_request(root, body):
    make_session(root, sid(1), status="interrupted")
    app = make_app(root)
    for path in ("/api/launch", f"/api/sessions/{sid(1)}/resume", f"/api/sessions/{sid(1)}/approve"):
        resp = call(app, "POST", path, body=body, write=True)
        assert resp.status == 400, (path, resp.status)
        assert "nested" in resp.json()["error"]
    assert app.launcher.children() == []


def test_every_api_refusal_says_no_store(root):
    app = make_app(root)
    refusals = [
        call(app, "GET", "/api/config", headers={"Host": "evil.example:8765"}),
        call(app, "GET", "/api/sessions", headers={"Sec-Fetch-Site": "cross-site"}),
        call(app, "DELETE", "/api/sessions"),
        call(app, "POST", "/api/sessions", write=True),
        call(app, "GET", "/api/nope"),
        call(app, "GET", "/api/sessions?limit=x"),
        call(app, "GET", f"/api/sessions/{sid(9)}"),
        call(app, "POST", "/api/launch", body={"theme": "x"}, write=True, headers={"Origin": "http://evil"}),
        call(app, "POST", "/api/launch", body=b"x=1", write=True, headers={"Content-Type": "text/plain"}),
        call(app, "POST", "/api/launch", body=b"{" * 70_000, write=True),
        call(app, "GET", "/api/estimate"),
    ]
    for resp in refusals:
        assert resp.status >= 400
        assert resp.header("Cache-Control") == "no-store", resp.status
        assert resp.header("Content-Security-Policy") == CSP


def test_the_stream_cap_is_exact_under_300_simultaneous_connects(root):
    app = make_app(root, max_streams=200, stream_poll_s=0.05)
    with serving(app) as (_, port):
        socks = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(300)]
        try:
            request = f"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
            # Every request is on the wire before any answer is read.
            for s in socks:
                s.sendall(request)
            statuses = []
            for s in socks:
                line = b""
                while not line.endswith(b"\r\n"):
                    line += s.recv(1)
                statuses.append(int(line.split()[1]))
            assert statuses.count(200) == 200 and statuses.count(503) == 100, sorted(set(statuses))
            assert app.hub.subscribers == 200
        finally:
            for s in socks:
                s.close()
        deadline = time.monotonic() + 10
        while app.hub.subscribers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.hub.subscribers == 0


def test_a_head_request_for_the_stream_gives_its_slot_back(root):
    app = make_app(root, max_streams=1)
    resp = call(app, "HEAD", "/api/stream")
    assert resp.status == 200 and app.hub.subscribers == 1
    resp.body.close()  # what the server does with every streamed body, iterated or not
    assert app.hub.subscribers == 0
    assert call(app, "GET", "/api/stream").status == 200


def _raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        pytest.skip(f"needs {need} file descriptors; the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))


def _half_open(port: int, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # a head that never ends
        socks.append(s)
    return socks


def test_waiting_connections_hold_no_thread(root):
    _raise_fd_limit(7000)
    app = make_app(root)
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    socks: list[socket.socket] = []
    try:
        socks = _half_open(server.server_address[1], 3000)
        deadline = time.monotonic() + 30
        while server.gate.waiting < 3000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.gate.waiting == 3000
        workers = [t for t in threading.enumerate() if t.name == "studio-request"]
        assert workers == []
        for s in socks:
            s.close()
        deadline = time.monotonic() + 30
        while server.gate.waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.gate.waiting == 0
    finally:
        for s in socks:
            s.close()
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_3000_half_open_connections_closing_at_once_do_not_stall_others(root):
    """A real `python -m studio` process; a client must be answered within a second throughout."""
    _raise_fd_limit(7000)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "studio", "--port", "0", "--root", str(root), "--no-launcher"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    try:
        port = int(proc.stdout.readline().decode().strip().rstrip("/").rsplit(":", 1)[1])  # type: ignore[union-attr]
        socks = _half_open(port, 3000)
        failures: list[str] = []
        answered = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
                        s.sendall(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                                  f"Connection: close\r\n\r\n".encode())
                        if not s.recv(64).startswith(b"HTTP/1.1 200"):
                            failures.append("not 200")
                    answered.append(1)
                except OSError as exc:       # socket.timeout after 1 s is a stall
                    failures.append(repr(exc))
                stop.wait(0.01)

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            while not answered:
                time.sleep(0.01)
            for s in socks:
                s.close()
            before = len(answered)
            stop.wait(3.0)
        finally:
            stop.set()
            prober.join()
        assert failures == [] and len(answered) > before + 10
    finally:
        proc.terminate()
        proc.wait(10)
