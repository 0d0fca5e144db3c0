"""The Series view in real headless Chromium: the plan's calendar with where each entry stands,
today's spend against the daily budget, today's quota and the disk; and the sessions table
filtered by series from it, the filter kept in the URL."""

from __future__ import annotations

from typing import Any

import pytest

from browser_helpers import InProcessStudio, chromium, new_page  # noqa: F401 - fixtures are found by name
from series_helpers import NOW, seed_series

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("series-root")
    (root / "sessions").mkdir()
    (root / "logs").mkdir()
    seed_series(root, tmp_path_factory.mktemp("plan"))
    from helpers import params
    from runner import sessions

    sessions.create(root, params(theme="not in a series"), clock=lambda: NOW)
    studio = InProcessStudio(root, now=lambda: NOW)
    try:
        yield studio
    finally:
        studio.stop()


def test_the_series_view_shows_the_calendar_budget_quota_and_disk(chromium: Any, channel: Any) -> None:
    ctx, page, console = new_page(chromium, channel.url)
    try:
        page.goto("/series")
        card = page.locator("section.card--series")
        card.wait_for()
        assert card.locator("h2").text_content() == "Night Desk"
        assert page.locator("nav.nav a[aria-current=page]").inner_text() == "Series"
        rows = card.locator("tbody tr")
        assert rows.count() == 7
        got = [(rows.nth(i).locator("td").nth(0).inner_text(), rows.nth(i).get_attribute("data-status"))
               for i in range(7)]
        assert got == [("2026-12-01", "published"), ("2026-12-02", "published"), ("2026-12-03", "scheduled"),
                       ("2026-12-04", "failed"), ("2026-12-05", "making"), ("2026-12-06", "planned"),
                       ("2026-12-07", "planned")]
        scheduled = rows.nth(2)
        assert "Scheduled for 18:00" in scheduled.inner_text()
        assert scheduled.locator("a.cal__yt").get_attribute("href") == "https://www.youtube.com/watch?v=vid00000003"
        assert "render: ffmpeg failed" in rows.nth(3).inner_text()
        # Today's spend against the daily budget (two sessions made today: $0.50 + $0.35 of $1.50).
        meter = card.locator(".series__today [role=meter]")
        assert meter.get_attribute("aria-valuenow") == "0.85" and meter.get_attribute("aria-valuemax") == "1.5"
        assert "of the $1.50 daily budget" in card.locator(".series__today").inner_text()
        # Today's YouTube quota, and the disk the sessions hold.
        quota = page.locator("section.card--quota")
        assert quota.locator("[role=meter]").nth(0).get_attribute("aria-label") == "Uploads: 1 of 100"
        assert quota.locator("[role=meter]").nth(1).get_attribute("aria-label") == "Units: 151 of 10,000"
        assert "resets" in quota.inner_text()
        disk = page.locator("section.card--disk")
        assert int(disk.locator("[data-bytes]").get_attribute("data-bytes")) > 25_000
        assert "held by 6 sessions" in disk.inner_text()

        # From the plan to its sessions: the table filtered by series, the filter in the URL.
        card.locator("a", has_text="Its sessions").click()
        page.wait_for_url("**/sessions?series=night-desk")
        page.wait_for_function("() => (document.querySelector('.toolbar__count') || {}).textContent"
                               "?.startsWith('5 of 6 sessions')")
        chip = page.locator("button.chip--series")
        assert chip.is_visible() and "night-desk" in chip.text_content()
        assert "series night-desk" in page.locator(".vrow").first.text_content()
        page.reload()  # the filter survives a reload: it lives in the URL
        page.wait_for_function("() => (document.querySelector('.toolbar__count') || {}).textContent"
                               "?.startsWith('5 of 6 sessions')")
        page.locator("button.chip--series").click()
        page.wait_for_function("() => (document.querySelector('.toolbar__count') || {}).textContent"
                               "?.startsWith('6 of 6 sessions')")
        assert "series=" not in page.url
        console.assert_clean("on the Series view and the filtered sessions table")
    finally:
        ctx.close()


def test_the_series_view_has_no_serious_or_critical_axe_violation(chromium: Any, channel: Any) -> None:
    from browser_helpers import axe_violations, require_axe

    require_axe()
    ctx, page, _ = new_page(chromium, channel.url, reduced_motion="reduce")
    try:
        page.goto("/series")
        page.locator("section.card--series tbody tr").first.wait_for()
        found = axe_violations(page)
        assert not found, "axe on the Series view:\n" + "\n".join(found)
    finally:
        ctx.close()


def test_a_series_session_page_names_its_series_entry_and_disk(chromium: Any, channel: Any) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(channel.url + "/api/sessions?series=night-desk&limit=1", timeout=10) as r:
        row = json.loads(r.read())["items"][0]
    ctx, page, console = new_page(chromium, channel.url)
    try:
        page.goto(f"/sessions/{row['id']}")
        link = page.locator("dl.facts a", has_text="night-desk")
        link.wait_for()
        assert link.text_content() == f"night-desk · {row['entry']}"
        assert link.get_attribute("href") == "/sessions?series=night-desk"
        disk = page.locator("dl.facts div", has=page.locator("dt", has_text="Disk"))
        assert disk.locator("dd").text_content().endswith(("KB", "MB"))
        console.assert_clean("on a series session's page")
    finally:
        ctx.close()
