"""Step 1: draw the run's creative choices, never repeating an earlier session's key."""

from __future__ import annotations

from pathlib import Path

from .. import store, variation
from ..pipeline import StepContext, StepResult


def earlier_variations(root: Path, exclude: str) -> list[dict]:
    """The variations of every other session under root, oldest first (ids start with the UTC
    time); unreadable sessions are skipped."""
    out = []
    for sid in sorted(store.list_session_ids(root)):
        if sid == exclude:
            continue
        state = store.read_state(root, sid)
        if state is None:
            continue
        v = state["steps"]["variation"]["outputs"].get("variation") or {}
        if isinstance(v, dict) and v.get("variation_key"):
            out.append(v)
    return out


async def run(ctx: StepContext) -> StepResult:
    sid = ctx.state["id"]
    seed = int(ctx.params.get("seed") or variation.seed_for(sid))
    v = variation.draw(ctx.params, seed, earlier_variations(ctx.root, sid))
    summary = variation.describe(v)
    ctx.log("INFO", summary)
    return StepResult({"variation": v}, summary)
