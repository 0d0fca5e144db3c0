"""A session's page says what a person must know, in real Chromium (issue 10.1 and 10.5):
- stopped as needs_attention: the status, the call, where to check and the --resend command,
  once, and no "Resume run" button (a person checks the service first, then resumes in a shell);
- uploaded with another privacy than asked (an unaudited project is locked private): the note,
  with Google's audit form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from browser_helpers import InProcessStudio, chromium, open_page  # noqa: F401 - fixtures are found by name

from runner import store
from runner.providers import youtube

pytestmark = pytest.mark.browser


def _session(root: Path, theme: str, status: str, **fields: Any) -> str:
    now = store.utc_now()
    params = store.validate_params({"theme": theme, "minutes": 2, "provider": "fal", "privacy": "public"})
    state = store.new_state(store.new_session_id(theme, now), params, now)
    state.update(status=status, finished_at=store.iso(now), **fields)  # type: ignore[typeddict-item]
    store.write_state(root, state, now)
    return state["id"]


def test_needs_attention_and_a_privacy_youtube_changed_are_said_on_the_session_page(open_page: Any,
                                                                                   tmp_path: Path) -> None:
    sid = store.new_session_id("rainy night", store.utc_now())
    message = (f"track 2/4 (fal-ai/minimax-music/v2) was sent to fal at 03:15:04 UTC but its answer was never "
               f"recorded, so it may have gone through: check your fal request history "
               f"(https://fal.ai/dashboard/requests), then run `python -m runner resume {sid} --resend 3f2a9c1b7d4e` "
               f"to send it again")
    waiting = _session(tmp_path, "rainy night", "needs_attention", attention={"message": message, "calls": [
        {"id": "3f2a9c1b7d4e", "label": "track 2/4", "provider": "fal", "app": "fal-ai/minimax-music/v2",
         "step": "music", "sent_at": store.iso(store.utc_now()), "request_id": None, "estimate_usd": 0.035,
         "check": "your fal request history (https://fal.ai/dashboard/requests)"}]})
    assert waiting == sid
    note = youtube.privacy_note("public", "private")
    assert note and youtube.AUDIT_URL in note
    locked = _session(tmp_path, "tea at dusk", "completed", youtube={
        "id": "abc123def45", "url": "https://www.youtube.com/watch?v=abc123def45", "privacy": "private",
        "privacy_requested": "public", "privacy_note": note})
    studio = InProcessStudio(tmp_path)
    try:
        page, console = open_page(studio.url)
        page.goto(f"/sessions/{waiting}")
        page.wait_for_selector(".detail__title")
        notices = page.locator(".notice").all_inner_texts()
        assert [n.strip() for n in notices] == [message]  # said once, as the runner wrote it
        assert "Needs attention" in page.locator(".badge").first.inner_text()
        assert page.locator("[data-action=resume]").count() == 0

        page.goto(f"/sessions/{locked}")
        page.wait_for_selector(".detail__title")
        assert [n.strip() for n in page.locator(".notice").all_inner_texts()] == [note]
        assert not [e for e in console.errors if not e.startswith("requestfailed")], console.errors
    finally:
        studio.stop()
