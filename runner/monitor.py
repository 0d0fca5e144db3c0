"""Terminal monitor: watch a session live from a shell (`python -m runner monitor`).

It reads files only, through runner.store, and never writes under the data root. The
drawing is pure and lives in runner.monitor_render; this module does the I/O at the edges:
picking the session, polling file stats, writing frames, signals and exit codes.

Exit codes (docs/monitor.md has the full story):

    0    --once printed a snapshot; --follow saw the session complete; or the plain watch
         was left with Ctrl-C (the only way out of it, so that is a normal end)
    1    --follow: the session failed
    2    nothing to watch: no sessions, no session with that id, or not an id at all
         (argparse also uses 2 for a bad command line); --once and --follow together
    3    --follow: the session halted at its spend cap (halted_budget)
    4    --follow: the session was interrupted (its runner is gone)
    6    --follow: the session needs attention (a paid request's outcome is unknown)
    5    the session is unreadable (state.json missing or invalid: the reason is given) or
         was deleted
    130  --follow was stopped with Ctrl-C before the session ended (128 + SIGINT)
    141  the output pipe closed (128 + SIGPIPE), e.g. `monitor --once | head -3`
    143  SIGTERM (128 + SIGTERM)
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from runner import store
from runner import monitor_render as mr

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_NO_SESSION = 2
EXIT_HALTED = 3
EXIT_INTERRUPTED = 4
EXIT_UNREADABLE = 5
EXIT_NEEDS_ATTENTION = 6
EXIT_SIGINT = 130
EXIT_SIGPIPE = 141
EXIT_SIGTERM = 143

# How --follow reports each way a session can end.
FINAL_EXIT: dict[str, int] = {
    "completed": EXIT_OK,
    "failed": EXIT_FAILED,
    "halted_budget": EXIT_HALTED,
    "interrupted": EXIT_INTERRUPTED,
    "needs_attention": EXIT_NEEDS_ATTENTION,
}

# Enough of the shared runner.log to find this session's last lines among other sessions'.
LOG_TAIL_LINES = 600
# A state.json that cannot be read is given this long to come back before we give up: the
# runner replaces it atomically, so this only covers a folder seen before its first write.
UNREADABLE_GRACE_S = 1.0

DEFAULT_WIDTH, DEFAULT_HEIGHT = 80, 24


class MonitorError(Exception):
    """Something a person must be told in one line, with the exit code that goes with it."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class _Terminated(BaseException):
    """Raised from the SIGTERM handler so the same cleanup as Ctrl-C runs."""


# ----------------------------------------------------------------------------- choosing

def pick_session(root: Path, session_id: str | None, now: datetime) -> str:
    """The id to watch: the one asked for, else the newest running session, else the newest."""
    if session_id:
        if not store.is_session_id(session_id):
            raise MonitorError(
                f"{session_id!r} is not a session id (they look like 20261121-031500-rainy-night)",
                EXIT_NO_SESSION)
        if not (store.sessions_dir(root) / session_id).is_dir():
            raise MonitorError(f"no session {session_id} under {store.sessions_dir(root)}", EXIT_NO_SESSION)
        return session_id
    ids = store.list_session_ids(root)
    if not ids:
        raise MonitorError(f"no sessions under {store.sessions_dir(root)}", EXIT_NO_SESSION)
    for sid in ids:
        state = store.read_state(root, sid)
        if state is not None and store.effective_status(state, now) == "running":
            return sid
    return ids[0]


# ----------------------------------------------------------------------------- reading

class SessionFiles:
    """One session's state, log lines and events, re-read only when a file's stat changes."""

    def __init__(self, root: Path, session_id: str) -> None:
        self.root = root
        self.session_id = session_id
        self.folder = store.session_dir(root, session_id)
        self.state: store.State | None = None
        self.unreadable: str | None = None   # why state is None, once read
        self.log_lines: list[str] = []
        self.events: list[dict[str, Any]] = []
        self._keys: dict[str, Any] = {}

    def _changed(self, name: str, path: Path) -> bool:
        key = store.change_key(path)
        if name in self._keys and self._keys[name] == key:
            return False
        self._keys[name] = key
        return True

    def refresh(self) -> bool:
        """Reload what changed on disk; True when anything did."""
        changed = False
        if self._changed("state", self.folder / "state.json"):
            self.state, self.unreadable = store.load_state(self.root, self.session_id)
            changed = True
        if self._changed("log", store.log_path(self.root)):
            lines, _, _ = store.tail_lines(store.log_path(self.root), LOG_TAIL_LINES)
            self.log_lines = mr.session_log_lines(lines, self.session_id)
            changed = True
        if self._changed("events", self.folder / "events.jsonl"):
            # Only shown when the log has nothing for this session, but cheap to keep.
            self.events = store.read_events(self.root, self.session_id)[-50:]
            changed = True
        return changed

    def exists(self) -> bool:
        return self.folder.is_dir()


# ----------------------------------------------------------------------------- writing

def _isatty(out: TextIO) -> bool:
    try:
        return bool(out.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class Screen:
    """Where frames go: redrawn in place on a terminal, appended as plain text elsewhere.

    Colour and cursor movement only on a terminal that is not TERM=dumb, and colour only
    without NO_COLOR (present with any value, even empty): NO_COLOR removes colour, not the
    in-place redraw. The main screen is used, not the alternate one, so the
    last frame stays readable after the monitor exits.
    """

    def __init__(self, out: TextIO, env: Mapping[str, str]) -> None:
        self.out = out
        tty = _isatty(out)
        # TERM=dumb promises neither cursor movement nor colour.
        self.interactive = tty and env.get("TERM") != "dumb"
        self.color = self.interactive and "NO_COLOR" not in env
        self.glyphs = mr.glyphs_for(getattr(out, "encoding", None))
        self._shown: list[str] = []
        self._size: tuple[int, int] | None = None
        self._started = False
        self._printed_any = False

    def size(self) -> tuple[int, int]:
        if _isatty(self.out):
            try:
                cols, rows = os.get_terminal_size(self.out.fileno())
                if cols > 0 and rows > 0:
                    return cols, rows
            except (OSError, ValueError, AttributeError):
                pass
        return DEFAULT_WIDTH, DEFAULT_HEIGHT

    def frame_size(self) -> tuple[int, int]:
        """Columns and rows a frame may use.

        On a terminal one row is left free, so the prompt that follows the monitor's exit
        lands below the last frame instead of scrolling its first line away.
        """
        cols, rows = self.size()
        if _isatty(self.out):
            rows = max(1, rows - 1)
        return cols, rows

    def draw(self, lines: list[str]) -> None:
        """Show a frame in place, rewriting only the rows that differ from the last one."""
        size = self.size()
        parts = []
        if not self._started:
            parts.append("\x1b[?25l")  # a blinking cursor wandering over the frame is noise
            self._started = True
        if size != self._size:
            parts.append("\x1b[H\x1b[2J")
            self._shown = []
            self._size = size
        for i, line in enumerate(lines):
            if i < len(self._shown) and self._shown[i] == line:
                continue
            # Absolute rows and erase-then-write: no newline is ever sent, so a full-height
            # frame cannot scroll the screen, and no erase-after-text can eat the last
            # column of a full-width line.
            parts.append(f"\x1b[{i + 1};1H\x1b[2K{line}")
        if len(lines) < len(self._shown):
            parts.append(f"\x1b[{len(lines) + 1};1H\x1b[J")
        self._shown = list(lines)
        if parts:
            self.out.write("".join(parts))
            self.out.flush()

    def print_frame(self, lines: list[str]) -> None:
        """Append a whole frame (pipes, files, --once); frames apart by a blank line."""
        text = "\n".join(lines) + "\n"
        if self._printed_any:
            text = "\n" + text
        self._printed_any = True
        self.out.write(text)
        self.out.flush()

    def close(self) -> None:
        """Leave the terminal as we found it: colours reset, cursor shown, below the frame."""
        if not self._started:
            return
        self._started = False
        row = max(1, len(self._shown))
        reset = "\x1b[0m" if self.color else ""  # NO_COLOR output carries no SGR at all
        self.out.write(f"{reset}\x1b[{row};1H\r\n\x1b[?25h")
        self.out.flush()


# ----------------------------------------------------------------------------- frames

def frame_lines(files: SessionFiles, status: str, now: datetime, screen: Screen,
                width: int, height: int, footer: str | None) -> list[str]:
    assert files.state is not None
    return mr.render_lines(
        files.state, now, status=status, log_lines=files.log_lines, events=files.events,
        width=width, height=height, color=screen.color, footer=footer, glyphs=screen.glyphs,
    )


def transition_key(state: store.State, status: str) -> tuple[Any, ...]:
    """What must change for a pipe to get a new frame: status, step states, progress, spend.

    A terminal redraws every second for the clocks; a pipe or a log file would fill up with
    near-identical frames that way, so it only gets one when something a person cares
    about moved.
    """
    steps = state["steps"]
    per_step = tuple((steps[n]["status"], mr.progress_text(steps[n]["progress"]), steps[n]["attempts"])
                     for n in store.STEPS)
    return (status, per_step, state["cost"]["spent_usd"], state["title"])


def _footer(follow: bool, ended: bool) -> str:
    if follow:
        return "following until the session ends · Ctrl-C to stop"
    if ended:
        return "the session has ended · Ctrl-C to quit"
    return "watching · Ctrl-C to quit"


# ----------------------------------------------------------------------------- entry point

def run_monitor(root: Path, session_id: str | None, *, once: bool = False, follow: bool = False,
                out: TextIO = sys.stdout, env: Mapping[str, str] = os.environ,
                interval: float = 0.25, clock: Callable[[], datetime] = store.utc_now) -> int:
    """Show a session in the terminal; return the process exit code (see the module doc).

    once: print one snapshot and return 0. follow: watch until the session reaches a final
    status and return the code for it. Neither: watch until Ctrl-C, staying on the final
    screen if the session ends meanwhile. Errors are one line on stderr, never a traceback.
    """
    if once and follow:
        return _fail("choose either --once or --follow, not both", EXIT_NO_SESSION)
    screen = Screen(out, env)
    previous_term = _catch_sigterm()
    try:
        return _watch(Path(root), session_id, once, follow, screen, max(0.01, interval), clock)
    except MonitorError as exc:
        screen.close()
        return _fail(str(exc), exc.code)
    except KeyboardInterrupt:
        screen.close()
        # In the plain watch Ctrl-C is the way out; in --follow it cut the wait short, and
        # a script must not read that as "completed".
        return EXIT_SIGINT if (follow or once) else EXIT_OK
    except _Terminated:
        screen.close()
        return EXIT_SIGTERM
    except BrokenPipeError:
        _silence(out)
        return EXIT_SIGPIPE
    finally:
        _restore_sigterm(previous_term)


def _watch(root: Path, session_id: str | None, once: bool, follow: bool, screen: Screen,
           interval: float, clock: Callable[[], datetime]) -> int:
    sid = pick_session(root, session_id, clock())
    files = SessionFiles(root, sid)
    grace = max(1, math.ceil(UNREADABLE_GRACE_S / interval))
    misses = 0
    last_key: tuple[Any, ...] | None = None
    while True:
        files.refresh()
        now = clock()
        if files.state is None:
            misses += 1
            if misses > grace:
                if not files.exists():
                    raise MonitorError(f"session {sid} is gone (its folder was deleted)", EXIT_UNREADABLE)
                raise MonitorError(f"session {sid} is unreadable: {files.unreadable} ({files.folder})",
                                   EXIT_UNREADABLE)
            time.sleep(interval)
            continue
        misses = 0
        status = store.effective_status(files.state, now)
        ended = status in store.FINAL_STATUSES

        width, height = screen.frame_size()
        if once or not screen.interactive:
            key = transition_key(files.state, status)
            if once or key != last_key or (follow and ended):
                screen.print_frame(frame_lines(files, status, now, screen, width, height, None))
                last_key = key
            if once:
                return EXIT_OK
        else:
            # The frame left on screen after --follow says how the session ended instead of
            # offering a Ctrl-C that is no longer needed.
            footer = f"session {mr.STATUS_TEXT.get(status, status)}" if follow and ended else _footer(follow, ended)
            screen.draw(frame_lines(files, status, now, screen, width, height, footer))

        if follow and ended:
            screen.close()
            return FINAL_EXIT[status]
        time.sleep(interval)


# ----------------------------------------------------------------------------- edges

def _fail(message: str, code: int) -> int:
    try:
        print(f"monitor: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return code


def _catch_sigterm() -> Any:
    # signal handlers can only be set from the main thread; elsewhere (a test calling us
    # from a worker thread) SIGTERM keeps its default and we simply skip this.
    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(signum: int, frame: Any) -> None:
        raise _Terminated()

    try:
        return signal.signal(signal.SIGTERM, on_term)
    except (ValueError, OSError):
        return None


def _restore_sigterm(previous: Any) -> None:
    if previous is None:
        return
    try:
        signal.signal(signal.SIGTERM, previous)
    except (ValueError, OSError, TypeError):
        pass


def _silence(out: TextIO) -> None:
    """After a closed pipe, point the descriptor at /dev/null so the exit-time flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
