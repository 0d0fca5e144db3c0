"""Helpers for the media tests: ffprobe/ffmpeg measurements and small synthetic inputs."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
FFPROBE = shutil.which("ffprobe")


def run(coro):
    return asyncio.run(coro)


def variation(seed: int = 7, season: str = "autumn", **over: Any) -> dict[str, Any]:
    from runner import variation as V

    v = V.draw({"theme": "rainy night", "season": season, "atmosphere": "rain", "tracks": 3}, seed)
    v.update(over)
    if "palette_name" in over:
        v["palette"] = dict(V.PALETTES[over["palette_name"]])
    return v


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run([FFPROBE, "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], capture_output=True, check=True).stdout
    return json.loads(out)


def stream(info: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in info["streams"] if s["codec_type"] == kind)


def packets(path: Path, kind: str = "v") -> list[dict[str, Any]]:
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", f"{kind}:0", "-show_entries",
                          "packet=pts_time,duration_time,flags", "-of", "json", str(path)],
                         capture_output=True, check=True).stdout
    return json.loads(out)["packets"]


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) as ffmpeg's ebur128 filter reports them."""
    err = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", "-af",
                          "ebur128=peak=true:framelog=verbose", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    i = float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])
    tp = re.findall(r"Peak:\s+(-?[\d.]+|-inf) dBFS", err)[-1]
    return i, float(tp)


def ssim_last_first(path: Path, frames: int) -> float:
    """SSIM (all planes) between the clip's last frame and its first."""
    graph = (f"[0:v]trim=start_frame={frames - 1},setpts=PTS-STARTPTS[a];"
             f"[1:v]trim=end_frame=1,setpts=PTS-STARTPTS[b];[a][b]ssim")
    err = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-i", str(path),
                          "-filter_complex", graph, "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"All:([\d.]+)", err)[-1])


def ssim_raw(a: bytes, b: bytes, w: int, h: int, tmp: Path) -> float:
    """SSIM (all planes) between two raw yuv420p frames, as ffmpeg's ssim filter measures it."""
    fa, fb = tmp / "ssim_a.yuv", tmp / "ssim_b.yuv"
    fa.write_bytes(a)
    fb.write_bytes(b)
    raw = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}"]
    err = subprocess.run([FFMPEG, "-hide_banner", "-nostats", *raw, "-i", str(fa), *raw, "-i", str(fb),
                          "-lavfi", "ssim", "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"All:([\d.]+)", err)[-1])


def ssim_frames(path: Path, a: int, b: int) -> float:
    graph = (f"[0:v]trim=start_frame={a}:end_frame={a + 1},setpts=PTS-STARTPTS[a];"
             f"[1:v]trim=start_frame={b}:end_frame={b + 1},setpts=PTS-STARTPTS[b];[a][b]ssim")
    err = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-i", str(path),
                          "-filter_complex", graph, "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"All:([\d.]+)", err)[-1])


def decode_rgb(path: Path, w: int, h: int) -> np.ndarray:
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)


def decode_audio(path: Path) -> np.ndarray:
    raw = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", "48000", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).reshape(-1, 2)


def moov_before_mdat(path: Path) -> bool:
    """Walk the top-level boxes: with +faststart, moov comes first."""
    import struct

    order = []
    with open(path, "rb") as fh:
        pos, size = 0, path.stat().st_size
        while pos < size:
            fh.seek(pos)
            head = fh.read(16)
            n, kind = struct.unpack(">I", head[:4])[0], head[4:8]
            if n == 1:
                n = struct.unpack(">Q", head[8:16])[0]
            order.append(kind)
            if n < 8:
                break
            pos += n
    return b"moov" in order and b"mdat" in order and order.index(b"moov") < order.index(b"mdat")


def tone_track(path: Path, seconds: float, freq: float = 220.0, level_db: float = -20.0, seed: int = 0) -> Path:
    """A short stereo 48 kHz WAV: a chord of tones with a little noise, at a given level."""
    from runner.media import wav

    n = int(seconds * 48000)
    t = np.arange(n) / 48000
    rng = np.random.default_rng(seed)
    x = sum(np.sin(2 * np.pi * freq * r * t + rng.random() * 6) for r in (1.0, 1.25, 1.5, 2.0))
    x = x / 4 + 0.05 * rng.standard_normal(n)
    x *= 10 ** (level_db / 20) / np.sqrt(np.mean(x ** 2))
    env = np.minimum(1, np.minimum(t / 0.2, (seconds - t) / 0.2))
    stereo = np.stack([x * env, x * env * 0.9], axis=1).astype(np.float32)
    wav.write(path, stereo)
    return path


def make_mix(path: Path, seconds: float) -> Path:
    """An AAC stereo 48 kHz file of the given length, made directly with ffmpeg."""
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=330:sample_rate=48000:duration={seconds}", "-ac", "2", "-c:a", "aac",
                    "-b:a", "128k", str(path)], check=True)
    return path


def make_clip(path: Path, seconds: float, fps: int = 30, size: str = "1280x720") -> Path:
    """A smoothly moving test clip, like a paid image-to-video result (not seamless)."""
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"gradients=s={size}:r={fps}:d={seconds}:speed=0.02:seed=3", "-c:v", "libx264",
                    "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True)
    return path


class FakeCtx:
    """The slice of the pipeline's StepContext the providers use; records every spend."""

    def __init__(self, session_dir: Path, variation: dict[str, Any], params: dict[str, Any] | None = None):
        self.session_dir = session_dir
        self.variation = variation
        self.params = params or {"minutes": 1, "tracks": 3, "atmosphere": "rain"}
        self.calls: list[Any] = []
        self.progress_seen: list[dict[str, Any]] = []
        self.events: list[tuple[str, str]] = []
        self.event_data: dict[str, dict[str, Any]] = {}  # the latest data of each event type
        self.logs: list[tuple[str, str]] = []

    async def spend(self, call, run):
        self.calls.append(call)
        return await run()

    def progress(self, **kw: Any) -> None:
        self.progress_seen.append(kw)

    def event(self, type_: str, message: str, **data: Any) -> None:
        self.events.append((type_, message))
        self.event_data[type_] = data

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))
