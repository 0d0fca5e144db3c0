"""Step 6: metadata.json with a lofi title, a chaptered tracklist and tags."""

from __future__ import annotations

from .. import metadata, store
from ..pipeline import StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    music = ctx.outputs_of("music")
    video_s = ctx.outputs_of("render").get("seconds") or float(ctx.params["minutes"]) * 60
    meta = metadata.build(ctx.params, ctx.variation, music.get("segments") or [], music.get("tracks") or [],
                          video_s=video_s)
    issues = metadata.problems(meta, video_s)
    if issues:  # build() keeps within limits; this guards against a future change breaking that
        raise ValueError("metadata breaks YouTube limits: " + "; ".join(issues))
    store.atomic_write_json(ctx.session_dir / "metadata.json", meta)
    return StepResult({"metadata": "metadata.json", "title": meta["title"]}, meta["title"])
