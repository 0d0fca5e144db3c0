"""The network guard every test runs under: nothing leaves loopback (the charter's rule).

A run started in-process (cli.main) with a paid provider must never reach the real service,
even when a check that should have stopped it first is broken; a subprocess run gets the same
guard from the sitecustomize in tests/fakes (see harness.py).
"""

from __future__ import annotations

import ipaddress
import socket

import pytest


def is_loopback(host: object) -> bool:
    """True for None/'' (the local end), 'localhost' and loopback addresses (v4 or v6, bytes or str)."""
    if host is None:
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    text = text.strip("[]").split("%")[0]
    if text in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def guard_sockets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Refuse DNS lookups and connections beyond loopback in this process; returns the list
    each refused attempt is appended to (the caller fails the test when it is not empty)."""
    tried: list[str] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not is_loopback(host):
            tried.append(f"getaddrinfo {host}")
            raise socket.gaierror(socket.EAI_NONAME, "test: not loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            tried.append(f"connect {address}")
            raise ConnectionRefusedError("test: not loopback")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return tried
