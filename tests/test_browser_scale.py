"""10,000 sessions in the Sessions table: the body is virtualised and paged by the server, so
the page holds a few dozen rows whatever the total, and filtering, sorting and scrolling to
the far end all work. Timings live in bench/dashboard.py, not here (no timed assertions).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_helpers import InProcessStudio, chromium, open_page, require_browser, seed_many  # noqa: F401

pytestmark = pytest.mark.browser
COUNT = 10_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessStudio]:
    require_browser()
    # tmpfs when there is one: ten thousand folders cost seconds on a busy disk.
    shm = Path("/dev/shm")
    root = Path(tempfile.mkdtemp(prefix="studio-10k-", dir=shm)) if shm.is_dir() else tmp_path_factory.mktemp("10k")
    try:
        seed_many(root, COUNT)
        studio = InProcessStudio(root)
        studio.app.warm_up().join(60)
        try:
            yield studio
        finally:
            studio.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.loads(r.read())


def test_ten_thousand_rows_stay_virtual_and_reach_both_ends(open_page: Any, big: InProcessStudio) -> None:
    page, console = open_page(big.url)
    page.goto("/sessions")
    page.wait_for_selector(".vrow[data-id]")
    assert page.locator(".toolbar__count strong").inner_text() == "10,000"
    assert page.locator(".vrow").count() < 80          # a window of rows, not ten thousand
    assert page.locator(".vtable").get_attribute("aria-rowcount") == str(COUNT + 1)

    # The far end: the oldest session, fetched as its block comes into view.
    oldest = api(big.url, f"/api/sessions?offset={COUNT - 1}&limit=1")["items"][0]["id"]
    page.evaluate("() => { const s = document.querySelector('.vrows'); s.scrollTop = s.scrollHeight; }")
    page.wait_for_selector(f".vrow[data-id='{oldest}']")
    assert page.locator(f".vrow[aria-rowindex='{COUNT + 1}']").get_attribute("data-id") == oldest
    assert page.locator(".vrow").count() < 80

    # Filter and sort over all ten thousand (the server does the work).
    failed = api(big.url, "/api/sessions?status=failed&limit=1")["total"]
    page.get_by_role("button", name="Failed only").click()
    page.wait_for_function("n => { const s = document.querySelector('.toolbar__count strong');"
                           " return !!s && s.textContent === n }", arg=f"{failed:,}")
    assert page.locator(".vrow[data-id] .badge").first.inner_text() == "Failed"
    top = api(big.url, "/api/sessions?status=failed&sort=-spent_usd&limit=1")["items"][0]["id"]
    page.locator("button.sort[data-sort=spent_usd]").click()
    page.wait_for_selector(f".vrow[aria-rowindex='2'][data-id='{top}']")
    assert page.locator(".vrow").count() < 80
    console.assert_clean()
