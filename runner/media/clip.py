"""A person's loop (--loop): checked against what the render needs, changed only where it must.

The render repeats loop.mp4 by stream copy (runner/media/render.py), which needs H.264 in
yuv420p at 1920x1080, a constant frame rate, and one closed GOP per repeat: a single keyframe,
on the first frame, and no B-frames (a B-frame at the end would lean on a frame of the next
repeat that the stream copy never re-encodes). A clip that already is all that is copied
into loop.mp4 as it is; one that is not is encoded once to that format
(motion.encoder_args, the spec of the loops the runner makes itself).

Its ends must meet, too. The seam is the SSIM (all planes) of its last frame against its
first, both scaled down to 480x270 (area average): what moves counts, not grain or the way an
encoder codes its one keyframe differently from the frames that follow (a closed-GOP loop's
full-size seam is always a little below its neighbouring pairs; art's notes, issue 13). A
clip's neighbouring frames are never identical either, so the seam is held to the clip's own
motion: its dissimilarity (1 - SSIM) may be at most SEAM_FACTOR times the median of its
neighbouring pairs', and anything within SEAM_FLOOR of identical passes. A clip that misses
that target is made seamless by crossfading its tail into its head once
(motion.loop_from_clip), which is then its one encode.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

from . import ffmpeg, motion
from .picture import H, W, fit_filter

SEAM_SIZE = "480:270"         # frames are compared at this size (area average)
SEAM_FACTOR = 2.0             # a seam may change twice as much as a typical step of the clip
SEAM_FLOOR = 0.005            # 1 - SSIM below which no one sees a change at this size
MAX_SEAM_PAIRS = 240          # neighbouring pairs measured, spread over a longer clip
CROSSFADE_S = 1.0             # of tail into head, when the ends do not meet
MAX_FPS = 60.0


@dataclass(frozen=True)
class Facts:
    """What the render cares about in a clip (from ffprobe's stream and packet lists)."""

    codec: str | None
    pix_fmt: str | None
    width: int
    height: int
    sar: str | None
    fps: float              # the frame rate it is shown at (r_frame_rate, else the average)
    frames: int
    seconds: float
    keyframes: list[int]    # frame numbers, in presentation order
    b_frames: bool
    constant_rate: bool     # every frame lasts as long as every other (to a tick)
    rotation: int = 0       # its display matrix's rotation, as ffprobe gives it (a phone's; ffmpeg turns it when decoding)


def facts(path: Path) -> Facts:
    """Read path's first video stream and its packets. Raises ffmpeg.MediaError."""
    exe = ffmpeg.ffprobe_exe()
    if exe is None:
        raise ffmpeg.MediaError("checking a loop needs ffprobe (Debian's ffmpeg package has it)")
    argv = [exe, "-v", "error", "-select_streams", "v:0", "-show_streams", "-show_entries",
            "packet=pts,duration,flags", "-of", "json", str(path)]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    try:
        data = json.loads(proc.stdout or b"{}")
        stream = data["streams"][0]
    except (ValueError, KeyError, IndexError):
        raise ffmpeg.MediaError(f"cannot read the video stream of {path}") from None
    packets = sorted((p for p in data.get("packets", []) if p.get("pts") is not None), key=lambda p: int(p["pts"]))
    if not packets:
        raise ffmpeg.MediaError(f"{path} has no video frames")
    tb = _ratio(stream.get("time_base")) or 1 / 90000
    rate = _ratio(stream.get("r_frame_rate")) or _ratio(stream.get("avg_frame_rate")) or 0.0
    avg = _ratio(stream.get("avg_frame_rate")) or rate
    steps = {int(b["pts"]) - int(a["pts"]) for a, b in zip(packets, packets[1:])}
    constant = len(steps) <= 1 or (max(steps) - min(steps) <= 1)
    first, last = int(packets[0]["pts"]), int(packets[-1]["pts"])
    step = min(steps) if steps else int(packets[0].get("duration") or 0)
    seconds = (last - first + (int(packets[-1].get("duration") or step or 0))) * tb
    return Facts(codec=stream.get("codec_name"), pix_fmt=stream.get("pix_fmt"), width=int(stream.get("width") or 0),
                 height=int(stream.get("height") or 0), sar=stream.get("sample_aspect_ratio"),
                 fps=rate if constant or not avg else avg, frames=len(packets), seconds=round(seconds, 6),
                 keyframes=[i for i, p in enumerate(packets) if "K" in str(p.get("flags", ""))],
                 b_frames=bool(stream.get("has_b_frames")), constant_rate=constant and abs(rate - avg) < 0.01 * rate,
                 rotation=_rotation(stream))


def _rotation(stream: dict[str, Any]) -> int:
    for side in stream.get("side_data_list") or []:
        if isinstance(side, dict) and isinstance(side.get("rotation"), (int, float)):
            return int(side["rotation"])
    return 0


def _ratio(text: Any) -> float | None:
    if not isinstance(text, str) or "/" not in text:
        return None
    a, _, b = text.partition("/")
    try:
        value = int(a) / int(b)
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def problems(f: Facts, fit: str = "cover") -> list[str]:
    """Why the clip cannot be stream-copied into loop.mp4 (empty when it can), one phrase each."""
    out = []
    if f.codec != "h264":
        out.append(f"{f.codec or 'unknown'} video, not H.264")
    if f.pix_fmt != "yuv420p":
        out.append(f"pixels in {f.pix_fmt or 'an unknown format'}, not yuv420p")
    if (f.width, f.height) != (W, H) or f.sar not in (None, "1:1", "0:1"):
        out.append(f"{f.width}x{f.height}" + (f" with {f.sar} pixels" if f.sar not in (None, "1:1", "0:1") else "")
                   + f", not {W}x{H} ({fit})")
    if not f.constant_rate:
        out.append("a variable frame rate")
    elif not 1 <= f.fps <= MAX_FPS:
        out.append(f"{f.fps:g} frames a second")
    if f.keyframes != [0]:
        out.append(f"{len(f.keyframes)} keyframes, not one closed GOP (a keyframe on the first frame only)")
    if f.b_frames:
        out.append("B-frames (a GOP that is not closed at the seam)")
    if f.rotation % 360:
        # Copied, the matrix would ride into the render and turn the whole video on its side.
        out.append(f"a display matrix that turns it when shown (rotation {f.rotation})")
    return out


@dataclass(frozen=True)
class Seam:
    """How well a clip's ends meet: ssim (last frame against first), target, and the pairs."""

    ssim: float
    target: float
    median: float
    pairs: int

    @property
    def meets(self) -> bool:
        return self.ssim >= self.target


_SSIM_ALL = re.compile(r"All:([\d.]+)")


def seam_target(median: float) -> float:
    """The SSIM a seam must reach, given the median SSIM of the clip's neighbouring pairs."""
    return 1.0 - max(SEAM_FACTOR * (1.0 - median), SEAM_FLOOR)


async def seam(path: Path, frames: int, fps: float = motion.FPS) -> Seam:
    """Measure the seam and the clip's neighbouring pairs in one ffmpeg pass (SSIM, all planes,
    at SEAM_SIZE).

    The clip is compared with itself one frame on: [f0 f1 ... fN-1] against [f1 ... fN-1 f0],
    so pair k is (f k, f k+1) and the last is the seam (f N-1, f0). A long clip is measured on
    at most MAX_SEAM_PAIRS evenly spread pairs (plus the seam).
    """
    every = max(1, math.ceil((frames - 1) / MAX_SEAM_PAIRS))
    small = f"format=yuv420p,scale={SEAM_SIZE}:flags=area"
    tb = f"settb=1/{max(1, round(fps))},setpts=N"   # the clip's own rate: the null muxer's too
    graph = (f"[0:v]{small},{tb}[a];"
             f"[1:v]{small},split[p][q];[p]trim=start_frame=1,setpts=PTS-STARTPTS[p1];"
             f"[q]trim=end_frame=1,setpts=PTS-STARTPTS[q1];[p1][q1]concat=n=2:v=1:a=0,{tb}[b];"
             "[a][b]ssim=stats_file=-")
    out = await ffmpeg.run_capture(["-v", "error", "-i", str(path), "-i", str(path), "-filter_complex", graph,
                                    "-f", "null", "-"])
    values = [float(m.group(1)) for line in out.decode("ascii", "replace").splitlines()
              if (m := _SSIM_ALL.search(line))]
    if len(values) < 2:
        raise ffmpeg.MediaError(f"could not compare the frames of {path}")
    pairs = values[:-1][::every]
    median = statistics.median(pairs)
    return Seam(ssim=values[-1], target=round(seam_target(median), 6), median=median, pairs=len(pairs))


async def make_loop(src: Path, out_mp4: Path, *, fit: str = "cover",
                    on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """loop.mp4 from a person's clip: copied when it conforms and its ends meet, else encoded once.

    Returns {"file", "seconds", "fps", "frames", "method" ("stream copy", "re-encoded" or
    "made seamless"), "reasons" (why it was encoded), "seam_before" and "seam" (Seam as a dict:
    the source's, and loop.mp4's)}. Raises ffmpeg.MediaError or FFmpegError.
    """
    src, out_mp4 = Path(src), Path(out_mp4)
    f = facts(src)
    before = await seam(src, f.frames, f.fps)
    reasons = problems(f, fit)
    fps = _output_fps(f)
    tmp = out_mp4.with_name(f".{out_mp4.stem}.tmp.mp4")
    try:
        if not before.meets:
            method = "made seamless"
            await motion.loop_from_clip(src, tmp, fps=fps, crossfade_s=CROSSFADE_S, frame_filter=fit_filter(fit),
                                        on_progress=on_progress)
        elif reasons:
            method = "re-encoded"
            frames = max(1, round(f.seconds * fps))
            await ffmpeg.run(["-y", "-v", "error", "-i", str(src), "-map", "0:v:0",
                              "-vf", f"fps={fps},{fit_filter(fit)},format=yuv420p",
                              *motion.encoder_args(fps, frames), "-frames:v", str(frames), str(tmp)],
                             duration_s=frames / fps, on_progress=on_progress)
        else:
            method = "stream copy"
            await ffmpeg.run(["-y", "-v", "error", "-i", str(src), "-map", "0:v:0", "-c", "copy", "-an",
                              "-map_metadata", "-1", "-movflags", "+faststart", "-f", "mp4", str(tmp)])
        made = facts(tmp)
        left = problems(made, fit)
        if left:  # our own encode missed the spec: a bug, said plainly rather than rendered
            raise ffmpeg.MediaError(f"the loop made from {src.name} still has {'; '.join(left)}")
        after = before if method == "stream copy" else await seam(tmp, made.frames, made.fps)
        tmp.replace(out_mp4)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": out_mp4, "seconds": made.seconds, "fps": made.fps, "frames": made.frames, "method": method,
            "reasons": reasons if method != "stream copy" else [], "seam_before": asdict(before),
            "seam": asdict(after)}


def _output_fps(f: Facts) -> int:
    """The clip's own frame rate, whole, within 1-60 (a variable rate is held at its average)."""
    return int(min(MAX_FPS, max(1, round(f.fps or motion.FPS))))
