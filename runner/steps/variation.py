"""Step 1: draw the run's creative choices, never repeating an earlier session's key."""

from __future__ import annotations

from pathlib import Path

from .. import store, variation
from ..pipeline import StepContext, StepResult


def used_keys(root: Path, exclude: str) -> set[str]:
    """The variation keys of every other session under root (unreadable ones are skipped)."""
    keys: set[str] = set()
    for sid in store.list_session_ids(root):
        if sid == exclude:
            continue
        state = store.read_state(root, sid)
        if state is None:
            continue
        v = state["steps"]["variation"]["outputs"].get("variation") or {}
        if v.get("variation_key"):
            keys.add(v["variation_key"])
    return keys


async def run(ctx: StepContext) -> StepResult:
    sid = ctx.state["id"]
    seed = int(ctx.params.get("seed") or variation.seed_for(sid))
    v = variation.draw(ctx.params, seed, used_keys(ctx.root, sid))
    summary = f"{v['palette_name']} palette, {v['scene']}, Porsuk {v['pose']}, {v['weather']}"
    ctx.log("INFO", summary)
    return StepResult({"variation": v}, summary)
