"""The Live view in real Chromium: the rail, the cap bar and the activity log follow the event
stream; the connection state shows a reconnect; and the launcher starts a real local run whose
rail reaches its end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from browser_helpers import (  # noqa: F401 - fixtures are found by name
    REPO, InProcessStudio, StudioProcess, chromium, media_sets, open_page,
)
from runner import store

pytestmark = pytest.mark.browser

STEPS = list(store.STEPS)


class FakeRun:
    """A session written step by step through runner/store.py, as the runner would."""

    def __init__(self, root: Path, media: Path, theme: str = "harbour lights at dawn") -> None:
        self.root = root
        self.media = media
        params = store.validate_params({"theme": theme, "season": "winter", "minutes": 60, "tracks": 10,
                                        "cap": 2.0, "provider": "fal", "upload": False})
        self.id = store.new_session_id(theme)
        self.dir = store.session_dir(root, self.id)
        self.dir.mkdir(parents=True)
        self.state = store.new_state(self.id, params)
        self.state.update(status="running", pid=os.getpid())
        self.seq = 0
        self.save()

    def save(self) -> None:
        self.state["heartbeat_at"] = store.iso()
        store.write_state(self.root, self.state)

    def log(self, level: str, step: str | None, msg: str) -> None:
        with open(store.log_path(self.root), "a", encoding="utf-8") as fh:
            fh.write(store.format_log_line(level, self.id, step, msg))

    def start(self, step: str) -> None:
        s = self.state["steps"][step]
        s.update(status="running", started_at=store.iso(), attempts=1)
        self.save()
        self.log("INFO", step, "started")

    def progress(self, step: str, done: int, total: int) -> None:
        self.state["steps"][step]["progress"] = {"done": done, "total": total, "percent": 100 * done / total,
                                                 "label": f"{step} {done}/{total}"}
        self.save()

    def spend(self, usd: float, asset: str) -> None:
        c = self.state["cost"]
        c["spent_usd"] = round(c["spent_usd"] + usd, 4)
        c["by_asset"][asset] = round(c["by_asset"][asset] + usd, 4)
        self.save()

    def finish(self, step: str, status: str = "done", **outputs: Any) -> None:
        s = self.state["steps"][step]
        s.update(status=status, finished_at=store.iso(), progress=None, outputs=outputs,
                 note="--no-upload" if status == "skipped" else None)
        self.save()
        self.log("INFO", step, "skipped: --no-upload" if status == "skipped" else "done")


def statuses(page: Any) -> list[str]:
    return page.locator(".rail__step").evaluate_all("e => e.map(x => x.dataset.status)")


def wait_rail(page: Any, expected: list[str], timeout: float = 8000) -> None:
    page.wait_for_function("want => JSON.stringify([...document.querySelectorAll('.rail__step')]"
                           ".map(x => x.dataset.status)) === JSON.stringify(want)", arg=expected, timeout=timeout)


def test_rail_cap_bar_and_activity_follow_the_stream(open_page: Any, media_sets: list[Path], tmp_path: Path) -> None:
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    run = FakeRun(tmp_path, media_sets[1])
    studio = InProcessStudio(tmp_path)
    page, console = open_page(studio.url)
    try:
        page.goto(f"/live/{run.id}")
        page.wait_for_selector(".conn.conn--connected")
        wait_rail(page, ["pending"] * 7)
        assert page.locator(".capbar").get_attribute("data-level") == "ok"

        run.start("variation")
        wait_rail(page, ["running"] + ["pending"] * 6)
        run.finish("variation")
        run.start("artwork")
        run.start("music")
        wait_rail(page, ["done", "running", "pending", "running", "pending", "pending", "pending"])
        for name in ("artwork.png", "thumbnail.jpg"):
            (run.dir / name).write_bytes((run.media / name).read_bytes())
        run.spend(0.075, "image")
        run.finish("artwork", artwork="artwork.png", thumbnail="thumbnail.jpg", provider="fal", model="fal-ai/flux/dev")
        run.start("motion")
        for k in range(1, 5):
            run.progress("music", k, 10)
            run.spend(0.035, "music")
        run.spend(1.3, "video")
        # 1.515 of 2.00: amber (>= 70 %), and the artwork appears in the side panel.
        page.wait_for_selector(".capbar[data-level=amber]")
        page.wait_for_selector(".live__art")
        page.wait_for_function("() => document.querySelector('.rail__step[data-step=music] .rail__note').textContent.includes('4/10')")
        assert page.locator(".loglines--live .logline").count() >= 5

        run.finish("motion", loop="loop.mp4")
        run.spend(0.35, "music")
        page.wait_for_selector(".capbar[data-level=red]")
        run.finish("music")
        for step in ("render", "metadata"):
            run.start(step)
            run.finish(step)
        run.finish("upload", status="skipped")
        run.state.update(status="completed", finished_at=store.iso(), pid=None)
        run.save()
        wait_rail(page, ["done"] * 6 + ["skipped"])
        page.wait_for_function("() => document.querySelector('.view--live').dataset.sessionStatus === 'completed'")
        assert page.locator(".rail__step[data-step=upload] .rail__note").inner_text() == "--no-upload"
        assert page.locator(".loglines--live").inner_text().count("started") >= 6
        console.assert_clean()
    finally:
        studio.stop()


def test_connection_state_shows_reconnecting_then_connected(open_page: Any, tmp_path: Path) -> None:
    # A real server process: killing it closes every socket, as when the studio stops.
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    first = StudioProcess(tmp_path)
    port = int(first.url.rsplit(":", 1)[1])
    page, console = open_page(first.url)
    second = None
    try:
        page.goto("/live")
        page.wait_for_selector("#conn.conn--connected")
        assert page.locator("#conn").inner_text().strip() == "Live"
        first.stop()
        page.wait_for_selector("#conn.conn--reconnecting, #conn.conn--offline", timeout=10000)
        assert page.locator("#conn").inner_text().strip() in ("Reconnecting…", "Offline")
        second = StudioProcess(tmp_path, port=port)
        page.wait_for_selector("#conn.conn--connected", timeout=15000)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def why_not_completed(base: str, sid: str, root: Path) -> str:
    """What the studio says about a session that did not complete: its steps' errors, the
    halt or attention message, and the last lines it logged."""
    with urllib.request.urlopen(f"{base}/api/sessions/{sid}", timeout=10) as r:
        detail = json.loads(r.read())
    said = [f"{s['name']} {s['status']}: {s.get('error') or s.get('note') or ''}".rstrip(": ")
            for s in detail.get("steps") or [] if s.get("status") not in ("done", "pending")]
    for key in ("error", "halt", "attention"):
        value = detail.get(key)
        if value:
            said.append(f"{key}: {value.get('message') if isinstance(value, dict) else value}")
    with urllib.request.urlopen(f"{base}/api/logs?session={sid}&limit=8", timeout=10) as r:
        said += [f"log {line['level']} {line.get('step') or ''}: {line['message']}" for line in json.loads(r.read())["lines"]]
    return "; ".join(said) or f"nothing recorded (see {root})"


def runner_probe(root: Path) -> str | None:
    """Why a short local run cannot complete on this machine, or None when it can."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    try:
        done = subprocess.run([sys.executable, "-m", "runner", "run", "--theme", "probe", "--minutes", "0.4",
                               "--tracks", "2", "--no-upload", "--root", str(root)],
                              capture_output=True, text=True, timeout=180, cwd=str(REPO), env=env)
    except subprocess.TimeoutExpired:
        return "a 0.4-minute local run took longer than 180 s"
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return f"`python -m runner run --minutes 0.4 --tracks 2 --no-upload` exits {done.returncode}: {tail[0]}"
    return None


def test_launcher_starts_a_real_local_run_and_live_reaches_the_end(open_page: Any, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sessions").mkdir(parents=True)
    (root / "logs").mkdir()
    studio = InProcessStudio(root)
    page, console = open_page(studio.url)
    try:
        page.goto("/")
        page.wait_for_selector(".hero__title")
        assert "first tape" in page.locator(".hero__title").inner_text()
        # Keyboard only: "n" opens the launcher.
        page.keyboard.press("n")
        page.keyboard.type("keyboard rain")
        fields = {}
        for _ in range(20):
            page.keyboard.press("Tab")
            name = page.evaluate("() => document.activeElement.name")
            if name == "minutes" and "minutes" not in fields:
                page.keyboard.press("Control+A")
                page.keyboard.type("0.4")
                fields["minutes"] = True
            elif name == "tracks" and "tracks" not in fields:
                page.keyboard.press("Control+A")
                page.keyboard.type("2")
                fields["tracks"] = True
            elif name == "upload" and "upload" not in fields:
                page.keyboard.press("Space")
                fields["upload"] = True
            elif name == "cap":
                break
        assert set(fields) == {"minutes", "tracks", "upload"}
        assert not page.locator("input[name=upload]").is_checked()
        page.wait_for_selector(".estimate [data-estimate]")
        page.keyboard.press("Enter")
        # Either the page moves to Live, or the modal says why the launch was refused.
        page.wait_for_function("() => location.pathname.startsWith('/live/')"
                               " || document.querySelector('.form__error').textContent !== ''", timeout=40000)
        refused = page.locator(".form__error").text_content()
        if refused:
            reason = runner_probe(tmp_path / "probe")
            if reason is not None:
                pytest.skip(f"the runner cannot complete a local run yet ({reason}); the launch was refused: {refused}")
            pytest.fail(f"the launch was refused: {refused}")
        page.wait_for_url(re.compile(r"/live/[0-9]{8}-[0-9]{6}-keyboard-rain"))
        sid = page.url.rsplit("/", 1)[1]
        try:
            page.wait_for_function("() => ['completed', 'failed', 'interrupted', 'halted_budget']"
                                   ".includes(document.querySelector('.view--live').dataset.sessionStatus)",
                                   timeout=150000)
        except Exception:
            pass
        final = page.evaluate("() => document.querySelector('.view--live').dataset.sessionStatus")
        if final != "completed":
            reason = runner_probe(tmp_path / "probe")
            if reason is not None:
                pytest.skip(f"the runner cannot complete a local run yet ({reason}); the launch reached /live/{sid}")
        if final != "completed":
            pytest.fail(f"the launched session ended {final}: {why_not_completed(studio.url, sid, root)}")
        wait_rail(page, ["done"] * 6 + ["skipped"], timeout=10000)
        times = page.locator(".rail__time").all_inner_texts()
        assert all(t not in ("–", "") for t in times[:6]), times
        assert page.locator(".loglines--live .logline").count() > 5
        console.assert_clean()
    finally:
        studio.stop()
