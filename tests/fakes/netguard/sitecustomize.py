"""Loaded by a runner subprocess in the paid tests (PYTHONPATH): loopback only, or fail and tell.

Any DNS lookup of a name other than localhost, or any connection to an address outside
127.0.0.0/8 and ::1, raises an OSError and is appended to the file named by
BADGER_NETGUARD_LOG, which the test then asserts is empty. Unix sockets are left alone.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("BADGER_NETGUARD_LOG")


def _note(what: str) -> None:
    if _LOG:
        with open(_LOG, "a") as fh:
            fh.write(what + "\n")


def _loopback_host(host) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    host = str(host).strip("[]").split("%")[0]
    if host in ("localhost", "localhost.", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if _LOG:
    _getaddrinfo = socket.getaddrinfo
    _connect = socket.socket.connect
    _connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback_host(host):
            _note(f"getaddrinfo {host}")
            raise socket.gaierror(socket.EAI_NONAME, f"netguard: {host} is not loopback")
        return _getaddrinfo(host, *args, **kwargs)

    def _check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback_host(address[0]):
            _note(f"connect {address[0]}:{address[1]}")
            raise ConnectionRefusedError(f"netguard: {address[0]} is not loopback")

    def connect(self, address):
        _check(self, address)
        return _connect(self, address)

    def connect_ex(self, address):
        _check(self, address)
        return _connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
