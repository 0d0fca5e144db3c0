"""Counts on the page read as words: "1 track", "1 session", "1 video rendered", never "1 tracks".

A data root holding one keyless 2-minute session (--tracks auto makes 1 track), first finished,
then joined by a second one that is still running, in real Chromium.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest

from browser_helpers import InProcessStudio, chromium, open_page  # noqa: F401 - fixtures are found by name

from runner import store

pytestmark = pytest.mark.browser


def _one_track_session(root: Path, theme: str, status: str, now: dt.datetime) -> str:
    params = store.validate_params({"theme": theme, "minutes": 2})
    assert params["tracks"] == 1
    created = now - dt.timedelta(minutes=5)
    state = store.new_state(store.new_session_id(theme, created), params, created)
    state["status"] = status
    if status == "completed":
        state["finished_at"] = store.iso(now)
        for name in store.STEPS:
            state["steps"][name].update(status="done", started_at=store.iso(created), finished_at=store.iso(now),
                                        attempts=1)
        state["steps"]["music"]["outputs"] = {"tracks": [{"index": 1, "file": "tracks/01.flac", "title": "owl call",
                                                           "seconds": 120.0}]}
    else:
        state["pid"], state["heartbeat_at"] = os.getpid(), store.iso(now)  # this process: alive
        state["steps"]["variation"].update(status="running", started_at=store.iso(created))
    store.write_state(root, state, now)
    return state["id"]


def test_a_count_of_one_reads_as_words_on_every_view(open_page: Any, tmp_path: Path) -> None:
    now = store.utc_now()
    _one_track_session(tmp_path, "rainy night", "completed", now)
    studio = InProcessStudio(tmp_path)
    try:
        page, console = open_page(studio.url)
        page.goto("/")
        page.wait_for_selector(".hero__meta")
        assert re.search(r"2m · 1 track\b", page.locator(".hero__meta").inner_text())  # the latest tape
        page.wait_for_function("() => document.querySelector('.kpi--tracks')?.textContent.includes('1 video rendered')")
        assert "last 1 session;" in page.locator(".chart__svg").get_attribute("aria-label")
        page.goto("/gallery")
        page.wait_for_function("() => document.querySelector('.toolbar__count')?.textContent === '1 session'")
        page.goto("/sessions")
        page.wait_for_function("() => document.querySelector('.toolbar__count')?.textContent.startsWith('1 of 1 session')")

        running = _one_track_session(tmp_path, "tea at dusk", "running", store.utc_now())
        page.goto("/")
        page.wait_for_function("() => document.querySelector('.hero--live .hero__meta')?.textContent.match(/2m · 1 track\\b/)")
        page.goto(f"/live/{running}")
        page.wait_for_function("id => document.querySelector('.live__sub')?.textContent"
                               ".includes(id + ' · 2m · 1 track · local')", arg=running)
        text = page.evaluate("() => document.body.innerText")
        assert "1 tracks" not in text and "1 sessions" not in text
        # Requests cut by the next page.goto are not the page's errors; script errors are.
        assert not [e for e in console.errors if not e.startswith("requestfailed")], console.errors
    finally:
        studio.stop()
