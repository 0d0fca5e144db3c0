"""The seven steps, in order. Each module has `async def run(ctx: StepContext) -> StepResult`
(runner/pipeline.py): outputs and a one-line note."""

from __future__ import annotations

from ..pipeline import StepFn
from . import artwork, metadata, motion, music, render, upload, variation

STEP_FUNCTIONS: dict[str, StepFn] = {
    "variation": variation.run,
    "artwork": artwork.run,
    "motion": motion.run,
    "music": music.run,
    "render": render.run,
    "metadata": metadata.run,
    "upload": upload.run,
}
