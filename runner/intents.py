"""Paid requests written ahead: an intent before every submit, its request id as soon as known.

A run can be killed between a service accepting a request (and billing it) and the runner
recording the answer. Resending blindly would pay twice; never resending would lose what was
paid for. So every paid submit (fal, ElevenLabs) and every YouTube upload session is written
down, durably, before it is sent, and its request id (fal's request id, YouTube's upload
session URI) the moment it is known:

    intent     before the request goes out: call key, provider, app, hash of the arguments,
               label, step, estimate, time, and whether the service lets us re-attach
    accepted   the service answered with a request id (re-attach to it after a kill)
    done       the answer is safely on disk (or in the paid cache)
    refused    the service plainly did not take it (an error answer, no connection): unpaid
    lost       accepted, but the service no longer has the answer: possibly paid
    resent     a person said to send it again (`resume --resend`); it stays possibly paid

Open (intent or accepted) with a request id the provider can follow again: resume re-attaches.
Open without one, open with a provider that cannot re-attach (ElevenLabs answers in one
response), or lost: the outcome is unknown. The session stops as `needs_attention` until a
person checks the service and says resend; the estimate of every possibly paid request stays
counted against the cap (Budget.unconfirmed_usd), so money that may be gone is never spent
again.

The record is `intents.jsonl` in the session folder, append-only, one JSON object a line, each
line fsynced before the call that depends on it returns (and the folder fsynced when the file
is created), so neither a SIGKILL nor a power cut can lose an intent that was acted on. It is
safe to call from a worker thread (the YouTube upload records its session URI from one).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

from . import store

FILE = "intents.jsonl"
OPEN_PHASES = frozenset({"intent", "accepted"})
# Phases after which the money may have gone: counted against the cap until the session ends.
POSSIBLY_PAID = frozenset({"intent", "accepted", "lost", "resent"})

# Where a person looks to see whether a request went through, per provider.
CHECK = {
    "fal": "your fal request history (https://fal.ai/dashboard/requests)",
    "elevenlabs": "your ElevenLabs usage and history (https://elevenlabs.io/app/usage)",
    "youtube": "YouTube Studio (https://studio.youtube.com): a video appears only once its last byte arrived, "
               "so an upload session that was opened but not recorded published nothing",
}


@dataclass(frozen=True)
class Intent:
    id: str                     # the ledger's call_id of the spend that sent it (or a fresh one)
    call_key: str               # Call.cache_key(): the same request asked again has the same key
    provider: str
    app: str                    # fal endpoint, ElevenLabs model, or "videos.insert"
    args_sha256: str
    label: str                  # for people: "track 2/4"
    step: str
    asset: str                  # image | video | music | ambience | upload
    estimate_usd: float
    sent_at: str
    reattach: bool              # a request id lets this provider follow the request again
    request_id: str | None = None
    phase: str = "intent"

    @property
    def open(self) -> bool:
        return self.phase in OPEN_PHASES

    @property
    def unknown(self) -> bool:
        """Sent, and nobody can tell from here whether it was taken (or its answer is gone)."""
        return (self.open and (self.request_id is None or not self.reattach)) or self.phase == "lost"

    @property
    def possibly_paid(self) -> bool:
        return self.phase in POSSIBLY_PAID

    def check(self) -> str:
        return CHECK.get(self.provider, f"the {self.provider} dashboard")

    def as_attention(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "provider": self.provider, "app": self.app,
                "step": self.step, "sent_at": self.sent_at, "request_id": self.request_id,
                "estimate_usd": round(self.estimate_usd, 4), "check": self.check()}


class NeedsAttention(Exception):
    """Paid requests whose outcome is unknown: the run stops until a person decides."""

    def __init__(self, intents: list[Intent], message: str, cause: BaseException | None = None):
        super().__init__(message)
        self.intents = intents
        self.cause = cause


def args_hash(arguments: Any) -> str:
    blob = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class Intents:
    """The intents of one session, folded from intents.jsonl, appended to durably."""

    def __init__(self, session_dir: Path, clock: Callable[[], Any] = store.utc_now):
        self.path = session_dir / FILE
        self.clock = clock
        self._lock = threading.Lock()
        self.by_id: dict[str, Intent] = {}
        lines, _ = store.read_jsonl(self.path)
        for line in lines:
            self._fold(line)

    # -- reading ----------------------------------------------------------------------------

    def latest(self, call_key: str) -> Intent | None:
        """The newest intent for this call (insertion order is time order)."""
        with self._lock:
            found = [i for i in self.by_id.values() if i.call_key == call_key]
        return found[-1] if found else None

    def open_for(self, call_key: str) -> Intent | None:
        latest = self.latest(call_key)
        return latest if latest is not None and latest.open else None

    def unknown(self) -> list[Intent]:
        with self._lock:
            return [i for i in self.by_id.values() if i.unknown]

    def possibly_paid_usd(self) -> float:
        with self._lock:
            return round(sum(i.estimate_usd for i in self.by_id.values() if i.possibly_paid), 6)

    # -- writing ----------------------------------------------------------------------------

    def begin(self, *, id: str, call_key: str, provider: str, app: str, arguments: Any, label: str, step: str,
              asset: str, estimate_usd: float, reattach: bool) -> Intent:
        """Record that this request is about to be sent; returns once the line is on disk."""
        line = {"id": id, "phase": "intent", "call_key": call_key, "provider": provider, "app": app,
                "args_sha256": args_hash(arguments), "label": label, "step": step, "asset": asset,
                "estimate_usd": round(float(estimate_usd), 6), "reattach": bool(reattach)}
        return self._write(line)

    def accepted(self, id: str, request_id: str) -> Intent:
        return self._write({"id": id, "phase": "accepted", "request_id": str(request_id)})

    def close(self, id: str, phase: str, reason: str | None = None) -> Intent:
        if phase not in ("done", "refused", "lost", "resent"):
            raise ValueError(f"not a closing phase: {phase}")
        return self._write({"id": id, "phase": phase, **({"reason": reason} if reason else {})})

    def _write(self, line: dict[str, Any]) -> Intent:
        line = {"ts": store.iso(self.clock()), **line}
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                _append_whole(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.path.parent)
            intent = self._fold(line)
        if intent is None:
            raise KeyError(f"no intent {line['id']} in {self.path}")
        return intent

    def _fold(self, line: dict[str, Any]) -> Intent | None:
        """Apply one line to the in-memory view (lines from disk may be hostile: skip bad ones)."""
        iid = line.get("id")
        phase = line.get("phase")
        if not isinstance(iid, str) or not isinstance(phase, str):
            return None
        if phase == "intent":
            try:
                intent = Intent(id=iid, call_key=str(line["call_key"]), provider=str(line["provider"]),
                                app=str(line["app"]), args_sha256=str(line.get("args_sha256") or ""),
                                label=str(line.get("label") or line["app"]), step=str(line.get("step") or ""),
                                asset=str(line.get("asset") or ""),
                                estimate_usd=float(line.get("estimate_usd") or 0.0), sent_at=str(line.get("ts")),
                                reattach=bool(line.get("reattach")))
            except (KeyError, TypeError, ValueError):
                return None
            self.by_id[iid] = intent
            return intent
        known = self.by_id.get(iid)
        if known is None:
            return None
        if phase == "accepted":
            known = replace(known, phase="accepted", request_id=str(line.get("request_id") or "") or None)
        elif phase in ("done", "refused", "lost", "resent"):
            known = replace(known, phase=phase)
        self.by_id[iid] = known
        return known


def _append_whole(fd: int, data: bytes) -> None:
    """Append data as a line of its own, or raise OSError: never a torn line that is taken for written.

    A line an earlier run left without its newline (a short write on a full disk, a power cut)
    would swallow this one when read back; a newline first keeps them apart. A short write
    (the disk filled up mid-line) raises ENOSPC, so the request it stands for is never sent.
    """
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data
    if os.write(fd, data) != len(data):
        raise OSError(errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}: a line of {FILE} was only partly written")


def _fsync_dir(folder: Path) -> None:
    """Make a new file's name durable too (its data alone is not enough after a power cut)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def match(intents: Iterable[Intent], wanted: str) -> list[Intent]:
    """The unknown intents a person named: by id (or its first 6+ characters), or by label."""
    wanted = wanted.strip()
    out = []
    for i in intents:
        if i.id == wanted or (len(wanted) >= 6 and i.id.startswith(wanted)) or i.label.lower() == wanted.lower():
            out.append(i)
    return out


def attention_message(session_id: str, unknown: list[Intent]) -> str:
    """One line: which calls, what to check, which command to run."""
    if not unknown:
        return ""
    resume = f"python -m runner resume {session_id}"
    if len(unknown) == 1:
        i = unknown[0]
        named = f" as request {i.request_id}" if i.request_id else ""
        what = (f"{i.label} ({i.app}) was sent to {i.provider} at {_hhmmss(i.sent_at)} UTC{named} but its answer "
                "was never recorded" if i.phase != "lost" else
                f"{i.label} ({i.app}) was accepted by {i.provider} (request {i.request_id}) but its answer is gone")
        money = f"; its estimate ${i.estimate_usd:.3f} stays counted as possibly spent" if i.estimate_usd > 0 else ""
        return (f"{what}, so it may have gone through: check {i.check()}, then run `{resume} --resend {i.id}` "
                f"to send it again{money}")
    names = ", ".join(f"{i.label} ({i.provider}, {_hhmmss(i.sent_at)} UTC, id {i.id})" for i in unknown)
    checks = "; ".join(sorted({i.check() for i in unknown}))
    return (f"{len(unknown)} requests were sent but their answers were never recorded: {names}; check {checks}, "
            f"then run `{resume} --resend-all` (or --resend ID for each) to send them again; their estimates stay "
            "counted as possibly spent")


def _hhmmss(ts: str) -> str:
    t = store.parse_iso(ts)
    return t.strftime("%H:%M:%S") if t else "?"
