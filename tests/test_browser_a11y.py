"""Every view of the dashboard passes axe-core with no serious or critical violation.

axe-core (the npm package, installed by .ci/run) runs inside real Chromium over the seeded
root: each view once it has drawn its data, the launcher modal open, and the page for an
unknown session.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any, Callable

import pytest

from browser_helpers import (  # noqa: F401 - fixtures are found by name
    axe_violations, chromium, media_sets, open_page, require_axe, seeded,
)

pytestmark = pytest.mark.browser


def first_id(base: str, status: str) -> str:
    with urllib.request.urlopen(f"{base}/api/sessions?status={status}&limit=1", timeout=10) as r:
        return json.loads(r.read())["items"][0]["id"]


def open_launcher(page: Any) -> None:
    page.keyboard.press("n")
    page.wait_for_selector(".estimate [data-estimate]")


# (name, path (the session status it needs, if any), what shows the view has drawn, then)
VIEWS: list[tuple[str, str, str, Callable[[Any], None] | None]] = [
    ("overview", "/", ".kpi__value[data-kpi=sessions]", None),
    ("sessions", "/sessions", ".vrow[data-id]", None),
    ("gallery", "/gallery", ".tile", None),
    ("session", "/sessions/{completed}", ".card--meta .tag", None),
    ("failed session", "/sessions/{failed}", "[data-action=resume]", None),
    ("live", "/live/{awaiting_review}", ".loglines--live .logline", None),
    ("logs", "/logs", ".logline", None),
    ("launcher", "/", ".kpi__value", open_launcher),
    ("unknown session", "/sessions/20200101-000000-gone", ".empty, .detail__title", None),
]


@pytest.mark.parametrize("name,path,ready,then", VIEWS, ids=[v[0] for v in VIEWS])
def test_view_has_no_serious_or_critical_axe_violation(open_page: Any, seeded: Any, name: str, path: str,
                                                       ready: str, then: Callable[[Any], None] | None) -> None:
    require_axe()
    studio, _ = seeded
    if "{" in path:
        status = path[path.index("{") + 1:path.index("}")]
        path = path.replace("{" + status + "}", first_id(studio.url, status))
    page, _ = open_page(studio.url, reduced_motion="reduce")
    page.goto(path)
    page.wait_for_selector(ready)
    if then:
        then(page)
    found = axe_violations(page)
    assert not found, f"axe on {name} ({path}):\n" + "\n".join(found)
