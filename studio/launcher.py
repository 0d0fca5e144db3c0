"""Starting runner processes from the dashboard: run, approve, resume, and the estimate.

The studio never writes a session file; it starts `python -m runner ...` as a detached child
(an argv list, never a shell) and lets the runner do the work. The command prefix is
injectable, so tests drive the same code with a fake runner script.

The child's stdout and stderr go to anonymous temporary files, not pipes: a pipe would tie
the child's life to ours (once the studio exits, the runner's next print would die of a
broken pipe). The runner prints the new session id as its first line; we read it from the
file with positional reads, which leave the child's own file offset alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from runner import store

from . import jsonsafe
from . import library
from .redact import Redactor

# Where the runner package the studio itself reads with lives: the child gets the same code.
RUNNER_HOME = Path(store.__file__).resolve().parent.parent
FIRST_LINE_TIMEOUT = 20.0
# A run of a person's own files reads every one before its session exists (runner/library.py):
# an hour of tracks is decoded once, which takes a while on a busy machine.
OWN_FILES_TIMEOUT = 300.0
ACTION_WAIT = 5.0
ESTIMATE_TIMEOUT = 30.0
ESTIMATE_CACHE_S = 30.0
MAX_ESTIMATES_AT_ONCE = 2
# The runner's flags for each run parameter (see runner/cli.py).
RUN_FLAGS: tuple[tuple[str, str], ...] = (
    ("theme", "--theme"), ("season", "--season"), ("atmosphere", "--atmosphere"),
    ("minutes", "--minutes"), ("tracks", "--tracks"), ("cap", "--cap"),
    ("provider", "--provider"), ("privacy", "--privacy"),
)
# The options for a person's own files, passed only when given.
OWN_FLAGS: tuple[tuple[str, str], ...] = (
    ("music", "--music"), ("artwork", "--artwork"), ("loop", "--loop"), ("fit", "--fit"),
    ("license_note", "--license-note"),
)


def default_command() -> list[str]:
    return [sys.executable, "-m", "runner"]


class Refused(Exception):
    """A launch the studio will not make; status is the HTTP status, reason a short code."""

    def __init__(self, status: int, reason: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.extra = extra


@dataclass
class Child:
    proc: subprocess.Popen[bytes]
    session_id: str | None
    action: str


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value == int(value):
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def run_args(params: dict[str, Any]) -> list[str]:
    """The runner's run/estimate options for validated params.

    "--flag=value" keeps a theme that begins with "-" from being read as another option.
    """
    args = [f"{flag}={_fmt(params[key])}" for key, flag in RUN_FLAGS]
    args += [f"{flag}={params[key]}" for key, flag in OWN_FLAGS if params.get(key)]
    if not params.get("upload", True):
        args.append("--no-upload")
    if params.get("review"):
        args.append("--review")
    return args


def field_of(message: str) -> str | None:
    """Which form field a validation message is about, for inline messages in the page."""
    words = message.replace(",", " ").split()
    for w in words[:3]:
        if w in (*store.DEFAULTS, "theme", "fit", "license_note", *store.OWN_FILES):
            return w
    return None


class Launcher:
    def __init__(self, root: Path, redactor: Redactor, *, enabled: bool = True, max_runs: int = 1,
                 command: Callable[[], list[str]] = default_command,
                 busy_sessions: Callable[[], list[str]] = lambda: [],
                 cwd: Path | None = None, env: Mapping[str, str] | None = None,
                 first_line_timeout: float = FIRST_LINE_TIMEOUT, action_wait: float = ACTION_WAIT,
                 estimate_timeout: float = ESTIMATE_TIMEOUT,
                 mono: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.root = root
        self.redactor = redactor
        self.enabled = enabled
        self.max_runs = max_runs
        self.command = command
        # Sessions the disk says are running (also those started from the command line or
        # by an earlier studio process).
        self.busy_sessions = busy_sessions
        # The runner runs in the data root, as a person would type the command there.
        self.cwd = cwd if cwd is not None else root
        self.env = env
        self.first_line_timeout = first_line_timeout
        self.action_wait = action_wait
        self.estimate_timeout = estimate_timeout
        self.mono = mono
        self.sleep = sleep
        self._lock = threading.Lock()
        self._children: list[Child] = []
        self._estimates: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}
        self._estimate_slots = threading.BoundedSemaphore(MAX_ESTIMATES_AT_ONCE)

    # ------------------------------------------------------------------ bookkeeping

    def children(self) -> list[Child]:
        """Children still running; finished ones are reaped here (no zombies)."""
        self._children = [c for c in self._children if c.proc.poll() is None]
        return list(self._children)

    def busy(self) -> list[str]:
        ids = [c.session_id or f"pid {c.proc.pid}" for c in self.children()]
        for sid in self.busy_sessions():
            if sid not in ids:
                ids.append(sid)
        return ids

    def status(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "max_runs": self.max_runs, "busy": self.busy()}

    def _check_can_start(self) -> None:
        if not self.enabled:
            raise Refused(403, "disabled", "the launcher is off (the studio was started with --no-launcher)")
        busy = self.busy()
        if len(busy) >= self.max_runs:
            raise Refused(409, "busy",
                          f"{len(busy)} run(s) already in progress ({', '.join(busy)}); "
                          f"the studio starts at most {self.max_runs} at a time",
                          busy=busy)

    # ------------------------------------------------------------------ spawning

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ if self.env is None else self.env)
        # `python -m runner` must find the runner even when the studio runs from a checkout
        # that is not installed and the data root is elsewhere.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(RUNNER_HOME), env.get("PYTHONPATH", "")) if p)
        return env

    def _spawn(self, args: list[str]) -> tuple[subprocess.Popen[bytes], Any, Any]:
        out = tempfile.TemporaryFile(prefix="studio-runner-out-")
        err = tempfile.TemporaryFile(prefix="studio-runner-err-")
        argv = [*self.command(), *args]
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=str(self.cwd), env=self._child_env(),
                start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            out.close()
            err.close()
            raise Refused(500, "spawn_failed", f"could not start the runner: {exc}") from None
        return proc, out, err

    @staticmethod
    def _last_line(text: str) -> str:
        """The line of stderr that says why (a traceback ends with it)."""
        lines = [l.strip() for l in text.splitlines() if l.strip()]
        return lines[-1] if lines else ""

    def _tail(self, fh: Any, limit: int = 2000) -> str:
        try:
            size = os.fstat(fh.fileno()).st_size
            data = os.pread(fh.fileno(), limit, max(0, size - limit))
        except OSError:
            return ""
        return self.tail_text(data.decode("utf-8", "replace"), cut=size > limit, limit=limit)

    def tail_text(self, text: str, *, cut: bool, limit: int = 2000) -> str:
        """The last `limit` characters of a child's output, redacted before they are cut (a
        key cut in half is no longer key-shaped, so what touches the cut is hidden too)."""
        text = text.strip()
        if len(text) > limit:
            text, cut = text[-limit:], True
        return self.redactor.cut(text, head=True, tail=False) if cut else self.redactor.text(text)

    def _first_line(self, proc: subprocess.Popen[bytes], out: Any, timeout: float) -> tuple[str | None, int | None]:
        """(first stdout line or None, exit code if the child has already ended)."""
        deadline = self.mono() + timeout
        while True:
            data = os.pread(out.fileno(), 4096, 0)
            if b"\n" in data:
                return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip(), proc.poll()
            code = proc.poll()
            if code is not None:
                data = os.pread(out.fileno(), 4096, 0)
                line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
                return (line or None), code
            if self.mono() >= deadline:
                return None, None
            self.sleep(0.02)

    def _validated(self, raw: dict[str, Any]) -> dict[str, Any]:
        """store.validate_params, and each own file picked checked against library/."""
        try:
            params = store.validate_params(raw)
        except store.InvalidParams as exc:
            raise Refused(400, "invalid", str(exc), field=field_of(str(exc))) from None
        for kind in store.OWN_FILES:
            if kind in params:
                try:
                    library.check(self.root, kind, params[kind])
                except library.Refused as exc:
                    raise Refused(400, "invalid", str(exc), field=kind) from None
        return params

    def launch(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Validate like the CLI, start `runner run`, and return the new session's id."""
        params = self._validated(raw)
        wait = max(self.first_line_timeout, OWN_FILES_TIMEOUT) if any(k in params for k in store.OWN_FILES) \
            else self.first_line_timeout
        with self._lock:
            self._check_can_start()
            # The picks are checked against library/ here; --library-only holds the runner to
            # it for every file they lead to (a playlist's lines, a folder's links).
            confine = ["--library-only"] if any(k in params for k in store.OWN_FILES) else []
            proc, out, err = self._spawn(["run", *run_args(params), *confine, f"--root={self.root}"])
            child = Child(proc, None, "run")
            self._children.append(child)
            try:
                line, code = self._first_line(proc, out, wait)
                if line is None or not store.is_session_id(line):
                    why = (f"the runner exited with code {code}" if code is not None
                           else f"the runner did not report a session id within {wait:g} s")
                    detail = self._tail(err) or (line or "")
                    last = self._last_line(detail)
                    raise Refused(502, "runner_failed", why + (f": {last}" if last else ""), detail=detail)
                child.session_id = line
            finally:
                out.close()
                err.close()
        return {"id": line, "pid": proc.pid, "action": "run", "params": params}

    def _action(self, action: str, session_id: str, args: list[str], status: str, allowed: frozenset[str]) -> dict[str, Any]:
        if not store.is_session_id(session_id):
            raise Refused(404, "not_found", "no such session")
        if status not in allowed:
            raise Refused(409, "wrong_status",
                          f"cannot {action} a session that is {status}; only one that is "
                          f"{' or '.join(sorted(allowed))}", session_status=status)
        with self._lock:
            self._check_can_start()
            proc, out, err = self._spawn([action, session_id, *args, f"--root={self.root}"])
            self._children.append(Child(proc, session_id, action))
            try:
                # approve/resume carry on with the run, so "started" is success; a quick
                # non-zero exit is the runner refusing, and its reason is worth showing.
                _, code = self._first_line(proc, out, self.action_wait)
                if code not in (None, 0):
                    detail = self._tail(err) or self._tail(out)
                    last = self._last_line(detail)
                    raise Refused(502, "runner_failed", f"the runner exited with code {code}"
                                  + (f": {last}" if last else ""), detail=detail)
            finally:
                out.close()
                err.close()
        return {"id": session_id, "pid": proc.pid, "action": action, "running": code is None, "exit_code": code}

    def approve(self, session_id: str, status: str, privacy: str | None = None) -> dict[str, Any]:
        args: list[str] = []
        if privacy is not None:
            if privacy not in store.PRIVACIES:
                raise Refused(400, "invalid", f"unknown privacy {privacy!r}; choose one of: "
                              f"{', '.join(store.PRIVACIES)}", field="privacy")
            args.append(f"--privacy={privacy}")
        return self._action("approve", session_id, args, status, frozenset({"awaiting_review"}))

    def resume(self, session_id: str, status: str, cap: Any = None) -> dict[str, Any]:
        args: list[str] = []
        if cap is not None:
            # A halted run continues only under a higher cap; the runner checks it is higher.
            try:
                number = store.validate_params({"theme": "x", "cap": cap})["cap"]
            except store.InvalidParams as exc:
                raise Refused(400, "invalid", str(exc), field="cap") from None
            args.append(f"--cap={_fmt(number)}")
        return self._action("resume", session_id, args, status,
                            frozenset({"interrupted", "failed", "halted_budget"}))

    # ------------------------------------------------------------------ estimate

    def estimate(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The runner's own estimate (the studio does not know prices), cached briefly."""
        raw = dict(raw)
        raw.setdefault("theme", "estimate")
        params = self._validated(raw)
        key = tuple(sorted((k, str(v)) for k, v in params.items() if k != "theme"))
        hit = self._estimates.get(key)
        if hit and self.mono() - hit[0] < ESTIMATE_CACHE_S:
            return hit[1]
        if not self._estimate_slots.acquire(timeout=self.estimate_timeout):
            raise Refused(503, "busy", "too many estimates at once; try again")
        try:
            argv = [*self.command(), "estimate", *run_args(params), "--json", f"--root={self.root}"]
            try:
                done = subprocess.run(  # noqa: S603 - argv list, no shell
                    argv, stdin=subprocess.DEVNULL, capture_output=True, cwd=str(self.cwd),
                    env=self._child_env(), timeout=self.estimate_timeout,
                )
            except subprocess.TimeoutExpired:
                raise Refused(504, "timeout", f"the estimate took longer than {self.estimate_timeout:g} s") from None
            except OSError as exc:
                raise Refused(500, "spawn_failed", f"could not start the runner: {exc}") from None
        finally:
            self._estimate_slots.release()
        # `estimate` exits 1 when the run would be over its cap; its JSON is the answer either way.
        try:
            result = jsonsafe.loads(done.stdout, jsonsafe.MAX_DEPTH)
        except jsonsafe.BadJSON:
            result = None
        if not isinstance(result, dict):
            tail = self.tail_text(done.stderr.decode("utf-8", "replace"), cut=False)
            last = self._last_line(tail)
            raise Refused(502, "runner_failed", f"the estimate failed with code {done.returncode}"
                          + (f": {last}" if last else ""), detail=tail)
        answer = {"params": params, "estimate": result}
        self._estimates[key] = (self.mono(), answer)
        return answer
