"""Step 3: a short seamless loop made from the artwork."""

from __future__ import annotations

from ..media import ffmpeg
from ..pipeline import StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    artwork = ctx.session_dir / ctx.outputs_of("artwork")["artwork"]
    ffmpeg.check_input(artwork, "image")
    out = ctx.session_dir / "loop.mp4"
    meta = await ctx.providers.motion.make_loop(ctx, artwork, out)
    ffmpeg.check_input(out, "video")
    return StepResult({"loop": "loop.mp4", "seconds": meta.get("seconds"), "fps": meta.get("fps"),
                       "provider": meta.get("provider"), "model": meta.get("model")})
