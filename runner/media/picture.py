"""A person's picture (--artwork) as the 1920x1080 cover, never stretched.

`cover` (the default) scales the picture until it fills the frame and crops the overflow
evenly from both sides (a portrait photo keeps its middle); `contain` scales it until it fits
and centres it on black bars (letterbox or pillarbox). Pixels stay square: a picture whose
pixels are not square (its sample aspect ratio) is first brought to square ones. Transparency
is laid on black.

A phone photo stored on its side is turned upright by its EXIF orientation (runner/media/exif.py),
here and only here: ffmpeg is told not to turn anything itself (-noautorotate; 5.1 would turn a
JPEG by the same tag, older builds would not), `turn_filter()` turns it, and `shown_size()` is
the size it is then shown at, which is the size runner/library.py judges.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import exif, ffmpeg

W, H = 1920, 1080
FITS = ("cover", "contain")
# The ffmpeg filters that show a picture stored under each EXIF orientation upright (exif.py
# names them; transpose=cclock_flip is the plain transpose, clock_flip the anti-transpose).
UPRIGHT = {1: "", 2: "hflip", 3: "hflip,vflip", 4: "vflip", 5: "transpose=cclock_flip",
           6: "transpose=clock", 7: "transpose=clock_flip", 8: "transpose=cclock"}


def shown_size(src: Path, width: int, height: int) -> tuple[int, int]:
    """The size a picture file stored width x height is shown at, upright by its EXIF
    orientation. Raises OSError when src cannot be read."""
    return exif.turned(width, height, exif.orientation(Path(src)))


def turn_filter(src: Path) -> str:
    """The ffmpeg filters that turn src upright by its EXIF orientation ("" when it is).
    Raises OSError when src cannot be read."""
    return UPRIGHT[exif.orientation(Path(src))]


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
    """Write src (PNG, JPEG or WebP, any size) to out_png as an opaque 1920x1080 PNG, turned
    upright by its EXIF orientation first.

    Returns {"file", "width", "height", "fit"}. Written under a temporary name, then
    renamed. Raises ffmpeg.FFmpegError when ffmpeg cannot read src.
    """
    src, out_png = Path(src), Path(out_png)
    tmp = out_png.with_name(f".{out_png.stem}.tmp.png")
    turn = turn_filter(src)
    graph = (f"color=c=black:s={W}x{H}:r=1,format=rgb24[bg];"
             f"[0:v]{turn + ',' if turn else ''}{fit_filter(fit)},format=rgba[fg];"
             "[bg][fg]overlay=0:0:shortest=1,format=rgb24[out]")
    try:
        await ffmpeg.run(["-y", "-v", "error", "-noautorotate", "-i", str(src), "-filter_complex", graph, "-map", "[out]",
                          "-frames:v", "1", "-f", "image2", "-c:v", "png", str(tmp)])
        tmp.replace(out_png)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": out_png, "width": W, "height": H, "fit": fit}
