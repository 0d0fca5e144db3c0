"""Step 3: a short seamless loop made from the artwork."""

from __future__ import annotations

from typing import Any

from ..media import ffmpeg


async def run(ctx) -> dict[str, Any]:
    artwork = ctx.session_dir / ctx.outputs_of("artwork")["artwork"]
    ffmpeg.check_input(artwork, "image")
    out = ctx.session_dir / "loop.mp4"
    meta = await ctx.providers.motion.make_loop(ctx, artwork, out)
    ffmpeg.check_input(out, "video")
    return {"loop": "loop.mp4", "seconds": meta.get("seconds"), "fps": meta.get("fps"),
            "provider": meta.get("provider"), "model": meta.get("model")}
