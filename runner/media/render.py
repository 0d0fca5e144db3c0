"""The final render: the loop repeated by stream copy under the mastered mix, never re-encoded.

The loop was encoded once with a closed GOP per repeat and the mix once to AAC, so the hour
is a remux: `ffmpeg -stream_loop -1 -i loop.mp4 -i mix.m4a -c copy -t target -movflags
+faststart` (ffmpeg writes the packets, then moves the index, moov, to the front). The file is
written under a temporary name in the same folder, checked with a probe, and only then renamed
to final.mp4, so a render killed half-way leaves nothing that looks finished.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable

from . import ffmpeg

DURATION_TOLERANCE_S = 0.1
STREAM_SKEW_S = 0.040


def temp_name(out_mp4: Path) -> Path:
    """The hidden name a render is written under until it has passed its checks."""
    return out_mp4.with_name(f".{out_mp4.stem}.partial{out_mp4.suffix}")


def render_args(loop_mp4: Path, audio: Path, target_s: float, out: Path) -> list[str]:
    """ffmpeg arguments: the loop's video repeated and the mix's audio, both copied, target_s long."""
    return ["-y", "-v", "error", "-stream_loop", "-1", "-i", str(loop_mp4), "-i", str(audio),
            "-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-t", f"{target_s:.6f}",
            "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(out)]


async def render_final(loop_mp4: Path, audio: Path, target_s: float, out_mp4: Path, *,
                       on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Write out_mp4 = loop_mp4 repeated + audio, target_s seconds long.

    Returns {"file": Path, "seconds": float, "bytes": int}. on_progress gets 0-100 (percent of
    target_s written), ending with 100. Raises ValueError for a target that is not positive,
    ffmpeg.MediaError for an unusable input, a mix shorter than the target or a render that
    fails its checks (verify), and ffmpeg.FFmpegError when ffmpeg fails. Cancelling kills
    ffmpeg; nothing is left at out_mp4 or its temporary name.
    """
    loop_mp4, audio, out_mp4 = Path(loop_mp4), Path(audio), Path(out_mp4)
    if not target_s or target_s <= 0:
        raise ValueError(f"target length must be positive, got {target_s}")
    await asyncio.to_thread(ffmpeg.check_input, loop_mp4, "video")
    a_info = await asyncio.to_thread(ffmpeg.inspect, audio, "audio")
    a_dur = float((a_info.get("audio") or {}).get("duration") or a_info["duration"])
    if a_dur + DURATION_TOLERANCE_S < target_s:
        raise ffmpeg.MediaError(f"mix is {a_dur:.2f} s, shorter than the {target_s:.2f} s target: {audio}")
    tmp = temp_name(out_mp4)
    try:
        await ffmpeg.run(render_args(loop_mp4, audio, target_s, tmp), duration_s=target_s,
                         on_progress=on_progress)
        info = await ffmpeg.aprobe(tmp)
        verify(info, target_s, tmp)
        os.replace(tmp, out_mp4)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": out_mp4, "seconds": round(float(info["duration"]), 3), "bytes": out_mp4.stat().st_size}


def verify(info: dict[str, Any], target_s: float, path: Path) -> None:
    """The render is usable only if both streams are there and last as long as asked."""
    v, a = info.get("video"), info.get("audio")
    if not v or not a:
        raise ffmpeg.MediaError(f"render is missing its {'video' if not v else 'audio'} stream: {path}")
    if v.get("codec") != "h264" or a.get("codec") != "aac":
        raise ffmpeg.MediaError(f"render has {v.get('codec')}/{a.get('codec')} streams, expected h264/aac: {path}")
    dur = float(info.get("duration") or 0)
    if abs(dur - target_s) > DURATION_TOLERANCE_S:
        raise ffmpeg.MediaError(f"render lasts {dur:.3f} s, not {target_s:.3f} s: {path}")
    vd, ad = v.get("duration"), a.get("duration")
    if vd is not None and ad is not None and abs(vd - ad) > STREAM_SKEW_S:
        raise ffmpeg.MediaError(f"render's video ({vd:.3f} s) and audio ({ad:.3f} s) end apart: {path}")
