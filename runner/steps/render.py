"""Step 5: final.mp4, the loop repeated by stream copy under the mastered mix."""

from __future__ import annotations

from ..media import ffmpeg, render
from ..pipeline import StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    loop = ctx.session_dir / ctx.outputs_of("motion")["loop"]
    mix = ctx.session_dir / ctx.outputs_of("music")["mix"]
    ffmpeg.check_input(loop, "video")
    ffmpeg.check_input(mix, "audio")
    target = float(ctx.params["minutes"]) * 60.0
    last = [-10.0]

    def on_progress(pct: float) -> None:
        if pct - last[0] >= 5 or pct >= 100:  # an event every 5 % keeps the timeline readable
            last[0] = pct
            ctx.progress(percent=pct, label=f"render {pct:.0f}%")

    meta = await render.render_final(loop, mix, target, ctx.session_dir / "final.mp4", on_progress=on_progress)
    return StepResult({"final": "final.mp4", "seconds": meta.get("seconds"), "bytes": meta.get("bytes")})
