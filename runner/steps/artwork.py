"""Step 2: the 1920x1080 cover and its 1280x720 thumbnail."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ..media import art, ffmpeg
from ..pipeline import StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    out_png = ctx.session_dir / "artwork.png"
    thumb = ctx.session_dir / "thumbnail.jpg"
    meta = await ctx.providers.art.make_artwork(ctx, out_png)
    ffmpeg.check_input(out_png, "image")
    # The one place a thumbnail is made, whoever made the cover.
    await asyncio.to_thread(art.make_thumbnail, out_png, thumb)
    ffmpeg.check_input(thumb, "image")
    outputs: dict[str, Any] = {"artwork": "artwork.png", "thumbnail": "thumbnail.jpg",
                               "provider": meta.get("provider"), "model": meta.get("model"),
                               "origin": meta.get("origin")}
    if meta.get("layers"):  # the painter's layers, for the motion step (see steps/motion.py)
        outputs["layers"] = Path(meta["layers"]).name
    return StepResult(outputs)
