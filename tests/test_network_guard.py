"""The suite-wide guard: a test that reaches for an address beyond loopback is refused."""

from __future__ import annotations

import socket

import pytest

from fakes.loopback import guard_sockets, is_loopback


def test_lookups_and_connections_beyond_loopback_are_refused_and_recorded(monkeypatch):
    tried = guard_sockets(monkeypatch)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("queue.fal.run", 443)
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("203.0.113.7", 443))
    assert tried == ["getaddrinfo queue.fal.run", "connect ('203.0.113.7', 443)"]


def test_loopback_stays_reachable(monkeypatch):
    tried = guard_sockets(monkeypatch)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()):
            pass
    assert socket.getaddrinfo("localhost", 80) and tried == []


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), (b"localhost", True), ("[::1]", True),
                                            ("10.0.0.1", False), ("queue.fal.run", False), ("127.0.0.1.nip.io", False)])
def test_what_counts_as_loopback(host, loopback):
    assert is_loopback(host) is loopback
