"""A person's picture (--artwork) as the 1920x1080 cover, never stretched.

`cover` (the default) scales the picture until it fills the frame and crops the overflow
evenly from both sides (a portrait photo keeps its middle); `contain` scales it until it fits
and centres it on black bars (letterbox or pillarbox). Pixels stay square: a picture whose
pixels are not square (its sample aspect ratio) is first brought to square ones. Transparency
is laid on black. ffmpeg applies a JPEG's EXIF orientation when decoding (5.1 and later), so a
phone photo stored on its side comes out upright.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import ffmpeg

W, H = 1920, 1080
FITS = ("cover", "contain")


def fit_filter(fit: str, w: int = W, h: int = H) -> str:
    """The ffmpeg filters that bring a picture (or each frame of a clip) to w x h by fit.

    cover: scale up or down to fill, then centre-crop; contain: scale to fit inside, then
    pad to w x h, centred. Both start from square pixels and end with setsar=1.
    """
    if fit not in FITS:
        raise ValueError(f"unknown fit {fit!r}; one of {FITS}")
    square = "scale=trunc(iw*sar/2)*2:trunc(ih/2)*2"  # even sizes keep yuv420p's chroma whole
    if fit == "cover":
        return f"{square},scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,crop={w}:{h},setsar=1"
    return (f"{square},scale={w}:{h}:force_original_aspect_ratio=decrease:flags=lanczos,"
            f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1")


async def fit_picture(src: Path, out_png: Path, *, fit: str = "cover") -> dict[str, Any]:
    """Write src (PNG, JPEG or WebP, any size) to out_png as an opaque 1920x1080 PNG.

    Returns {"file", "width", "height", "fit"}. Written under a temporary name, then
    renamed. Raises ffmpeg.FFmpegError when ffmpeg cannot read src.
    """
    src, out_png = Path(src), Path(out_png)
    tmp = out_png.with_name(f".{out_png.stem}.tmp.png")
    graph = (f"color=c=black:s={W}x{H}:r=1,format=rgb24[bg];"
             f"[0:v]{fit_filter(fit)},format=rgba[fg];[bg][fg]overlay=0:0:shortest=1,format=rgb24[out]")
    try:
        await ffmpeg.run(["-y", "-v", "error", "-i", str(src), "-filter_complex", graph, "-map", "[out]",
                          "-frames:v", "1", "-f", "image2", "-c:v", "png", str(tmp)])
        tmp.replace(out_png)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": out_png, "width": W, "height": H, "fit": fit}
