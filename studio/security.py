"""The studio's guards: who may talk to it, who may change anything, and what the browser may do.

Threat model: the server listens on loopback, so the attackers are web pages open in the same
browser. DNS rebinding lets a foreign page reach 127.0.0.1 under its own host name, so every
request must carry one of our own Host values. A cross-site form or fetch can send a write
without reading the answer, so writes need same origin, a per-process token only our page
can read, and a JSON content type (which a form cannot send without a CORS preflight we never
grant).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from .web import Headers

TOKEN_HEADER = "X-Studio-Token"

# script-src 'self' with no 'unsafe-inline': the page's code comes only from our files.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Guard:
    """Checks for one server: the host and port it is reachable at, and its token."""

    host: str
    port: int
    token: str

    def allowed_hosts(self) -> frozenset[str]:
        names = {self.host.lower(), "localhost", "127.0.0.1"}
        if ":" in self.host and not self.host.startswith("["):
            names.add(f"[{self.host.lower()}]")  # an IPv6 literal appears bracketed in Host
        return frozenset(f"{n}:{self.port}" for n in names)

    def host_ok(self, headers: Headers, authority: str | None = None) -> bool:
        """The Host header names us, with our port (a rebinding page's Host names itself).

        An absolute-form request target ("GET http://host:port/x") carries a second host,
        which HTTP says wins over the header; both must be ours.
        """
        hosts = self.allowed_hosts()
        host = (headers.get("Host") or "").strip().lower()
        return host in hosts and (authority is None or authority.strip().lower() in hosts)

    def origin_ok(self, headers: Headers) -> bool:
        """A write comes from our own page: an Origin of ours, and no cross-site fetch metadata.

        Browsers send Origin on every POST, so its absence means a non-browser client, which
        must then send a matching Origin like the page does.
        """
        site = headers.get("Sec-Fetch-Site")
        if site is not None and site != "same-origin":
            return False
        origin = (headers.get("Origin") or "").strip().lower()
        return origin in {f"http://{h}" for h in self.allowed_hosts()}

    def read_ok(self, headers: Headers) -> bool:
        """API reads: refuse requests a browser labels as coming from another site.

        A cross-site page cannot read our answers anyway (no CORS), but some reads start
        work (the estimate spawns a process), so they are refused outright.
        """
        return headers.get("Sec-Fetch-Site") in (None, "same-origin", "none")

    def token_ok(self, headers: Headers) -> bool:
        sent = headers.get(TOKEN_HEADER) or ""
        return hmac.compare_digest(sent.encode(), self.token.encode())


def is_json_content_type(value: str | None) -> bool:
    return (value or "").split(";")[0].strip().lower() == "application/json"
