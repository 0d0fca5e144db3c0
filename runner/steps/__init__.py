"""The seven steps, in order. Each module has `async def run(ctx)` returning its outputs."""

from __future__ import annotations

from . import artwork, metadata, motion, music, render, upload, variation

STEP_FUNCTIONS = {
    "variation": variation.run,
    "artwork": artwork.run,
    "motion": motion.run,
    "music": music.run,
    "render": render.run,
    "metadata": metadata.run,
    "upload": upload.run,
}
