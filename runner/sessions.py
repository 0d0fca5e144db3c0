"""Start, resume and approve sessions: the typed library under the CLI.

Everything here takes the data root and a clock, so tests drive it in a temp folder without
patching time. The CLI (runner/cli.py) only parses arguments and prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence, TextIO

from . import disk, provenance, store
from .intents import Intents
from .intents import match as intents_match
from .journal import Clock, Journal
from .pipeline import Pipeline, StepFn
from .providers.base import ProviderSet


class SessionError(Exception):
    """Something a person must fix; the message is one line."""


class AlreadyDone(Exception):
    """Nothing to do (resuming a completed session)."""


def check_root_writable(root: Path) -> None:
    try:
        store.sessions_dir(root).mkdir(parents=True, exist_ok=True)
        store.logs_dir(root).mkdir(parents=True, exist_ok=True)
        for folder in (store.sessions_dir(root), store.logs_dir(root)):
            fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise SessionError(f"cannot write to data root {root}: {exc.strerror or exc}") from None


def check_ffmpeg() -> str:
    from .media import ffmpeg  # noqa: PLC0415 - keeps `list`/`show` free of media imports

    try:
        return ffmpeg.ffmpeg_exe()
    except ffmpeg.FFmpegMissing as exc:
        raise SessionError(str(exc)) from None


def disk_to_write(root: Path, params: Mapping[str, Any], *, session: str | None = None,
                  statvfs: disk.Statvfs = os.statvfs) -> int:
    """Bytes a run (or the rest of a resumed session) will still write under root: the estimate
    of disk.check_space, less what the session's folder already holds. Raises
    disk.NotEnoughSpace when the data root's disk has less free than that."""
    written = store.tree_bytes(store.session_dir(root, session)) if session else 0
    return disk.check_space(root, dict(params), written=written, statvfs=statvfs)


def check_disk_space(root: Path, params: Mapping[str, Any], *, session: str | None = None) -> None:
    """Refuse a run whose files would not fit on the data root's disk (disk_to_write)."""
    try:
        disk_to_write(root, params, session=session)
    except disk.NotEnoughSpace as exc:
        raise SessionError(str(exc)) from None


def check_provider_keys(params: store.Params, env: Mapping[str, str]) -> None:
    """Refuse a paid run whose key is missing before any session folder exists."""
    if params.get("provider") == "fal" and not env.get("FAL_KEY", "").strip():
        raise SessionError("--provider fal needs FAL_KEY: put it in .env (see .env.example and docs/providers.md), "
                           "or use --provider local")


def create(root: Path, params: store.Params, *, clock: Clock = store.utc_now,
           series: dict[str, Any] | None = None, own: dict[str, Any] | None = None) -> store.State:
    """Make the session folder and its first checkpoint; params must be validated already.

    series: the series and entry this session makes (runner/series.py), in its first write.
    own: the person's own files as runner/library.py checked them (Own.as_state()).
    """
    now = clock()
    base = store.new_session_id(params["theme"], now)
    sid = base
    for n in range(2, 100):
        try:
            store.session_dir(root, sid).mkdir(parents=True)
            break
        except FileExistsError:
            sid = f"{base}-{n}"
    else:  # pragma: no cover - 99 sessions with one theme in one second
        raise SessionError("could not pick a unique session id")
    state = store.new_state(sid, params, now)
    if series is not None:
        state["series"] = series
    if own:
        state["own"] = own
    try:
        store.write_state(root, state, now)
        provenance.write(store.session_dir(root, sid), state, now)
    except OSError:  # a full disk: leave no folder without a state behind
        shutil.rmtree(store.session_dir(root, sid), ignore_errors=True)
        raise
    return state


@contextlib.contextmanager
def session_lock(root: Path, sid: str) -> Iterator[None]:
    """One runner per session: the lock dies with the process, even under SIGKILL."""
    path = store.session_dir(root, sid) / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SessionError(f"session {sid} is already being run by another process") from None
        yield
    finally:
        os.close(fd)


def load(root: Path, sid: str) -> store.State:
    if not store.is_session_id(sid):
        raise SessionError(f"no session {sid!r}: session ids look like 20261121-031500-rainy-night")
    if not store.session_dir(root, sid).is_dir():
        raise SessionError(f"no session {sid} under {store.sessions_dir(root)}")
    state, reason = store.load_state(root, sid)
    if state is None:
        raise SessionError(f"session {sid} is unreadable: {reason}")
    return state


def execute(root: Path, state: store.State, providers: ProviderSet, *, echo: TextIO | None = None,
            clock: Clock = store.utc_now, step_fns: Mapping[str, StepFn] | None = None,
            resend: Sequence[str] = ()) -> str:
    """Run the pipeline for this state to its end; return the session's status.

    resend: ids of unknown-outcome requests a person said to send again (resolve_resend).
    SIGINT and SIGTERM cancel the run cleanly: the state says interrupted and resume continues.
    """
    if step_fns is None:
        from .steps import STEP_FUNCTIONS  # noqa: PLC0415

        step_fns = STEP_FUNCTIONS
    journal = Journal(root, state, clock=clock, echo=echo)
    pipeline = Pipeline(root, journal, providers, dict(step_fns), clock=clock, resend=resend)
    with session_lock(root, state["id"]):
        return asyncio.run(_run_cancellable(pipeline))


async def _run_cancellable(pipeline: Pipeline) -> str:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None  # asyncio.run runs this coroutine as a task
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, task.cancel)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass
    try:
        return await pipeline.run()
    except asyncio.CancelledError:
        return "interrupted"
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def prepare_resume(root: Path, sid: str, *, cap: float | None = None,
                   now: Any = None) -> store.State:
    """The state to continue from, or AlreadyDone / SessionError saying why not."""
    state = load(root, sid)
    status = store.effective_status(state, now)
    if status == "completed":
        raise AlreadyDone(f"session {sid} is already completed; nothing to do")
    if status in ("running", "queued") and store.pid_alive(state.get("pid")):
        raise SessionError(f"session {sid} is running now (pid {state.get('pid')}); watch it with "
                           f"`python -m runner monitor {sid}`")
    if status == "awaiting_review":
        raise SessionError(f"session {sid} is awaiting review; approve it with `python -m runner approve {sid}`")
    if cap is not None:
        if cap <= 0:
            raise SessionError("cap must be more than 0 dollars")
        state["cost"]["cap_usd"] = cap
        state["params"]["cap"] = cap
    if status == "halted_budget" and state["cost"]["cap_usd"] < _halt_need(state):
        raise SessionError(f"session {sid} halted at its ${state['cost']['cap_usd']:.2f} cap: "
                           f"{(state.get('halt') or {}).get('message', '')}; resume with a higher --cap")
    for step in state["steps"].values():
        if step.get("status") == "running":  # the process died inside it
            step["status"] = "pending"
    return state


def resolve_resend(root: Path, sid: str, names: Sequence[str], every: bool) -> list[str]:
    """The intent ids `resume --resend NAME ...` / `--resend-all` mean; SessionError when one names nothing.

    A name is an intent id (or its first 6+ characters) or a call's label ("track 2/4"), as
    the needs_attention message gives them. Only requests whose outcome is unknown qualify.
    """
    if not names and not every:
        return []
    unknown = Intents(store.session_dir(root, sid)).unknown()
    if not unknown:
        raise SessionError(f"session {sid} has no paid request with an unknown outcome; nothing to resend")
    if every:
        return [i.id for i in unknown]
    waiting = ", ".join(f"{i.id} ({i.label})" for i in unknown)
    chosen: list[str] = []
    for name in names:
        found = intents_match(unknown, name)
        if not found:
            raise SessionError(f"no request with an unknown outcome matches {name!r}; waiting: {waiting}")
        chosen += [i.id for i in found if i.id not in chosen]
    return chosen


def _halt_need(state: store.State) -> float:
    halt = state.get("halt") or {}
    return float(state["cost"].get("spent_usd") or 0.0) + float(halt.get("estimate_usd") or 0.0)


def prepare_approve(root: Path, sid: str, *, privacy: str | None = None,
                    clock: Clock = store.utc_now) -> store.State:
    state = load(root, sid)
    status = store.effective_status(state)
    if status != "awaiting_review":
        raise SessionError(f"session {sid} is {status}, not awaiting review; only a reviewed run can be approved")
    if privacy is not None:
        if privacy not in store.PRIVACIES:
            raise SessionError(f"unknown privacy {privacy!r}; choose one of: {', '.join(store.PRIVACIES)}")
        state["privacy_override"] = privacy
    state["approved_at"] = store.iso(clock())
    return state
