"""The front-end's files: a fixed allowlist, and the page routes that answer with index.html.

This table is the one place to extend when the front-end grows a new kind of file. A request
that matches no row is a 404: there are no directory listings and no fallbacks to "any file
under static/".
"""

from __future__ import annotations

import re
from pathlib import Path

from .door import Door
from .files import file_response, open_inside, split_safe
from .web import Response

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}"

# (URL path pattern, content type). The pattern's match is the path under static/.
STATIC_ALLOWLIST: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"index\.html"), "text/html; charset=utf-8"),
    (re.compile(r"app\.js"), "text/javascript; charset=utf-8"),
    (re.compile(r"(?:js/)(?:" + _NAME + r"/)?" + _NAME + r"\.m?js"), "text/javascript; charset=utf-8"),
    (re.compile(r"(?:css/)?" + _NAME + r"\.css"), "text/css; charset=utf-8"),
    (re.compile(r"img/" + _NAME + r"\.svg"), "image/svg+xml"),
    (re.compile(r"img/" + _NAME + r"\.png"), "image/png"),
    (re.compile(r"img/" + _NAME + r"\.jpe?g"), "image/jpeg"),
    (re.compile(r"img/" + _NAME + r"\.webp"), "image/webp"),
    (re.compile(r"(?:img/)?favicon\.(?:ico|svg|png)"), "image/x-icon"),
    (re.compile(r"fonts/" + _NAME + r"\.woff2"), "font/woff2"),
    (re.compile(r"manifest\.webmanifest"), "application/manifest+json"),
)
# Client-side routes that load the app (so a reload of /sessions?status=failed works).
PAGE_ROUTES: tuple[re.Pattern[str], ...] = (
    re.compile(r"/"),
    re.compile(r"/(?:overview|sessions|series|gallery|live|logs)/?"),
    re.compile(r"/sessions?/[0-9]{8}-[0-9]{6}-[a-z0-9-]{1,61}/?"),
    re.compile(r"/live/[0-9]{8}-[0-9]{6}-[a-z0-9-]{1,61}/?"),
)
TOKEN_PLACEHOLDER = "{{studio_token}}"
MAX_INDEX_BYTES = 1024 * 1024


def content_type_for(rel: str) -> str | None:
    for pattern, ctype in STATIC_ALLOWLIST:
        if pattern.fullmatch(rel):
            return ctype
    return None


def is_page_route(path: str) -> bool:
    return any(p.fullmatch(path) for p in PAGE_ROUTES)


def serve_index(static_dir: Path, token: str, door: Door) -> Response | None:
    """index.html with the per-process token filled in (the page reads it from a <meta>)."""
    f = open_inside(static_dir, ["index.html"], one_link=False)
    if f is None:
        return None
    with f:
        if f.size > MAX_INDEX_BYTES:
            return None
        html = door.html(f.read_all().decode("utf-8", "replace"), TOKEN_PLACEHOLDER, token)
    # no-store: the page carries this process's token, which changes on every restart.
    return Response(200, [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")], html)


def serve_static(static_dir: Path, url_path: str, range_header: str | None = None,
                 if_none_match: str | None = None) -> Response | None:
    """A response for an allowlisted file under static_dir, or None (the caller answers 404)."""
    rel = url_path.lstrip("/")
    parts = split_safe(rel)
    if parts is None:
        return None
    rel = "/".join(parts)
    ctype = content_type_for(rel)
    if ctype is None:
        return None
    # The front-end is ours, not data: a file installed as a hard link may be served.
    f = open_inside(static_dir, parts, one_link=False)
    if f is None:
        return None
    return file_response(f, ctype, range_header, if_none_match)
