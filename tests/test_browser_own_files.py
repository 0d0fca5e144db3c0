"""The launcher's picker in real Chromium: a person picks their own music, picture and loop from
the data root's library/ folder (nothing is uploaded), starts a real keyless run, and the session
page lists where every file came from. axe stays clean with the picker open."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_helpers import (  # noqa: F401 - fixtures are found by name
    InProcessStudio, axe_violations, chromium, open_page, require_axe, wait_until,
)
from own_helpers import clip, picture, track
from runner import library, store

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[InProcessStudio, Path]]:
    root = tmp_path_factory.mktemp("own-root")
    lib = root / "library"
    (lib / "tapes").mkdir(parents=True)
    track(lib / "tapes" / "1 first.flac", 5, freq=330, level_db=0, tags={"title": "First Light", "artist": "Ada Reed"})
    track(lib / "tapes" / "2 second.mp3", 5, freq=220, level_db=0, codec=("-c:a", "libmp3lame"))
    (lib / "single").mkdir()
    track(lib / "single" / "only.flac", 3, freq=440, level_db=0)
    picture(lib / "harbour.png", 960, 540)
    (lib / "loops").mkdir()
    clip(lib / "loops" / "drift.mp4", seamless=True, seconds=2)
    (lib / "elsewhere.png").symlink_to(root / "secret.png")  # a link is never offered
    (root / "secret.png").write_bytes(b"not in the library")
    server = InProcessStudio(root)
    try:
        yield server, root
    finally:
        server.stop()


def _options(page: Any, name: str) -> list[str]:
    return page.locator(f"select[name={name}] option").evaluate_all("e => e.map(o => o.value)")


def test_pick_your_own_files_start_a_run_and_see_their_provenance(open_page: Any, studio: Any) -> None:
    server, root = studio
    page, console = open_page(server.url, reduced_motion="reduce")
    page.goto("/")
    page.wait_for_selector(".kpi__value")
    page.keyboard.press("n")
    page.locator("details.field--own summary").click()
    # The library as the server lists it: folders of tracks, pictures, loops; no link.
    page.wait_for_function("() => document.querySelectorAll('select[name=music] option').length > 1")
    assert _options(page, "music") == ["", "library/single", "library/tapes"]
    assert _options(page, "artwork") == ["", "library/harbour.png"]
    assert _options(page, "loop") == ["", "library/loops/drift.mp4"]
    assert "2 tracks" in page.locator("select[name=music] option[value='library/tapes']").inner_text()
    assert page.locator("select[name=music] option[value='library/single']").inner_text().endswith("· 1 track")

    page.fill("input[name=theme]", "my tapes")
    page.select_option("select[name=music]", "library/tapes")
    # With a playlist, the track count is the playlist's and the length may follow it.
    assert page.locator("input[name=tracks]").is_disabled()
    page.check("input[name=whole]")
    assert page.locator("input[name=minutes]").is_disabled()
    page.select_option("select[name=artwork]", "library/harbour.png")
    page.select_option("select[name=fit]", "contain")
    page.fill("input[name=license_note]", "licensed from Ada Reed")
    page.uncheck("input[name=upload]")
    page.wait_for_selector(".estimate [data-estimate='0']")
    page.locator("dialog.modal button[type=submit]").click()
    page.wait_for_url("**/live/**", timeout=120_000)
    sid = page.url.rsplit("/", 1)[1]

    def done() -> bool:
        state = store.read_state(root, sid)
        return state is not None and state["status"] in store.FINAL_STATUSES
    wait_until(done, "the run to finish", timeout=300)
    state = store.read_state(root, sid)
    assert state["status"] == "completed", state.get("error")
    assert state["params"]["music"] == "library/tapes" and state["params"]["fit"] == "contain"

    page.goto(f"/sessions/{sid}")
    page.wait_for_selector(".card--prov li")
    lines = page.locator(".card--prov li").all_inner_texts()
    sha = library.sha256_of(root / "library" / "harbour.png")
    assert "licence   licensed from Ada Reed" in lines[0]
    assert any(l.startswith("artwork   file library/harbour.png") and sha in l for l in lines)
    assert any("library/tapes/1 first.flac" in l and "First Light \u2014 Ada Reed" in l for l in lines)
    console.assert_clean("on the launcher and the session page")


def test_the_launcher_with_the_picker_open_has_no_serious_axe_violation(open_page: Any, studio: Any) -> None:
    require_axe()
    server, _ = studio
    page, _ = open_page(server.url, reduced_motion="reduce")
    page.goto("/")
    page.wait_for_selector(".kpi__value")
    page.keyboard.press("n")
    page.locator("details.field--own summary").click()
    page.wait_for_function("() => document.querySelectorAll('select[name=music] option').length > 1")
    page.select_option("select[name=music]", "library/tapes")
    found = axe_violations(page)
    assert not found, "\n".join(found)


def test_the_library_api_lists_only_the_library(studio: Any) -> None:
    import urllib.request

    server, _ = studio
    with urllib.request.urlopen(server.url + "/api/library", timeout=10) as r:
        body = json.loads(r.read())
    assert [i["path"] for i in body["artwork"]] == ["library/harbour.png"]
