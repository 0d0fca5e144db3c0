"""docs/api.md documents every route, stream event and refusal the studio has."""

from __future__ import annotations

import re

from helpers import REPO
from studio.app import App, Config
from studio.reader import ROW_FIELDS

DOC = (REPO / "docs" / "api.md").read_text()


def _doc_path(pattern: str) -> str:
    return pattern.replace(r"\.", ".").replace("(?P<id>[0-9]{8}-[0-9]{6}-[a-z0-9][a-z0-9-]{0,60})", "&lt;id&gt;")


def test_every_api_route_is_documented(tmp_path):
    app = App(Config(root=tmp_path))
    for method, pattern, _ in app.routes:
        path = _doc_path(pattern.pattern)
        assert f"{method} {path}" in DOC, f"{method} {path}"


def test_every_row_field_is_documented():
    for field in ROW_FIELDS:
        assert f'"{field}"' in DOC, field


def test_every_stream_event_and_refusal_reason_is_documented():
    source = "".join(p.read_text() for p in (REPO / "studio").glob("*.py"))
    for event in set(re.findall(r'publish\("([a-z_]+)"', source)) | {"hello", "reset", "heartbeat"}:
        assert f"| `{event}` |" in DOC, event
    for reason in set(re.findall(r'Refused\(\d+, "([a-z_]+)"', source)):
        assert f"`{reason}`" in DOC, reason
