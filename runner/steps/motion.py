"""Step 3: a short seamless loop made from the artwork (and its layers, when it has them)."""

from __future__ import annotations

from pathlib import Path

from ..media import ffmpeg
from ..pipeline import StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    made = ctx.outputs_of("artwork")
    artwork = ctx.session_dir / made["artwork"]
    ffmpeg.check_input(artwork, "image")
    layers = _layers(ctx.session_dir, made.get("layers"))
    out = ctx.session_dir / "loop.mp4"
    meta = await ctx.providers.motion.make_loop(ctx, artwork, out, layers=layers)
    ffmpeg.check_input(out, "video")
    if layers is not None:  # only the loop needed them, and they are the session's biggest file
        layers.unlink(missing_ok=True)
    return StepResult({"loop": "loop.mp4", "seconds": meta.get("seconds"), "fps": meta.get("fps"),
                       "provider": meta.get("provider"), "model": meta.get("model"), "origin": meta.get("origin")},
                      meta.get("note"))


def _layers(session_dir: Path, name: object) -> Path | None:
    """The artwork's layers file, if it named one: a bare file name in the session folder,
    since this step deletes it (a path read from state.json must not reach outside)."""
    if not isinstance(name, str) or not name or name in (".", "..") or Path(name).name != name:
        return None
    path = session_dir / name
    return path if path.is_file() else None
