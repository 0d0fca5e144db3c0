"""Step 7: the YouTube upload, private unless the person said otherwise."""

from __future__ import annotations

import json

from ..pipeline import Skip, StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    if not ctx.params.get("upload", True):
        raise Skip("upload turned off for this run (--no-upload)")
    uploader = ctx.providers.uploader
    reason = uploader.unavailable_reason()
    if reason:
        raise Skip(reason)
    final = ctx.session_dir / ctx.outputs_of("render")["final"]
    thumb = ctx.session_dir / ctx.outputs_of("artwork")["thumbnail"]
    meta = json.loads((ctx.session_dir / "metadata.json").read_text())
    privacy = ctx.state.get("privacy_override") or ctx.params["privacy"]
    result = await uploader.upload(ctx, final, thumb, meta, privacy)
    return StepResult({"video_id": result.get("id"), "url": result.get("url"), "privacy": privacy,
                       "quota_units": result.get("quota_units")}, result.get("url"))
