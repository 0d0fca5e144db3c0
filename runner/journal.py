"""The runner's writer for one session: checkpoint, timeline, ledger and log lines.

Everything a reader sees goes through here, in the format runner/store.py defines. The
journal lives on the event loop's thread, so writes never race each other.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any, Callable, TextIO, cast

from . import disk, store

Clock = Callable[[], dt.datetime]

# A step that has said nothing at the terminal for this long gets its progress percentage
# echoed (mastering and encoding an hour run for minutes between two log lines); never more often.
PROGRESS_ECHO_S = 5.0


def copy_session_fields(state: store.State, step: str, outputs: dict[str, Any]) -> None:
    """Set the top-level state fields a finished step's outputs give: `title` (metadata) and
    `youtube` (upload).

    Readers (studio, monitor, CLI) show the video's title and YouTube link without knowing
    which step made them (docs/format.md, "state.json"). This is the one place a step's result
    reaches the session level; steps themselves write only their outputs.
    """
    if step == "metadata":
        state["title"] = outputs.get("title")
    elif step == "upload":
        youtube: store.YouTube = {"id": outputs.get("video_id"), "url": outputs.get("url"),
                                  "privacy": outputs.get("privacy")}
        # What was asked, and why YouTube differs, only where the upload recorded them.
        if "privacy_requested" in outputs:
            youtube["privacy_requested"] = outputs["privacy_requested"]
        if "privacy_note" in outputs:
            youtube["privacy_note"] = outputs["privacy_note"]
        state["youtube"] = youtube


class Journal:
    def __init__(self, root: Path, state: store.State, *, clock: Clock = store.utc_now,
                 echo: TextIO | None = None):
        self.root = root
        self.state = state
        self.clock = clock
        self.echo = echo  # the CLI's progress stream; None keeps the runner quiet
        self._echoed: dict[str | None, dt.datetime] = {}  # when each step last said something there
        self.dir = store.session_dir(root, state["id"])
        self.events_path = self.dir / "events.jsonl"
        self.ledger_path = self.dir / "ledger.jsonl"
        self.seq = store.last_seq(self.events_path)
        store.logs_dir(root).mkdir(parents=True, exist_ok=True)

    @property
    def id(self) -> str:
        return self.state["id"]

    def save(self) -> None:
        store.write_state(self.root, self.state, self.clock())

    def heartbeat(self) -> None:
        self.state["pid"] = os.getpid()
        self.state["heartbeat_at"] = store.iso(self.clock())
        self.save()

    def event(self, type_: str, message: str, step: str | None = None,
              data: dict[str, Any] | None = None) -> dict[str, Any]:
        self.seq += 1
        ev = {"seq": self.seq, "ts": store.iso(self.clock()), "type": type_, "step": step,
              "message": message, "data": data or {}}
        store.append_jsonl(self.events_path, ev)
        return ev

    def log(self, level: str, message: str, step: str | None = None) -> None:
        line = store.format_log_line(level, self.id, step, message, self.clock())
        try:
            fd = os.open(store.log_path(self.root), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        finally:  # the person at the terminal hears it even when the disk refused the log line
            if level.upper() != "DEBUG":
                self._say(step, message, warn=level.upper() in ("WARN", "ERROR"))

    def _say(self, step: str | None, message: str, *, warn: bool = False) -> None:
        if self.echo is None:
            return
        prefix = f"[{step}] " if step else ""
        stream = sys.stderr if warn and self.echo is sys.stdout else self.echo
        print(f"  {prefix}{message}", file=stream, flush=True)
        self._echoed[step] = self.clock()

    def ledger(self, entry: dict[str, Any]) -> None:
        store.append_jsonl(self.ledger_path, {"ts": store.iso(self.clock()), **entry})

    # -- step bookkeeping -------------------------------------------------------------

    def step(self, name: str) -> store.Step:
        return self.state["steps"][name]

    def step_started(self, name: str) -> None:
        s = self.step(name)
        s.update({"status": "running", "started_at": store.iso(self.clock()), "finished_at": None, "error": None})
        s["attempts"] = int(s.get("attempts") or 0) + 1
        self.save()
        self.event("step_started", f"{name} started", name, {"attempt": s["attempts"]})
        self.log("INFO", "started" + (f" (attempt {s['attempts']})" if s["attempts"] > 1 else ""), name)

    def step_done(self, name: str, outputs: dict[str, Any], note: str | None = None) -> None:
        s = self.step(name)
        s["outputs"].update(outputs)
        s.update({"status": "done", "finished_at": store.iso(self.clock()), "note": note, "progress": None})
        copy_session_fields(self.state, name, s["outputs"])  # in the same write as "done"
        self.measure_disk()
        self.save()
        seconds = store.step_seconds(s) or 0.0
        self.event("step_done", f"{name} done", name, {"seconds": seconds})
        self.log("INFO", f"done in {seconds:.1f}s" + (f": {note}" if note else ""), name)

    def step_skipped(self, name: str, reason: str) -> None:
        s = self.step(name)
        now = store.iso(self.clock())
        s.update({"status": "skipped", "note": reason, "finished_at": now, "progress": None})
        s["started_at"] = s.get("started_at") or now
        self.save()
        self.event("step_skipped", reason, name)
        self.log("INFO", f"skipped: {reason}", name)

    def step_failed(self, name: str, error: str) -> None:
        """Record a failure; each write is tried on its own, since the failure may be a full disk."""
        s = self.step(name)
        s.update({"status": "failed", "error": error, "finished_at": store.iso(self.clock())})
        self.measure_disk()
        for write in (self.save, lambda: self.event("step_failed", error, name),
                      lambda: self.log("ERROR", error, name)):
            try:
                write()
            except OSError:
                pass

    def progress(self, name: str, *, done: int | None = None, total: int | None = None,
                 percent: float | None = None, label: str | None = None) -> None:
        if percent is None and done is not None and total:
            percent = 100.0 * done / total
        text = label or (f"{name} {done}/{total}" if total else f"{name} {percent or 0:.0f}%")
        prog: store.Progress = {"done": done, "total": total,
                                "percent": None if percent is None else round(percent, 1), "label": text}
        self.step(name)["progress"] = prog
        self.save()
        self.event("progress", text, name, dict(prog))
        # Counts (tracks 3/10) come with a log line of their own; a percentage is work between lines.
        last = self._echoed.get(name)
        if total is None and (last is None or (self.clock() - last).total_seconds() >= PROGRESS_ECHO_S):
            self._say(name, text)

    def set_status(self, status: store.SessionStatus, **extra: Any) -> None:
        """Write the session's status, with other top-level fields named in extra (halt, error,
        pid, heartbeat_at) in the same write."""
        self.state["status"] = status
        # mypy cannot check keyword names against the State TypedDict; callers name its fields.
        cast("dict[str, Any]", self.state).update(extra)
        if status in store.FINAL_STATUSES or status == "awaiting_review":
            self.state["finished_at"] = store.iso(self.clock())
        else:
            self.state["finished_at"] = None
        self.measure_disk()
        self.save()
        self.event("session_status", status, None, {"status": status})

    def measure_disk(self) -> None:
        # At step ends and status changes, not every save: a walk of the folder is a few dozen
        # stats, and progress saves come many times a second.
        # The runner's .reserve (runner/disk.py) is room held for a moment, not the session's.
        self.state["disk_bytes"] = store.tree_bytes(self.dir) - store.tree_bytes(self.dir / disk.RESERVE)
