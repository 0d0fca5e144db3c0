"""The keyless local providers: thin adapters from the provider protocols to runner/media.

They cost nothing but still go through `ctx.spend`, so a local run writes the same ledger
lines and takes the same code path as a paid one. The numpy work runs in worker threads
so the event loop (heartbeat, progress, other branches) keeps moving.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from ..media import ambience as amb
from ..media import art, memory, motion, music, png, scenefile
from .base import Call, ProviderContext

PROVIDER = "local"
MODEL = "procedural-v1"

# The painted scene's layers, saved beside the cover for the motion step (media/scenefile.py):
# loading them takes a tenth of the time painting again would.
LAYERS_NAME = "artwork-layers.npz"


class _Throttle:
    """Progress callbacks from ffmpeg or a renderer, passed on at most every few percent."""

    def __init__(self, ctx: ProviderContext, label: str, step: float = 10.0):
        self.ctx, self.label, self.step, self.last = ctx, label, step, -step

    def __call__(self, pct: float) -> None:
        if pct - self.last >= self.step or (pct >= 100 and self.last < 100):
            self.last = pct
            self.ctx.progress(percent=round(pct, 1), label=f"{self.label} {pct:.0f}%")


def _seed(value: Any) -> int | None:
    """A seed as recorded in provenance.json: a whole number, or None."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _scene_params(v: dict[str, Any]) -> dict[str, Any]:
    return {k: v.get(k) for k in ("seed", "palette_name", "scene", "view", "pose", "time_of_day", "season", "weather",
                                  "mirrored")}


class LocalArt:
    name = PROVIDER

    async def make_artwork(self, ctx: ProviderContext, out_png: Path) -> dict[str, Any]:
        v = ctx.variation
        out_png = Path(out_png)
        call = Call(provider=PROVIDER, model=MODEL, asset="image", label="cover art (local painter)",
                    params=_scene_params(v), estimate_usd=0.0, cacheable=False, seed=_seed(v.get("seed")))

        async def run() -> dict[str, Any]:
            t0 = time.monotonic()
            ctx.progress(percent=0, label="painting Porsuk")
            layers = out_png.with_name(LAYERS_NAME)
            await asyncio.to_thread(_paint, v, out_png, layers)
            ctx.event("artwork_painted", f"Porsuk painted ({v.get('scene')} at {v.get('time_of_day')}, {v.get('pose')}, "
                                         f"{v.get('weather')})",
                      seconds=round(time.monotonic() - t0, 2))
            return {"provider": PROVIDER, "model": MODEL, "file": out_png, "layers": layers,
                    "width": art.W, "height": art.H, "cost_usd": 0.0}

        return await ctx.spend(call, run)


def _paint(v: dict[str, Any], out_png: Path, layers: Path) -> None:
    scene = art.make_artwork(v, out_png)
    scenefile.save(scene, v, layers)
    del scene
    memory.trim()


class LocalMotion:
    name = PROVIDER

    async def make_loop(self, ctx: ProviderContext, artwork: Path, out_mp4: Path,
                        layers: Path | None = None) -> dict[str, Any]:
        v = ctx.variation
        artwork, out_mp4 = Path(artwork), Path(out_mp4)
        params = {**_scene_params(v), "fps": motion.FPS, "seconds": motion.LOOP_SECONDS}
        call = Call(provider=PROVIDER, model=MODEL, asset="video", label="motion loop (local)",
                    params=params, estimate_usd=0.0, cacheable=False, seed=_seed(v.get("seed")))

        async def run() -> dict[str, Any]:
            t0 = time.monotonic()
            progress = _Throttle(ctx, "motion loop")
            ours = png.read_png_text(artwork).get("Scene") == art.scene_key(v)
            scene = await asyncio.to_thread(scenefile.load, layers, v) if ours and layers else None
            if scene is not None:
                meta = await motion.make_loop(scene, out_mp4, on_progress=progress)
            elif ours:
                # Our own painting whose layers are gone (or stale): paint them again.
                meta = await motion.make_local_loop(v, out_mp4, on_progress=progress)
            else:
                # Someone else's picture: the weather and the season's leaves or petals over it.
                meta = await motion.loop_from_image(artwork, out_mp4, weather=str(v.get("weather", "rain")),
                                                    seed=int(v.get("seed", 0)), drift=art.Spec.of(v).drifting(),
                                                    on_progress=progress)
            ctx.event("loop_encoded", f"{meta['seconds']:g} s loop at {meta['fps']} fps encoded",
                      seconds=round(time.monotonic() - t0, 2), layered=ours, saved_layers=scene is not None)
            return {"provider": PROVIDER, "model": MODEL, "file": out_mp4, "seconds": meta["seconds"],
                    "fps": meta["fps"], "frames": meta["frames"], "cost_usd": 0.0}

        return await ctx.spend(call, run)


class LocalMusic:
    name = PROVIDER
    # One track at a time, in playlist order: the mix's encoder takes each as it is finished,
    # and on two cores a second synthesis thread would only fight the encoder and the art.
    concurrency = 1
    # A track comes out exactly as long as asked, so the mix can be planned and encoded
    # before the tracks exist (steps/music.py streams them into the encoder).
    exact_length = True

    async def make_track(self, ctx: ProviderContext, track: dict[str, Any], seconds: float, out_base: Path) -> dict[str, Any]:
        out = Path(out_base).with_suffix(".wav")
        spec = {k: track.get(k) for k in ("index", "seed", "key", "mode", "bpm", "mood", "title", "instruments")}
        call = Call(provider=PROVIDER, model=MODEL, asset="music",
                    label=f"track {track.get('index')} \u201c{track.get('title')}\u201d (local)",
                    params={**spec, "seconds": round(float(seconds), 3)}, estimate_usd=0.0, cacheable=False,
                    seed=_seed(spec.get("seed")))

        async def run() -> dict[str, Any]:
            t0 = time.monotonic()
            meta = await asyncio.to_thread(music.render_track, spec, float(seconds), out)
            ctx.log("DEBUG", f"track {track.get('index')}: {meta.get('chords')} + {meta.get('lead')} + "
                             f"{meta.get('bass')} bass, {meta.get('kit')} kit, {meta.get('key')} {meta.get('mode')} "
                             f"{meta.get('bpm'):g} bpm, {' '.join(meta.get('form', []))} in "
                             f"{time.monotonic() - t0:.1f} s")
            return {"provider": PROVIDER, "model": MODEL, "file": out, "seconds": meta["seconds"],
                    "instruments": {"keys": meta.get("chords"), "lead": meta.get("lead"), "bass": meta.get("bass"),
                                    "kit": meta.get("kit")},
                    "cost_usd": 0.0}

        return await ctx.spend(call, run)


class LocalAmbience:
    name = PROVIDER

    async def make_ambience(self, ctx: ProviderContext, atmosphere: str, out_base: Path) -> dict[str, Any]:
        out = Path(out_base).with_suffix(".wav")
        seed = int((ctx.variation or {}).get("seed", 0))
        # As long as the video (a little more), up to a bed that no ten minutes can hear repeat.
        seconds = min(amb.BED_SECONDS, float(ctx.params.get("minutes", 60)) * 60.0 + 2.0)
        call = Call(provider=PROVIDER, model=MODEL, asset="ambience", label=f"{atmosphere} ambience (local)",
                    params={"atmosphere": atmosphere, "seed": seed, "seconds": seconds},
                    estimate_usd=0.0, cacheable=False, seed=seed)

        async def run() -> dict[str, Any]:
            meta = await asyncio.to_thread(amb.render_ambience, atmosphere, out, seed=seed, seconds=seconds)
            return {"provider": PROVIDER, "model": MODEL, "file": out, "seconds": meta["seconds"],
                    "loop": True, "cost_usd": 0.0}

        return await ctx.spend(call, run)


def local_providers() -> dict[str, Any]:
    """The four keyless providers; the lead's registry adds the uploader."""
    return {"art": LocalArt(), "motion": LocalMotion(), "music": LocalMusic(), "ambience": LocalAmbience()}
