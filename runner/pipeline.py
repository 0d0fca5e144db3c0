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
from typing import Any, Awaitable, Callable, Mapping

from . import store
from .budget import Budget, BudgetExceeded
from .cache import PaidCache
from .journal import Clock, Journal
from .providers.base import Call, ProviderSet, RunFn

HEARTBEAT_SECONDS = 2.0


class Skip(Exception):
    """Raised by a step that decides not to run; the message is the reason shown to people."""


class StepFailed(Exception):
    """A step failed; its error is already in the state."""

    def __init__(self, step: str, error: str):
        super().__init__(f"{step}: {error}")
        self.step, self.error = step, error


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
        self.params: dict[str, Any] = pipeline.journal.state["params"]
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
    def state(self) -> Mapping[str, Any]:
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


StepFn = Callable[[StepContext], Awaitable[StepResult]]


class Pipeline:
    def __init__(self, root: Path, journal: Journal, providers: ProviderSet,
                 step_fns: dict[str, StepFn], *, clock: Clock = store.utc_now):
        self.root = root
        self.journal = journal
        self.providers = providers
        self.step_fns = step_fns
        self.clock = clock
        cost = journal.state["cost"]
        self.budget = Budget(float(cost["cap_usd"]), float(cost.get("spent_usd") or 0.0))
        self.cache = PaidCache(root)

    # -- money ----------------------------------------------------------------------------

    async def spend(self, step: str, call: Call, run: RunFn) -> dict[str, Any]:
        j = self.journal
        key = call.cache_key()
        if call.cacheable and call.estimate_usd > 0:
            hit = self.cache.get(key)
            if hit is not None:
                j.event("cache_hit", f"{call.label}: answered from cache, not paid again", step,
                        {"provider": call.provider, "model": call.model, "cache_key": key})
                j.log("INFO", f"{call.label}: cached answer reused ($0.00)", step)
                return hit
        self.budget.reserve(call.label, call.model, call.estimate_usd)  # raises BudgetExceeded
        call_id = uuid.uuid4().hex[:12]
        base = {"call_id": call_id, "provider": call.provider, "model": call.model, "asset": call.asset,
                "step": step, "label": call.label, "cache_key": key}
        j.ledger({**base, "phase": "estimate", "usd": round(call.estimate_usd, 4)})
        try:
            result = await run()
        except BaseException:
            self.budget.settle(call.estimate_usd, None)
            j.ledger({**base, "phase": "failed", "usd": 0.0})
            raise
        actual = float(result.get("cost_usd", call.estimate_usd))
        paid = self.budget.settle(call.estimate_usd, actual)
        cost = j.state["cost"]
        cost["spent_usd"] = round(self.budget.spent_usd, 6)
        by_asset = cost.setdefault("by_asset", {})
        by_asset[call.asset] = round(float(by_asset.get(call.asset, 0.0)) + paid, 6)
        s = j.step(step)
        s["cost_usd"] = round(float(s.get("cost_usd") or 0.0) + paid, 6)
        j.ledger({**base, "phase": "actual", "usd": round(paid, 4)})
        j.save()
        if paid > 0:
            j.event("paid_call", f"{call.label}: ${paid:.3f}", step, {
                "provider": call.provider, "model": call.model, "asset": call.asset, "usd": round(paid, 4),
                "spent_usd": cost["spent_usd"], "cap_usd": cost["cap_usd"]})
            j.log("INFO", f"{call.label}: paid ${paid:.3f} (${cost['spent_usd']:.3f} of ${cost['cap_usd']:.2f})", step)
        if call.cacheable and paid > 0:
            result = self.cache.put(key, result)
        return result

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
        except asyncio.CancelledError:
            s = j.step(name)
            s.update(status="pending", error="interrupted", progress=None)
            j.save()
            raise
        except Exception as exc:  # a step's failure is data for the person, not a crash
            error = _describe(exc)
            j.log("DEBUG", "".join(traceback.format_exception(exc)).replace("\n", " | "), name)
            j.step_failed(name, error)
            raise StepFailed(name, error) from exc
        j.step_done(name, result.outputs, result.note)

    async def _visual(self) -> None:
        await self.run_step("artwork")
        await self.run_step("motion")

    async def run(self) -> str:
        """Run (or resume) to the end or the review gate; return the final session status."""
        j = self.journal
        # pid and heartbeat go out with the "running" status in one write: a reader that saw
        # "running" without them would take the run for dead (interrupted).
        j.set_status("running", halt=None, error=None, pid=os.getpid(), heartbeat_at=store.iso(self.clock()))
        beat = asyncio.create_task(self._heartbeat())
        try:
            await self.run_step("variation")
            results = await asyncio.gather(self._visual(), self.run_step("music"), return_exceptions=True)
            for r in results:  # budget first: it explains a failure the other branch saw
                if isinstance(r, BudgetExceeded):
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
        except BudgetExceeded as exc:
            halt = self.budget.halted.as_dict() if self.budget.halted else BudgetExceeded.as_dict(exc)
            j.event("budget_halt", str(exc), None, halt)
            j.log("ERROR", f"halted: {exc}")
            j.set_status("halted_budget", halt=halt)
            return "halted_budget"
        except StepFailed as exc:
            j.set_status("failed", error=str(exc))
            return "failed"
        except asyncio.CancelledError:
            j.log("WARN", "interrupted; `python -m runner resume " + j.id + "` continues it")
            j.set_status("interrupted")
            raise
        finally:
            beat.cancel()
            j.state["pid"] = None
            j.save()

    def _needs_review(self) -> bool:
        st = self.journal.state
        return bool(st["params"].get("review")) and not st.get("approved_at") \
            and self.journal.step("upload")["status"] not in ("done", "skipped")

    async def _heartbeat(self) -> None:
        while True:
            self.journal.heartbeat()
            await asyncio.sleep(HEARTBEAT_SECONDS)


def _describe(exc: BaseException) -> str:
    """One line for people. Errors written for people keep their words; others get their type named."""
    from .media.ffmpeg import FFmpegError, FFmpegMissing, MediaError  # noqa: PLC0415
    from .providers.errors import ProviderError  # noqa: PLC0415

    text = str(exc).strip() or type(exc).__name__
    first = text.splitlines()[0]
    if isinstance(exc, (MediaError, FFmpegError, FFmpegMissing, ProviderError)):
        return first
    return f"{type(exc).__name__}: {first}"
