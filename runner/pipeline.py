"""The seven steps in three phases, checkpointed so a run can stop anywhere and resume.

    variation -> ( artwork -> motion  ||  music ) -> render -> metadata -> [review] -> upload

A step whose status is done or skipped never runs again. A step that stopped half-way runs
again, and keeps whatever it checkpointed (finished tracks, an upload offset) in its outputs.
"""

from __future__ import annotations

import asyncio
import os
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping, Sequence

from . import disk, provenance, store
from .budget import Budget, BudgetExceeded
from .cache import PaidCache
from .daily import DailyBudget, DailyBudgetExceeded
from .intents import Intent, Intents, NeedsAttention, attention_message
from .journal import Clock, Journal
from .providers.base import Call, ProviderSet, RunFn

HEARTBEAT_SECONDS = 2.0


class Skip(Exception):
    """Raised by a step that decides not to run; the message is the reason shown to people."""


class StepFailed(Exception):
    """A step failed; its error is already in the state. disk: it failed because a disk was
    full, over quota or read-only (runner/disk.py), so the run's scratch files go too."""

    def __init__(self, step: str, error: str, *, disk: bool = False):
        super().__init__(f"{step}: {error}")
        self.step, self.error, self.disk = step, error, disk


@dataclass(frozen=True)
class StepResult:
    """What a step returns: outputs merged into `steps.<name>.outputs`, and a one-line note
    for people (shown beside the step; None for none)."""

    outputs: dict[str, Any]
    note: str | None = None


class StepContext:
    """What a step sees: its folder, the run's choices, earlier steps' outputs, the spend door.

    It is also the `ProviderContext` (providers/base.py) the step hands its provider.
    """

    def __init__(self, pipeline: "Pipeline", step: str):
        self._p = pipeline
        self.step = step
        self.root: Path = pipeline.root
        self.session_dir: Path = pipeline.journal.dir
        self.params: store.Params = pipeline.journal.state["params"]
        self.providers: ProviderSet = pipeline.providers

    @property
    def variation(self) -> dict[str, Any]:
        return self._p.journal.state["steps"]["variation"]["outputs"].get("variation") or {}

    @property
    def outputs(self) -> dict[str, Any]:
        """This step's outputs, kept across attempts; mutate, then call save()."""
        return self._p.journal.step(self.step)["outputs"]

    def outputs_of(self, step: str) -> dict[str, Any]:
        return self._p.journal.step(step)["outputs"]

    @property
    def state(self) -> store.State:
        """The whole session state, to read; a step writes only through its outputs."""
        return self._p.journal.state

    def save(self) -> None:
        self._p.journal.save()

    def checkpoint(self) -> dict[str, Any]:
        """A scratch dict persisted in state.json with this step (upload offsets, request ids)."""
        return self.outputs.setdefault("checkpoint", {})

    def progress(self, *, done: int | None = None, total: int | None = None,
                 percent: float | None = None, label: str | None = None) -> None:
        self._p.journal.progress(self.step, done=done, total=total, percent=percent, label=label)

    def event(self, type_: str, message: str, **data: Any) -> None:
        self._p.journal.event(type_, message, self.step, data)

    def log(self, level: str, message: str) -> None:
        self._p.journal.log(level, message, self.step)

    async def spend(self, call: Call, run: RunFn) -> dict[str, Any]:
        return await self._p.spend(self.step, call, run)

    # -- the intent record (runner/intents.py); see ProviderContext for what each means --------

    def sent_request(self, call_key: str) -> str | None:
        intent = self._p.intents.open_for(call_key)
        return intent.request_id if intent is not None and intent.reattach else None

    def before_submit(self, call_key: str, *, provider: str, app: str, arguments: Any, reattach: bool,
                      label: str | None = None) -> None:
        self._p.before_submit(self.step, call_key, provider=provider, app=app, arguments=arguments,
                              reattach=reattach, label=label)

    def submitted(self, call_key: str, request_id: str) -> None:
        self._p.close_intent(call_key, "accepted", request_id)

    def not_submitted(self, call_key: str, reason: str) -> None:
        self._p.close_intent(call_key, "refused", reason)

    def request_lost(self, call_key: str) -> None:
        self._p.close_intent(call_key, "lost")

    def request_done(self, call_key: str) -> None:
        self._p.close_intent(call_key, "done")


StepFn = Callable[[StepContext], Awaitable[StepResult]]


@dataclass(frozen=True)
class _Sending:
    """A paid call between the cap check and its answer: what its intent is filed under."""

    call_id: str
    call: Call


class Pipeline:
    def __init__(self, root: Path, journal: Journal, providers: ProviderSet,
                 step_fns: dict[str, StepFn], *, clock: Clock = store.utc_now, resend: Sequence[str] = ()):
        self.root = root
        self.journal = journal
        self.providers = providers
        self.step_fns = step_fns
        self.clock = clock
        self.intents = Intents(journal.dir, clock)
        self.resend = tuple(resend)  # intent ids a person said to send again (resume --resend)
        self._sending: dict[str, _Sending] = {}
        cost = journal.state["cost"]
        self.budget = Budget(float(cost["cap_usd"]), float(cost.get("spent_usd") or 0.0),
                             self.intents.possibly_paid_usd())
        self.cache = PaidCache(root)
        # A series session also answers to its series' daily budget (runner/daily.py).
        self.daily = DailyBudget.for_state(root, journal.state, clock)

    # -- money ----------------------------------------------------------------------------

    async def spend(self, step: str, call: Call, run: RunFn) -> dict[str, Any]:
        """The one door for every provider call: cache, cap, ledger, and the intent record.

        A cached answer is returned unpaid. Otherwise the estimate is reserved (BudgetExceeded
        when it would cross the cap), run() is awaited, and what was paid is booked. A request
        an earlier run sent and can re-attach to keeps its hold (it moves from unconfirmed to
        this reservation). When run() fails after its request went out with an unknown outcome
        (runner/intents.py), the estimate stays held as possibly spent and NeedsAttention is
        raised instead of the provider's error.
        """
        j = self.journal
        key = call.cache_key()
        if call.cacheable and call.estimate_usd > 0:
            hit = self.cache.get(key)
            if hit is not None:
                hit.setdefault("origin", call.origin(None))  # answers cached before origins were kept
                self.close_intent(key, "done")
                j.event("cache_hit", f"{call.label}: answered from cache, not paid again", step,
                        {"provider": call.provider, "model": call.model, "cache_key": key})
                j.log("INFO", f"{call.label}: cached answer reused ($0.00)", step)
                return hit
        earlier = self.intents.open_for(key)
        if earlier is not None and earlier.unknown:
            raise NeedsAttention([earlier], attention_message(j.id, [earlier]))
        if earlier is not None:
            self.budget.adopt(earlier.estimate_usd)
        self.budget.reserve(call.label, call.model, call.estimate_usd)  # raises BudgetExceeded
        call_id = uuid.uuid4().hex[:12]
        base = {"call_id": call_id, "provider": call.provider, "model": call.model, "asset": call.asset,
                "step": step, "label": call.label, "cache_key": key}
        self._book_estimate(call, earlier is not None, lambda: j.ledger(
            {**base, "phase": "estimate", "usd": round(call.estimate_usd, 4)}))
        self._sending[key] = _Sending(call_id, call)
        try:
            result = await run()
        except Exception as exc:
            intent = self.intents.latest(key)
            if intent is not None and (intent.open or intent.unknown):
                # Sent, and not plainly refused: it may be billed. Hold its estimate.
                self.budget.unconfirm(call.estimate_usd)
                self._book_unconfirmed()
                j.ledger({**base, "phase": "unconfirmed", "usd": round(call.estimate_usd, 4),
                          **_named(intent.request_id)})
                j.save()
                if intent.unknown:
                    raise NeedsAttention([intent], attention_message(j.id, [intent]), cause=exc) from exc
                raise
            self.budget.settle(call.estimate_usd, None)
            j.ledger({**base, "phase": "failed", "usd": 0.0})
            raise
        finally:
            self._sending.pop(key, None)
        latest = self.intents.latest(key)
        request_id = latest.request_id if latest is not None else None
        result = {**result, "origin": call.origin(request_id)}
        actual = float(result.get("cost_usd", call.estimate_usd))
        paid = self.budget.settle(call.estimate_usd, actual)
        cost = j.state["cost"]
        cost["spent_usd"] = round(self.budget.spent_usd, 6)
        by_asset = cost.setdefault("by_asset", {})
        by_asset[call.asset] = round(float(by_asset.get(call.asset, 0.0)) + paid, 6)
        s = j.step(step)
        s["cost_usd"] = round(float(s.get("cost_usd") or 0.0) + paid, 6)
        self._book_unconfirmed()
        j.ledger({**base, "phase": "actual", "usd": round(paid, 4), **_named(request_id)})
        j.save()
        if paid > 0:
            j.event("paid_call", f"{call.label}: ${paid:.3f}", step, {
                "provider": call.provider, "model": call.model, "asset": call.asset, "usd": round(paid, 4),
                "spent_usd": cost["spent_usd"], "cap_usd": cost["cap_usd"]})
            j.log("INFO", f"{call.label}: paid ${paid:.3f} (${cost['spent_usd']:.3f} of ${cost['cap_usd']:.2f})", step)
        if call.cacheable and paid > 0:
            result = self.cache.put(key, result)
        self.close_intent(key, "done")  # only now is the answer safely on disk
        return result

    def _book_estimate(self, call: Call, reattaching: bool, write: Callable[[], None]) -> None:
        """Write the estimate line; for a series session, only once the daily budget admits it.

        The check and the line happen under one data-root lock, so runners of other sessions
        see this estimate before they check. A request an earlier run sent and this one only
        follows again costs nothing new and is not checked (its old line still counts: a
        conservative double count). Over the daily budget: this run's hold is released, and
        every later call of the run is refused too, as after a cap halt.
        """
        if self.daily is None or call.estimate_usd <= 0 or reattaching:
            write()
            return
        try:
            self.daily.admit(call.label, call.model, call.estimate_usd, write)
        except DailyBudgetExceeded as exc:
            self.budget.settle(call.estimate_usd, None)
            self.budget.halted = exc
            raise

    def before_submit(self, step: str, call_key: str, *, provider: str, app: str, arguments: Any,
                      reattach: bool, label: str | None = None) -> Intent:
        """Write the intent for a request about to be sent; returns once it is on disk."""
        sending = self._sending.get(call_key)
        call = sending.call if sending is not None else None
        return self.intents.begin(
            id=sending.call_id if sending is not None else uuid.uuid4().hex[:12], call_key=call_key,
            provider=provider, app=app, arguments=arguments, step=step,
            asset=call.asset if call is not None else step, label=label or (call.label if call is not None else app),
            estimate_usd=call.estimate_usd if call is not None else 0.0, reattach=reattach)

    def close_intent(self, call_key: str, phase: str, detail: str | None = None) -> None:
        """Move this call's open intent on: accepted (detail: request id), done, refused, lost.

        Safe from a worker thread (the intent record has its own lock; nothing else is touched).
        """
        intent = self.intents.open_for(call_key)
        if intent is None:
            return
        if phase == "accepted":
            self.intents.accepted(intent.id, str(detail))
        else:
            self.intents.close(intent.id, phase, detail)

    def _book_unconfirmed(self) -> None:
        self.journal.state["cost"]["unconfirmed_usd"] = round(self.budget.unconfirmed_usd, 6)

    # -- what an earlier run left open ----------------------------------------------------

    def _settle_earlier_intents(self) -> list[Intent]:
        """Apply the person's resend, close what is known done; return what still needs a person."""
        j = self.journal
        for iid in self.resend:
            intent = self.intents.by_id.get(iid)
            if intent is None or not intent.unknown:
                continue
            self.intents.close(iid, "resent", "resend asked by a person")
            j.ledger({"call_id": iid, "provider": intent.provider, "model": intent.app, "asset": intent.asset,
                      "step": intent.step, "label": intent.label, "cache_key": intent.call_key,
                      "phase": "unconfirmed", "usd": round(intent.estimate_usd, 4), **_named(intent.request_id)})
            j.event("resend", f"{intent.label}: sending it again on a person's word; the first request "
                              f"(sent {intent.sent_at}) stays counted as possibly spent", intent.step,
                    {"intent": iid, "estimate_usd": round(intent.estimate_usd, 4)})
        for intent in list(self.intents.by_id.values()):
            if not intent.open:
                continue
            step = j.state["steps"].get(intent.step)
            finished = step is not None and step["status"] in ("done", "skipped")
            if finished or self.cache.get(intent.call_key) is not None:
                self.intents.close(intent.id, "done", "its answer was already on disk")
        self.budget.unconfirmed_usd = self.intents.possibly_paid_usd()
        self._book_unconfirmed()
        return self.intents.unknown()

    def _stop_for_attention(self, unknown: list[Intent]) -> str:
        j = self.journal
        message = attention_message(j.id, unknown)
        attention = {"message": message, "calls": [i.as_attention() for i in unknown]}
        j.event("needs_attention", message, None, attention)
        j.log("ERROR", f"needs attention: {message}")
        j.set_status("needs_attention", attention=attention)
        return "needs_attention"

    # -- steps ----------------------------------------------------------------------------

    async def run_step(self, name: str) -> None:
        j = self.journal
        if j.step(name)["status"] in ("done", "skipped"):
            return
        j.step_started(name)
        ctx = StepContext(self, name)
        try:
            result = await self.step_fns[name](ctx)
        except Skip as skip:
            j.step_skipped(name, str(skip))
            return
        except BudgetExceeded as exc:
            j.step_failed(name, f"halted by the spend cap: {exc}")
            raise
        except NeedsAttention as exc:
            j.step_failed(name, f"needs attention: {exc}")
            raise
        except asyncio.CancelledError:
            s = j.step(name)
            s.update({"status": "pending", "error": "interrupted", "progress": None})
            j.save()
            raise
        except Exception as exc:  # a step's failure is data for the person, not a crash
            unknown = [i for i in self.intents.unknown() if i.step == name]
            if unknown:  # it failed after a request went out whose outcome nobody knows
                j.log("DEBUG", "".join(traceback.format_exception(exc)).replace("\n", " | "), name)
                message = attention_message(j.id, unknown)
                j.step_failed(name, f"needs attention: {message}")
                raise NeedsAttention(unknown, message, cause=exc) from exc
            code = disk.disk_errno(exc)
            error = disk.describe(code, self.root, j.id) if code else _describe(exc)
            _quietly(j.log, "DEBUG", "".join(traceback.format_exception(exc)).replace("\n", " | "), name)
            j.step_failed(name, error)
            raise StepFailed(name, error, disk=code is not None) from exc
        j.step_done(name, result.outputs, result.note)
        provenance.write(j.dir, j.state, self.clock())  # what the step made, and where from

    async def _visual(self) -> None:
        await self.run_step("artwork")
        await self.run_step("motion")

    async def run(self) -> str:
        """Run (or resume) to the end or the review gate; return the final session status."""
        j = self.journal
        beat: asyncio.Task[None] | None = None
        try:
            unknown = self._settle_earlier_intents()
            if unknown:  # never guess that a paid request was not received: a person decides
                return self._stop_for_attention(unknown)
            # pid and heartbeat go out with the "running" status in one write: a reader that saw
            # "running" without them would take the run for dead (interrupted).
            disk.reserve(j.dir)
            j.set_status("running", halt=None, attention=None, error=None, pid=os.getpid(),
                         heartbeat_at=store.iso(self.clock()))
            beat = asyncio.create_task(self._heartbeat())
            await self.run_step("variation")
            results = await asyncio.gather(self._visual(), self.run_step("music"), return_exceptions=True)
            for kind in (NeedsAttention, BudgetExceeded):  # money first: it explains the other branch
                for r in results:
                    if isinstance(r, kind):
                        raise r
            for r in results:
                if isinstance(r, BaseException):
                    raise r
            await self.run_step("render")
            await self.run_step("metadata")
            if self._needs_review():
                j.log("INFO", "awaiting review: approve with `python -m runner approve "
                      f"{j.id}` to upload", "upload")
                j.set_status("awaiting_review")
                return "awaiting_review"
            await self.run_step("upload")
            j.set_status("completed")
            return "completed"
        except NeedsAttention as exc:
            return self._stop_for_attention(self.intents.unknown() or exc.intents)
        except BudgetExceeded as exc:
            halt = self.budget.halted.as_dict() if self.budget.halted else BudgetExceeded.as_dict(exc)
            j.event("budget_halt", str(exc), None, halt)
            j.log("ERROR", f"halted: {exc}")
            j.set_status("halted_budget", halt=halt)
            return "halted_budget"
        except StepFailed as exc:
            if exc.disk:
                self._clear_scratch()
            _quietly(j.set_status, "failed", error=str(exc))
            return "failed"
        except OSError as exc:  # one of the runner's own writes (state, timeline, log) found no room
            code = disk.disk_errno(exc)
            if code is None:
                raise
            error = disk.describe(code, self.root, j.id)
            self._clear_scratch()
            _quietly(j.log, "ERROR", error)
            _quietly(j.set_status, "failed", error=error)
            return "failed"
        except asyncio.CancelledError:
            j.log("WARN", "interrupted; `python -m runner resume " + j.id + "` continues it")
            j.set_status("interrupted")
            raise
        finally:
            if beat is not None:
                beat.cancel()
            disk.release(j.dir)
            j.state["pid"] = None
            _quietly(j.save)

    def _clear_scratch(self) -> None:
        """After a full disk: remove what the failed steps left half-written, so space comes back."""
        removed = disk.remove_scratch(self.journal.dir)
        if removed:
            _quietly(self.journal.log, "INFO", f"removed {len(removed)} temporary file(s): {', '.join(removed[:5])}")

    def _needs_review(self) -> bool:
        st = self.journal.state
        return bool(st["params"].get("review")) and not st.get("approved_at") \
            and self.journal.step("upload")["status"] not in ("done", "skipped")

    async def _heartbeat(self) -> None:
        while True:
            _quietly(self.journal.heartbeat)  # a full disk fails the step that meets it, not the beat
            await asyncio.sleep(HEARTBEAT_SECONDS)


def _named(request_id: str | None) -> dict[str, str]:
    """The ledger's `request_id` field, present only when the service named the request."""
    return {"request_id": request_id} if request_id else {}


def _quietly(write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """A write on the way out of a failure: if the disk refuses it too, the failure still ends
    cleanly (the in-memory state is right, and resume re-reads what did reach the disk)."""
    try:
        write(*args, **kwargs)
    except OSError:
        pass


def _describe(exc: BaseException) -> str:
    """One line for people. Errors written for people keep their words; others get their type named."""
    from .media.ffmpeg import FFmpegError, FFmpegMissing, MediaError  # noqa: PLC0415
    from .providers.errors import ProviderError  # noqa: PLC0415

    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    if isinstance(exc, (MediaError, FFmpegError, FFmpegMissing, ProviderError)):
        return first
    return f"{type(exc).__name__}: {first}"
