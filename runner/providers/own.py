"""A person's own artwork and loop, as providers: nothing is made, sent or paid.

They use exactly the files `runner/library.py` checked before the session began (state.own),
and refuse one whose bytes have changed since (library.verified). Their answers carry an
`origin` naming the file and its SHA-256 (provenance.json).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import library
from ..media import clip, ffmpeg, picture
from .base import ProviderContext

PROVIDER = "own"


def _entry(ctx: ProviderContext, kind: str) -> dict[str, Any]:
    entry = (ctx.state.get("own") or {}).get(kind)
    if not isinstance(entry, dict):
        raise ffmpeg.MediaError(f"this session names --{kind} but holds no record of the file checked "
                                "(state.own); start a new run")
    return entry


def _origin(entry: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"provider": PROVIDER, "path": entry.get("path"), "sha256": entry.get("sha256"), **more}


class OwnArt:
    """--artwork: the person's picture, covered (or contained) and centred to 1920x1080."""

    name = PROVIDER

    async def make_artwork(self, ctx: ProviderContext, out_png: Path) -> dict[str, Any]:
        entry = _entry(ctx, "artwork")
        src = library.verified(ctx.root, entry)
        fit = str(ctx.params.get("fit") or "cover")
        await picture.fit_picture(src, Path(out_png), fit=fit)
        return {"provider": PROVIDER, "model": None, "origin": _origin(entry, fit=fit)}


class LoopFrameArt:
    """--loop without --artwork: the cover is the loop's first frame, so the thumbnail shows
    what the video shows."""

    name = PROVIDER

    async def make_artwork(self, ctx: ProviderContext, out_png: Path) -> dict[str, Any]:
        entry = _entry(ctx, "loop")
        src = library.verified(ctx.root, entry)
        fit = str(ctx.params.get("fit") or "cover")
        first = Path(out_png).with_name(".loop-first-frame.png")
        try:
            await ffmpeg.run(["-y", "-v", "error", "-i", str(src), "-map", "0:v:0", "-frames:v", "1", str(first)])
            await picture.fit_picture(first, Path(out_png), fit=fit)
        finally:
            first.unlink(missing_ok=True)
        return {"provider": PROVIDER, "model": None, "origin": _origin(entry, fit=fit, frame="first frame of the loop")}


class OwnLoop:
    """--loop: the person's clip as loop.mp4, stream-copied when it already fits the render,
    else encoded once (and made seamless when its ends do not meet; media/clip.py)."""

    name = PROVIDER

    async def make_loop(self, ctx: ProviderContext, artwork: Path, out_mp4: Path,
                        layers: Path | None = None) -> dict[str, Any]:
        entry = _entry(ctx, "loop")
        src = library.verified(ctx.root, entry)
        fit = str(ctx.params.get("fit") or "cover")

        def on_progress(pct: float) -> None:
            ctx.progress(percent=round(pct, 1), label=f"your loop {pct:.0f}%")

        made = await clip.make_loop(src, Path(out_mp4), fit=fit, on_progress=on_progress)
        before, after = made["seam_before"], made["seam"]
        if made["method"] == "made seamless":
            note = (f"your loop's ends did not meet (seam SSIM {before['ssim']:.4f}, target {before['target']:.4f}): "
                    f"its last {clip.CROSSFADE_S:g} s now fade into its first (seam SSIM {after['ssim']:.4f}, "
                    f"target {after['target']:.4f})")
        elif made["method"] == "re-encoded":
            note = f"your loop was encoded once to the render's format: {'; '.join(made['reasons'])}"
        else:
            note = "your loop already fits the render: copied as it is, not re-encoded"
        ctx.event("own_loop", note, method=made["method"], seam_before=before, seam=after, reasons=made["reasons"])
        ctx.log("INFO", note)
        origin = _origin(entry, fit=fit, method=made["method"], reasons=made["reasons"],
                         seam_ssim_before=before["ssim"], seam_target_before=before["target"],
                         seam_ssim=after["ssim"], seam_target=after["target"])
        return {"provider": PROVIDER, "model": None, "file": Path(out_mp4), "seconds": made["seconds"],
                "fps": made["fps"], "frames": made["frames"], "origin": origin, "note": note}
