"""The dashboard in real headless Chromium over a seeded sessions root.

Every view renders without a console error. Filters, sorting, exports, the gallery, the session
page's media, the logs
and the launcher modal (keyboard only) are driven the way a person would.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from typing import Any

import pytest

from browser_helpers import (  # noqa: F401 - fixtures are found by name
    SEED_PLAN, chromium, media_sets, new_page, open_page, seeded, wait_until,
)

pytestmark = pytest.mark.browser

NAV = ["Overview", "Sessions", "Series", "Gallery", "Live", "Logs"]


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


def rows(base: str, **params: str) -> list[dict[str, Any]]:
    q = "&".join(f"{k}={v}" for k, v in params.items())
    return api(base, f"/api/sessions?limit=1000&{q}")["items"]


def wait_count(page: Any, n: int) -> None:
    """Wait until the table says it shows n sessions."""
    page.wait_for_function("n => { const s = document.querySelector('.toolbar__count strong');"
                           " return !!s && s.textContent === String(n) }", arg=n)


@pytest.fixture()
def page(chromium: Any, seeded: Any) -> Any:
    studio, _ = seeded
    ctx, pg, console = new_page(chromium, studio.url)
    pg.console = console
    yield pg
    ctx.close()


def test_shell_nav_labels_and_launcher_button(page: Any) -> None:
    page.goto("/")
    assert page.locator("nav.nav a").all_inner_texts() == NAV
    assert page.locator("#launch").inner_text().strip() == "Start pipeline"
    assert page.locator("#launch").get_attribute("type") == "button"
    page.console.assert_clean("on load")


def test_overview_renders_kpis_chart_ring_and_seasons(page: Any, seeded: Any) -> None:
    studio, ids = seeded
    k = api(studio.url, "/api/kpis")
    page.goto("/")
    page.wait_for_selector(".kpi__value[data-kpi=sessions]")
    # The count-up lands on the server's numbers.
    page.wait_for_function("() => document.querySelector('[data-kpi=sessions]').textContent === String(%d)" % k["sessions"])
    page.wait_for_function("() => document.querySelector('[data-kpi=tracks]').textContent === %s"
                           % json.dumps(f"{k['tracks_rendered']:,}"))
    assert page.locator(".hero__title").inner_text()
    bars = page.locator(".chart--cost a.bar")
    assert bars.count() == len(k["series"])
    statuses = {c.split("bar--")[1] for c in bars.evaluate_all("els => els.map(e => e.getAttribute('class'))")}
    assert {"completed", "failed", "halted_budget"} <= statuses
    assert page.locator(".chart__cap line").count() == 1
    assert "cap $2.00" in page.locator(".chart__cap text").text_content()
    assert page.locator(".ring__value").inner_text().endswith("%")
    assert page.locator(".card--seasons .share").count() == 4
    page.console.assert_clean("on the overview")


def test_overview_bar_click_and_keyboard_open_the_session(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    series = api(studio.url, "/api/kpis")["series"]
    page.goto("/")
    bar = page.locator(".chart--cost a.bar").nth(2)
    bar.click()
    page.wait_for_url(re.compile(r"/sessions/" + re.escape(series[2]["id"]) + "$"))
    page.wait_for_selector(".detail__title")
    page.go_back()
    # Keyboard: one tab stop for the chart, arrows move along the bars, Enter opens.
    last = page.locator(".chart--cost a.bar[tabindex='0']")
    last.focus()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/sessions/" + re.escape(series[1]["id"]) + "$"))
    page.console.assert_clean()


def test_sessions_table_filters_sort_and_url(page: Any, seeded: Any) -> None:
    studio, ids = seeded
    page.goto("/sessions")
    page.wait_for_selector(".vrow[data-id]")
    total = len(ids)
    assert page.locator(".toolbar__count strong").inner_text() == str(total)
    headers = page.locator(".vtable__head [role=columnheader]").all_text_contents()
    assert [h.strip(" ↑↓") for h in headers] == ["Status", "Theme", "Season", "Length", "Tracks", "Spend / cap", "Started", "Duration", "Disk"]

    # "Failed only": into the URL, and exactly the failed rows.
    page.get_by_role("button", name="Failed only").click()
    page.wait_for_url(re.compile(r"status=failed"))
    n_failed = SEED_PLAN.count("failed")
    wait_count(page, n_failed)
    assert page.locator(".vrow[data-id] .badge").all_inner_texts() == ["Failed"] * n_failed

    # A reload keeps the filter (it lives in the URL).
    page.reload()
    page.wait_for_selector(".vrow[data-id]")
    assert page.get_by_role("button", name="Failed only").get_attribute("aria-pressed") == "true"
    assert page.locator(".vrow[data-id]").count() == n_failed

    # Season chips and search narrow further; both land in the URL.
    page.get_by_role("button", name="Failed only").click()
    page.locator(".chip[data-season=winter]").click()
    page.wait_for_url(re.compile(r"season=winter"))
    expect = rows(studio.url, season="winter")
    wait_count(page, len(expect))
    page.fill("input[name=q]", "cabin")
    page.wait_for_url(re.compile(r"q=cabin"))
    expect = rows(studio.url, season="winter", q="cabin")
    wait_count(page, len(expect))
    assert sorted(page.locator(".vrow[data-id]").evaluate_all("e => e.map(x => x.dataset.id)")) == sorted(r["id"] for r in expect)

    # Sorting by spend, descending then ascending.
    page.get_by_role("button", name="Clear filters").first.click()
    page.locator("button.sort[data-sort=spent_usd]").click()
    page.wait_for_url(re.compile(r"sort=-spent_usd"))
    top = rows(studio.url, sort="-spent_usd")[0]["id"]
    page.wait_for_function(f"() => document.querySelector('.vrow[data-id]') && document.querySelector('.vrow[data-id]').dataset.id === '{top}'")
    assert page.locator("[role=columnheader][aria-sort=descending]").text_content().startswith("Spend")
    page.locator("button.sort[data-sort=spent_usd]").click()
    page.wait_for_url(re.compile(r"sort=spent_usd"))
    page.console.assert_clean()


def test_exports_are_exactly_the_filtered_view(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    page.goto("/sessions?status=completed&season=summer&sort=-spent_usd")
    page.wait_for_selector(".vrow[data-id]")
    shown = page.locator(".vrow[data-id]").evaluate_all("e => e.map(x => x.dataset.id)")
    assert shown and len(shown) == len(rows(studio.url, status="completed", season="summer"))

    with page.expect_download() as dl:
        page.locator("a[data-export=csv]").click()
    d = dl.value
    assert d.suggested_filename.endswith(".csv")
    text = open(d.path(), encoding="utf-8-sig").read()
    got = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in got] == shown
    assert {r["status"] for r in got} == {"completed"} and {r["season"] for r in got} == {"summer"}

    with page.expect_download() as dl:
        page.locator("a[data-export=json]").click()
    body = json.loads(open(dl.value.path(), encoding="utf-8").read())
    assert [r["id"] for r in body["items"]] == shown
    assert body["filters"]["status"] == ["completed"] and body["filters"]["sort"] == "-spent_usd"
    page.console.assert_clean()


def test_gallery_cards_ribbons_lazy_thumbnails_and_click(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    page.goto("/gallery")
    page.wait_for_selector(".tile")
    imgs = page.locator(".tile__img")
    assert imgs.count() > 5
    assert set(imgs.evaluate_all("e => e.map(i => i.loading)")) == {"lazy"}
    all_rows = rows(studio.url)
    uploaded = [r for r in all_rows if r["youtube_url"]]
    assert page.locator(".ribbon--yt").count() == len(uploaded)
    assert page.locator(".ribbon--loop").count() == sum(1 for r in all_rows if r["has_loop"])
    assert "1h" in page.locator(".ribbon--len").all_text_contents()
    page.wait_for_function("() => [...document.querySelectorAll('.tile__img')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0)")
    first = page.locator(".tile").first
    target = first.get_attribute("href")
    first.click()
    page.wait_for_url(re.compile(re.escape(target) + "$"))
    page.wait_for_selector(".detail__title")
    page.console.assert_clean()


def test_session_detail_media_tracks_timeline_ledger(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    done = next(r for r in rows(studio.url, status="completed") if r["youtube_url"] and r["provider"] == "fal")
    page.goto(f"/sessions/{done['id']}")
    page.wait_for_selector(".detail__title")
    assert page.locator(".stage__art").is_visible()
    # The loop plays (muted autoplay) and the final video seeks (the server answers Range).
    page.wait_for_function("() => { const v = document.querySelector('.stage__loop'); return v && !v.paused && v.readyState >= 2 }")
    seek = page.evaluate("""async () => {
        const v = document.querySelector('video.player');
        if (v.readyState < 1) await new Promise(r => v.addEventListener('loadedmetadata', r, { once: true }));
        v.currentTime = 4;
        await new Promise(r => v.addEventListener('seeked', r, { once: true }));
        return { t: v.currentTime, d: v.duration, ranges: v.seekable.length };
    }""")
    assert seek["ranges"] >= 1 and abs(seek["t"] - 4) < 0.5 and seek["d"] > 5
    yt = page.get_by_role("link", name=re.compile("Open on YouTube"))
    assert yt.get_attribute("href") == done["youtube_url"] and yt.get_attribute("rel") == "noopener noreferrer"
    assert page.locator(".track").count() == done["tracks_rendered"]
    assert "fal-ai/minimax-music/v2" in page.locator(".track__prov").first.inner_text()
    assert page.locator(".timeline .tl").count() > 5
    assert page.locator(".ledger tbody tr").count() >= 3
    assert page.locator("[data-action]").count() == 0   # nothing to approve or resume
    assert page.locator(".card--meta .tag").count() >= 3 and "00:00" in page.locator(".meta__desc").inner_text()
    page.evaluate("document.querySelector('video.player').currentTime = 1.5")
    page.console.assert_clean()


def test_session_actions_approve_and_resume_are_offered(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    review = rows(studio.url, status="awaiting_review")[0]
    page.goto(f"/sessions/{review['id']}")
    page.wait_for_selector(".detail__title")
    assert page.locator("[data-action=approve]").inner_text().strip() == "Approve upload"
    assert page.locator("[data-action=resume]").count() == 0
    failed = rows(studio.url, status="failed")[0]
    page.goto(f"/sessions/{failed['id']}")
    page.wait_for_selector("[data-action=resume]")
    assert page.locator(".notice--error").first.is_visible()
    halted = rows(studio.url, status="halted_budget")[0]
    page.goto(f"/sessions/{halted['id']}")
    page.wait_for_selector("[data-action=resume]")
    assert "cap" in page.locator(".notice--amber").inner_text()
    page.console.assert_clean()


def test_unreadable_session_is_shown_not_crashed(page: Any, seeded: Any) -> None:
    studio, ids = seeded
    broken = ids[-1]
    page.goto(f"/sessions/{broken}")
    page.wait_for_selector(".detail__title")
    assert page.locator(".badge.s-unreadable").count() == 1
    page.console.assert_clean()


def test_live_view_draws_the_rail_for_a_session(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    review = rows(studio.url, status="awaiting_review")[0]
    page.goto("/live")
    # With nothing running, Live shows the session most in motion (awaiting review here).
    page.wait_for_function(f"() => document.querySelector('.live__title') && document.querySelector('.live__title').textContent === {json.dumps(review['theme'])}")
    steps = page.locator(".rail__step")
    assert steps.evaluate_all("e => e.map(x => x.dataset.step)") == [
        "variation", "artwork", "motion", "music", "render", "metadata", "upload"]
    assert steps.evaluate_all("e => e.map(x => x.dataset.status)") == ["done"] * 6 + ["pending"]
    assert re.match(r"[\d.]+ s|\d+m \d+s", page.locator(".rail__step[data-step=music] .rail__time").inner_text())
    page.wait_for_selector(".conn.conn--connected")
    assert page.locator(".live__actions [data-action=approve]").inner_text().strip() == "Approve upload"
    assert page.locator(".capbar").get_attribute("data-level") in ("ok", "amber", "red")
    assert page.locator(".loglines--live .logline").count() > 5
    page.console.assert_clean()


def test_live_cap_bar_colours_amber_and_red(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    by_ratio = {r["id"]: r["spend_ratio"] for r in rows(studio.url) if r["spend_ratio"] is not None}
    amber = next(i for i, v in by_ratio.items() if 0.7 <= v < 0.9)
    red = next(i for i, v in by_ratio.items() if v >= 0.9)
    low = next(i for i, v in by_ratio.items() if 0 < v < 0.7)
    for sid, level in ((amber, "amber"), (red, "red"), (low, "ok")):
        page.goto(f"/live/{sid}")
        page.wait_for_selector(f".capbar[data-level={level}]")
    page.console.assert_clean()


def test_logs_levels_search_session_marker_follow(page: Any, seeded: Any) -> None:
    studio, _ = seeded
    page.goto("/logs")
    page.wait_for_selector(".logline")
    assert page.locator(".logline .lvl--debug").count() > 0
    page.locator(".chip[data-level=ERROR]").click()
    page.wait_for_url(re.compile(r"level=ERROR"))
    page.wait_for_function("() => [...document.querySelectorAll('.logline .lvl')].length > 0 && [...document.querySelectorAll('.logline .lvl')].every(b => b.textContent === 'ERROR')")
    page.locator(".chip[data-level=ERROR]").click()
    page.fill("input[type=search]", "quieter than")
    page.wait_for_url(re.compile(r"q=quieter"))
    page.wait_for_function("() => [...document.querySelectorAll('.logline__msg')].every(m => m.textContent.includes('quieter than'))")
    assert page.locator(".logline").count() >= 1
    page.fill("input[type=search]", "")
    # Take a marker only once the unfiltered lines are back: one read from the filtered list
    # could be replaced between reading its text and clicking it.
    page.wait_for_function("() => !location.search.includes('q=') && [...document.querySelectorAll('.logline__msg')]"
                           ".some(m => !m.textContent.includes('quieter than'))")
    # A session marker narrows to that session.
    marker = page.locator(".logline__session").first
    sid = marker.inner_text()
    marker.click()
    page.wait_for_url(re.compile(r"session=" + re.escape(sid)))
    page.wait_for_function(f"() => [...document.querySelectorAll('.logline__session')].every(m => m.textContent === {json.dumps(sid)})")
    # Follow and pause: the new filter's lines are followed again, even though the scroll
    # that brought the marker into view paused following.
    btn = page.locator(".btn--follow")
    page.wait_for_selector(".btn--follow[aria-pressed=true]")
    btn.click()
    assert btn.get_attribute("aria-pressed") == "false" and "Follow" in btn.inner_text()
    btn.click()
    assert btn.get_attribute("aria-pressed") == "true"
    page.console.assert_clean()


def test_logs_follow_new_lines_from_the_stream(page: Any, seeded: Any) -> None:
    studio, ids = seeded
    from runner import store

    page.goto("/logs")
    page.wait_for_selector(".logline")
    page.wait_for_selector("#conn.conn--connected")
    # A watcher's first tick takes the log's end as its start: append after one more tick.
    ticked = studio.app.watcher.ticks
    wait_until(lambda: studio.app.watcher.ticks > ticked, "the studio's watcher to tick")
    line = store.format_log_line("WARN", ids[0], "render", "a brand new line from the runner")
    with open(store.log_path(studio.app.root), "a", encoding="utf-8") as fh:
        fh.write(line)
    page.wait_for_selector("text=a brand new line from the runner", timeout=8000)
    # Paused: new lines wait behind a "new lines" button instead of moving the page.
    page.locator(".btn--follow").click()
    with open(store.log_path(studio.app.root), "a", encoding="utf-8") as fh:
        fh.write(store.format_log_line("INFO", ids[0], "render", "arrived while paused"))
    page.wait_for_selector(".logs__jump:not([hidden])", timeout=8000)
    assert page.locator("text=arrived while paused").count() == 0
    page.locator(".logs__jump").click()
    page.wait_for_selector("text=arrived while paused")
    page.console.assert_clean()


def test_launcher_modal_with_the_keyboard_alone(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector(".kpi__value")
    # Tab from the top of the page to the launcher button, open it with Enter.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "launch":
            break
    assert page.evaluate("document.activeElement.id") == "launch"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.modal")
    assert dialog.is_visible()
    assert page.evaluate("document.activeElement.name") == "theme"

    # Submitting empty shows the message next to the theme and keeps focus there.
    page.keyboard.press("Enter")
    err = page.locator("[data-error-for=theme]")
    assert "theme" in err.inner_text().lower()
    assert page.locator("input[name=theme]").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "theme"
    page.keyboard.type("midnight tram")
    assert err.inner_text() == ""

    # Season radios move with the arrow keys.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "season"
    before = page.evaluate("document.activeElement.value")
    page.keyboard.press("ArrowRight")
    after = page.evaluate("document.activeElement.value")
    assert after != before and page.locator(f"input[name=season][value={after}]").is_checked()

    # Walk on to tracks and type a bad value: an inline message appears.
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "tracks":
            break
    assert page.evaluate("document.activeElement.name") == "tracks"
    page.keyboard.press("Control+A")
    page.keyboard.type("99")
    assert "1 to 30" in page.locator("[data-error-for=tracks]").inner_text()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    assert page.locator("[data-error-for=tracks]").inner_text() == ""

    # The estimate and the cap show before starting.
    page.wait_for_selector(".estimate [data-estimate]")
    assert "cap" in page.locator(".estimate").inner_text()
    for _ in range(3):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "provider":
            break
    page.keyboard.press("ArrowRight")     # fal: a paid estimate
    page.wait_for_function("() => Number(document.querySelector('.estimate [data-estimate]').dataset.estimate) > 0")

    # Escape closes, and focus goes back to the button that opened it.
    page.keyboard.press("Escape")
    assert not dialog.is_visible()
    assert page.evaluate("document.activeElement.id") == "launch"
    # "n" opens it again from anywhere.
    page.keyboard.press("n")
    assert dialog.is_visible()
    page.keyboard.press("Escape")
    page.console.assert_clean()


def test_reduced_motion_is_honoured(open_page: Any, seeded: Any) -> None:
    studio, _ = seeded
    pg, console = open_page(studio.url, reduced_motion="reduce")
    k = api(studio.url, "/api/kpis")
    pg.goto("/")
    pg.wait_for_selector(".kpi__value[data-kpi=sessions]")
    # No count-up: the final number is there at once.
    assert pg.locator("[data-kpi=sessions]").inner_text() == str(k["sessions"])
    dur = pg.evaluate("getComputedStyle(document.querySelector('.hero__art')).animationDuration")
    assert float(dur.rstrip("ms").rstrip("s") or 0) < 0.01
    pg.goto(f"/sessions/{rows(studio.url, status='completed')[0]['id']}")
    pg.wait_for_selector(".stage__toggle")
    assert pg.evaluate("document.querySelector('.stage__loop').paused")   # waits for a click
    console.assert_clean()


@pytest.mark.parametrize("width,height", [(360, 740), (768, 1024), (3840, 2160)])
def test_responsive_without_horizontal_scroll(open_page: Any, seeded: Any, width: int, height: int) -> None:
    studio, _ = seeded
    pg, console = open_page(studio.url, width=width, height=height)
    done = rows(studio.url, status="completed")[0]["id"]
    # Each view once its data is drawn (what could overflow).
    paths = [("/", ".kpi__value[data-kpi=sessions]"), ("/sessions", ".vrow[data-id]"), ("/gallery", ".tile"),
             ("/live", ".rail__step"), ("/logs", ".logline"), (f"/sessions/{done}", ".card--meta .tag")]
    # Every view on the phone, where overflow is likeliest; a sample on the larger screens.
    for path, ready in paths if width < 400 else paths[::3]:
        pg.goto(path)
        pg.wait_for_selector(ready)
        overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
    if width == 3840:
        assert pg.evaluate("getComputedStyle(document.documentElement).fontSize") == "26px"
    console.assert_clean(f"at {width}px")
