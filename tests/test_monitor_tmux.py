"""The monitor on a real terminal: in-place redraw at 80x24 and a clean exit, driven in tmux.

Each test runs its own tmux server on a unique socket (-L) with no config file (-f
/dev/null), so tests never share a server with each other or with a person's tmux, and the
server is killed at the end whatever happens.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from runner import store

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

REPO = Path(__file__).resolve().parent.parent


class Tmux:
    def __init__(self) -> None:
        self.socket = f"monitor-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.socket_path = ""

    def cmd(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=10)
        if check and proc.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def start(self, shell_command: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO), TERM="xterm-256color")
        env.pop("NO_COLOR", None)
        env.pop("TMUX", None)
        subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", "80", "-y", "24",
                        "-c", str(REPO), shell_command, ";", "set-option", "-g", "remain-on-exit", "on"],
                       check=True, env=env, timeout=10)
        self.socket_path = self.show("#{socket_path}")

    def screen(self, *flags: str) -> str:
        return self.cmd("capture-pane", "-p", *flags)

    def show(self, fmt: str) -> str:
        return self.cmd("display-message", "-p", fmt).strip()

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> tuple[str, float]:
        """Poll the screen until predicate holds; the screen and how long it took."""
        start = time.monotonic()
        while True:
            text = self.screen()
            if predicate(text):
                return text, time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise AssertionError(f"timed out waiting; screen was:\n{text}")
            time.sleep(0.03)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
        if self.socket_path:  # kill-server leaves the socket file behind
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    t = Tmux()
    try:
        yield t
    finally:
        t.kill()


class LiveSession:
    """A running session with a heartbeat kept fresh by a thread, owned by this (live) process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        params = store.validate_params({"theme": "tmux night", "tracks": 10})
        created = store.utc_now() - dt.timedelta(seconds=65)
        self.state: dict[str, Any] = store.new_state(store.new_session_id("tmux night", created), params, created)
        self.state.update(status="running", pid=os.getpid())
        steps = self.state["steps"]
        steps["variation"].update(status="done", started_at=store.iso(created), finished_at=store.iso(created))
        steps["music"].update(status="running", started_at=store.iso(created),
                              progress={"done": 3, "total": 10, "percent": 30, "label": "3/10"})
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.write()
        self.beat = threading.Thread(target=self._beat, daemon=True)
        self.beat.start()

    @property
    def id(self) -> str:
        return self.state["id"]

    def write(self, **edits: Any) -> None:
        with self.lock:
            self.state.update(edits)
            self.state["heartbeat_at"] = store.iso()
            store.write_state(self.root, self.state)

    def _beat(self) -> None:
        while not self.stop.wait(2.0):
            self.write()

    def close(self) -> None:
        self.stop.set()
        self.beat.join(timeout=5)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveSession]:
    (tmp_path / "sessions").mkdir()
    (tmp_path / "logs").mkdir()
    s = LiveSession(tmp_path)
    try:
        yield s
    finally:
        s.close()


def monitor_command(root: Path, session_id: str | None = None, *, then: str = "", **kwargs: Any) -> str:
    """A shell command for the pane: the monitor in its own interpreter, then maybe more."""
    args = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    code = ("import sys; from pathlib import Path; from runner.monitor import run_monitor; "
            f"sys.exit(run_monitor(Path({str(root)!r}), {session_id!r}{args}))")
    # bash waits for a child that handled Ctrl-C itself and carries on, so `then` runs and
    # shows what the terminal looks like after the monitor is gone.
    line = f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
    return f"bash -c {shlex.quote(line + '; ' + then)}" if then else line


def test_live_view_redraws_in_place_within_a_second_and_fits_80x24(tmux: Tmux, live: LiveSession) -> None:
    tmux.start(monitor_command(live.root, then='printf "monitor exit=%s" $?; sleep 60'))
    screen, _ = tmux.wait_for(lambda s: "music 3/10" in s)
    assert len(screen.rstrip("\n").split("\n")) <= 23  # the last row stays free for the prompt after exit
    assert all(len(line) <= 80 for line in screen.split("\n"))
    assert screen.split("\n")[0].startswith("Badger Tape")
    assert "Ctrl-C to quit" in screen.rstrip("\n").split("\n")[-1]  # the footer sits on the last frame row
    assert tmux.show("#{cursor_flag}") == "0"  # cursor hidden while drawing

    live.state["steps"]["music"]["progress"] = {"done": 7, "total": 10, "percent": 70, "label": "7/10"}
    live.write(cost=dict(live.state["cost"], spent_usd=1.5))
    screen, took = tmux.wait_for(lambda s: "music 7/10" in s, timeout=5)
    assert took < 1.0, f"the change took {took:.2f} s to show"
    assert "3/10" not in screen
    assert "$1.50 of $2.00  75%" in screen

    # In place: the whole pane history holds one frame, not a scroll of old ones.
    history = tmux.screen("-S", "-", "-E", "-")
    assert history.count("Badger Tape") == 1
    assert history.count("music 7/10") == 1

    # The elapsed clock keeps ticking without any file changing.
    before = next(line for line in screen.split("\n") if "elapsed" in line)
    screen, _ = tmux.wait_for(lambda s: before not in s, timeout=3)

    # Colour on a terminal: the amber cost bar is there as SGR 33.
    assert "\x1b[33m█" in tmux.screen("-e")

    # Ctrl-C: the monitor exits 0, the cursor is back, colours are reset and the last frame
    # stays on the main screen with the shell's next output below it.
    tmux.cmd("send-keys", "C-c")
    screen, _ = tmux.wait_for(lambda s: "monitor exit=" in s, timeout=5)
    assert "monitor exit=0" in screen
    assert tmux.show("#{cursor_flag}") == "1"
    assert tmux.show("#{alternate_on}") == "0"
    assert "Badger Tape" in screen and "music 7/10" in screen
    lines = screen.rstrip("\n").split("\n")
    assert lines[-1] == "monitor exit=0" and "Ctrl-C" in lines[-2]
    exit_line = next(l for l in tmux.screen("-e").split("\n") if "monitor exit=" in l)
    # tmux writes resets where the previous row had attributes; anything else means colour leaked.
    leaked = [c for c in re.findall(r"\x1b\[([0-9;]*)m", exit_line) if c not in ("", "0", "39", "49")]
    assert leaked == [], repr(exit_line)


def test_follow_in_a_terminal_exits_with_the_sessions_code_and_a_clean_screen(
        tmux: Tmux, live: LiveSession) -> None:
    tmux.start(monitor_command(live.root, live.id, follow=True, then='printf "monitor exit=%s" $?; sleep 60'))
    tmux.wait_for(lambda s: "music 3/10" in s)
    live.state["steps"]["music"].update(status="failed", error="provider said no", finished_at=store.iso())
    live.write(status="failed", error="music failed: provider said no", finished_at=store.iso())
    screen, took = tmux.wait_for(lambda s: "monitor exit=" in s, timeout=5)
    assert "monitor exit=1" in screen
    assert "failed: music failed: provider said no" in screen
    assert "session failed" in screen and "Ctrl-C" not in screen  # the final frame says how it ended
    assert tmux.show("#{cursor_flag}") == "1"


def test_no_color_terminal_view_redraws_without_any_colour(tmux: Tmux, live: LiveSession) -> None:
    tmux.start(monitor_command(live.root, env={"NO_COLOR": "1", "TERM": "xterm"}))
    tmux.wait_for(lambda s: "music 3/10" in s)
    live.state["steps"]["music"]["progress"] = {"done": 4, "total": 10, "percent": 40, "label": "4/10"}
    live.write(cost=dict(live.state["cost"], spent_usd=1.9))
    screen, _ = tmux.wait_for(lambda s: "music 4/10" in s, timeout=5)
    assert "95%" in screen
    assert "\x1b[" not in tmux.screen("-e")  # capture -e would show any colour or bold
