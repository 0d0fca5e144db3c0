"""Step 4: the tracks, the ambience bed, and the mastered mix.

Each finished track is checkpointed in the step's outputs as soon as it is on disk, so a run
killed after seven of ten tracks resumes with the eighth and never asks for the first seven
again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Mapping

from .. import metadata
from ..budget import BudgetExceeded
from ..media import ffmpeg, master
from ..pipeline import StepContext, StepResult

# Tracks overlap by the mix's crossfade; ask for that much more than each share.
CROSSFADE_PAD_S = master.CROSSFADE_S


def track_seconds(params: Mapping[str, Any]) -> float:
    return float(params["minutes"]) * 60.0 / int(params["tracks"]) + CROSSFADE_PAD_S


async def run(ctx: StepContext) -> StepResult:
    out = ctx.outputs
    specs = ctx.variation["tracks"][: int(ctx.params["tracks"])]
    total = len(specs)
    (ctx.session_dir / "tracks").mkdir(exist_ok=True)
    done = {t["index"]: t for t in out.get("tracks", []) if (ctx.session_dir / t["file"]).is_file()}
    out["tracks"] = sorted(done.values(), key=lambda t: t["index"])
    if done:
        ctx.log("INFO", f"{len(done)} of {total} tracks already made; resuming with the rest")
    ctx.progress(done=len(done), total=total, label=f"music {len(done)}/{total}")

    provider = ctx.providers.music
    gate = asyncio.Semaphore(max(1, int(getattr(provider, "concurrency", 1))))
    seconds = track_seconds(ctx.params)

    async def make(spec: dict[str, Any]) -> None:
        async with gate:
            base = ctx.session_dir / "tracks" / f"{spec['index']:02d}"
            meta = await provider.make_track(ctx, spec, seconds, base)
            path = Path(meta["file"])
            ffmpeg.check_input(path, "audio")
            entry = {"index": spec["index"], "file": str(path.relative_to(ctx.session_dir)),
                     "title": spec["title"], "seconds": meta.get("seconds"), "bpm": spec.get("bpm"),
                     "key": spec.get("key"), "mood": spec.get("mood"),
                     "provider": meta.get("provider"), "model": meta.get("model")}
            out["tracks"] = sorted([*out["tracks"], entry], key=lambda t: t["index"])
            ctx.progress(done=len(out["tracks"]), total=total, label=f"music {len(out['tracks'])}/{total}")
            ctx.log("INFO", f"track {spec['index']}/{total} \u201c{spec['title']}\u201d ready")

    todo = [s for s in specs if s["index"] not in done]
    results = await asyncio.gather(*(make(s) for s in todo), return_exceptions=True)
    # Finished tracks are already checkpointed; now report the most telling failure.
    errors = [r for r in results if isinstance(r, BaseException)]
    for err in errors:
        if isinstance(err, BudgetExceeded):
            raise err
    if errors:
        raise errors[0]

    if "ambience" not in out:
        atmosphere = ctx.params["atmosphere"]
        if atmosphere == "none":
            out["ambience"] = None
        else:
            meta = await ctx.providers.ambience.make_ambience(ctx, atmosphere, ctx.session_dir / "ambience")
            path = Path(meta["file"])
            ffmpeg.check_input(path, "audio")
            out["ambience"] = str(path.relative_to(ctx.session_dir))
            out["ambience_provider"] = meta.get("provider")
        ctx.save()

    ctx.progress(percent=0, label="mastering the mix")
    tracks = [ctx.session_dir / t["file"] for t in out["tracks"]]
    ambience = ctx.session_dir / out["ambience"] if out.get("ambience") else None
    target = float(ctx.params["minutes"]) * 60.0

    def on_progress(pct: float) -> None:
        ctx.progress(percent=pct, label=f"mastering {pct:.0f}%")

    plan = await master.master_audio(tracks, ambience, target, ctx.session_dir / "mix.m4a", on_progress=on_progress)
    out["mix"] = str(Path(plan["file"]).relative_to(ctx.session_dir))
    out["segments"] = plan["segments"]
    out["integrated_lufs"] = plan.get("integrated_lufs")
    out["true_peak_dbtp"] = plan.get("true_peak_dbtp")
    return StepResult(out, f"{metadata.count(total, 'track')}, {plan.get('integrated_lufs')} LUFS")
