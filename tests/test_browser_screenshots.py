"""The README's pictures, taken from real sessions made by the keyless runner.

`python -m runner run` (local providers: no keys, no network, $0) fills a data root with short
sessions, then one more is watched on the Live view while it runs. The studio serves that root and Chromium visits every view, which must show
those sessions (their count, their artwork, their tracks). The pictures go to a temporary
folder; `python -m pytest tests/test_browser_screenshots.py --update-screenshots` writes them to
docs/screenshots/ instead, from five sessions (one stopped for review) for a fuller picture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_helpers import (  # noqa: F401 - fixtures are found by name
    README_SCREENSHOTS, REPO, InProcessStudio, chromium, open_page, require_browser, screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# (theme, season, atmosphere, extra options): the first always, all for --update-screenshots.
RUNS = [
    ("rainy night in the city", "autumn", "rain", []),
    ("snow on the cabin roof", "winter", "fireplace", ["--review"]),
    ("late train home", "spring", "rain", []),
    ("midnight ramen stand", "summer", "cafe", []),
    ("forest lookout at dusk", "autumn", "forest", []),
]
LIVE = ("harbour lights at dawn", "winter", "rain")
# The shortest session (one track of 6 s) for the check; a little longer ones for the pictures.
SHORT = ["--minutes", "0.1", "--tracks", "1", "--no-upload"]
PICTURE = ["--minutes", "0.5", "--tracks", "3", "--no-upload"]


def runner(root: Path, theme: str, season: str, atmosphere: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.Popen([sys.executable, "-m", "runner", "run", "--theme", theme, "--season", season,
                             "--atmosphere", atmosphere, *extra, "--root", str(root)],
                            cwd=str(root), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc: subprocess.Popen[str], what: str, timeout: float = 300) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}: {(err or out).strip()[-1500:]}"


def api(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def shots(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if request.config.getoption("--update-screenshots"):
        return README_SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def real_root(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root holding sessions the runner really made, two at a time (two cores)."""
    require_browser()
    root = tmp_path_factory.mktemp("real-root")
    (root / "sessions").mkdir()
    (root / "logs").mkdir()
    update = request.config.getoption("--update-screenshots")
    runs, length = (RUNS, PICTURE) if update else (RUNS[:1], SHORT)
    for pair in (runs[i:i + 2] for i in range(0, len(runs), 2)):
        procs = [(runner(root, theme, season, atmosphere, *length, *extra), theme)
                 for theme, season, atmosphere, extra in pair]
        for proc, theme in procs:
            finish(proc, f"python -m runner run --theme {theme!r}")
    return root


@pytest.fixture(scope="module")
def studio(real_root: Path) -> Iterator[InProcessStudio]:
    s = InProcessStudio(real_root)
    try:
        yield s
    finally:
        s.stop()


def test_live_shows_a_real_run_as_it_happens(open_page: Any, studio: InProcessStudio, real_root: Path,
                                             shots: Path) -> None:
    proc = runner(real_root, *LIVE, *PICTURE)
    try:
        assert proc.stdout is not None
        sid = proc.stdout.readline().strip()
        page, console = open_page(studio.url, reduced_motion="reduce")
        page.goto(f"/live/{sid}")
        page.wait_for_selector(".conn.conn--connected")
        # The picture: the cover is painted and the music is on its way (or, on a fast machine,
        # the run already moved on: any later state is as true).
        page.wait_for_function("""() => {
            const st = (s) => document.querySelector(`.rail__step[data-step=${s}]`).dataset.status;
            return st("artwork") === "done" && st("music") !== "pending" && !!document.querySelector(".live__art");
        }""", timeout=120000)
        page.wait_for_function("() => { const i = document.querySelector('.live__art'); return i.complete && i.naturalWidth > 0 }")
        screenshot(page, "live", shots)
        page.wait_for_function("() => document.querySelector('.view--live').dataset.sessionStatus === 'completed'",
                               timeout=240000)
        finish(proc, "the live run")
        assert page.locator(".rail__step[data-status=done]").count() == 6
        console.assert_clean()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_every_view_shows_the_real_sessions(open_page: Any, studio: InProcessStudio, shots: Path) -> None:
    rows = api(studio.url, "/api/sessions?limit=100")["items"]
    assert rows and all(r["provider"] == "local" for r in rows)
    page, console = open_page(studio.url, reduced_motion="reduce")

    page.goto("/")
    page.wait_for_function("n => { const k = document.querySelector('[data-kpi=sessions]'); return !!k && k.textContent === n }",
                           arg=str(len(rows)))
    page.wait_for_function("() => { const i = document.querySelector('.hero__art'); return !!i && i.complete && i.naturalWidth > 0 }")
    screenshot(page, "overview", shots)

    page.goto("/sessions")
    page.wait_for_selector(".vrow[data-id]")
    assert sorted(page.locator(".vrow[data-id]").evaluate_all("e => e.map(x => x.dataset.id)")) == sorted(r["id"] for r in rows)
    screenshot(page, "sessions", shots)

    page.goto("/gallery")
    # Each cover decoded and shown (a tile fades its image in once it has loaded).
    page.wait_for_function("n => { const t = [...document.querySelectorAll('.tile__img')];"
                           " return t.length === n && t.every(i => i.naturalWidth > 0 && i.classList.contains('is-loaded')) }",
                           arg=len(rows))
    screenshot(page, "gallery", shots)

    done = next(r for r in rows if r["status"] == "completed")
    page.goto(f"/sessions/{done['id']}")
    page.wait_for_selector(".detail__title")
    assert page.locator(".track").count() == done["tracks_rendered"] > 0
    page.wait_for_function("() => { const i = document.querySelector('.stage__art'); return !!i && i.complete && i.naturalWidth > 0 }")
    page.wait_for_function("() => document.querySelector('video.player').readyState >= 1")
    screenshot(page, "session", shots)

    page.goto("/logs")
    page.wait_for_selector(".logline__session")
    assert set(page.locator(".logline__session").all_inner_texts()) <= {r["id"] for r in rows}
    screenshot(page, "logs", shots)

    page.goto("/")
    page.wait_for_selector(".kpi__value[data-kpi=sessions]")
    page.keyboard.press("n")
    page.fill("input[name=theme]", "rainy night in the city")
    page.wait_for_selector(".estimate [data-estimate]")
    screenshot(page, "launcher", shots)
    console.assert_clean()


def test_the_overview_on_a_phone(open_page: Any, studio: InProcessStudio, shots: Path) -> None:
    page, console = open_page(studio.url, width=360, height=740, reduced_motion="reduce")
    page.goto("/")
    page.wait_for_selector(".kpi__value[data-kpi=sessions]")
    page.wait_for_function("() => { const i = document.querySelector('.hero__art'); return !!i && i.complete && i.naturalWidth > 0 }")
    screenshot(page, "overview-mobile", shots)
    console.assert_clean()
