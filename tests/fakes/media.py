"""Small but real media for the fakes to serve, made with ffmpeg at test time.

A 1920x1072 PNG (FLUX sizes snap to multiples of 16, so the provider must fit it to 1080),
a 2.5 s 1280x720 H.264 clip, two 12 s MP3 tracks and an 8 s MP3 ambience bed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(*args: str) -> None:
    subprocess.run([ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True, timeout=120)


def make_media(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "art.png": folder / "art.png",
        "clip.mp4": folder / "clip.mp4",
        "track-1.mp3": folder / "track-1.mp3",
        "track-2.mp3": folder / "track-2.mp3",
        "ambience.mp3": folder / "ambience.mp3",
        "thumb.jpg": folder / "thumb.jpg",
    }
    _run("-f", "lavfi", "-i", "testsrc2=size=1920x1072:rate=1", "-frames:v", "1", str(out["art.png"]))
    # Kling answers 5 s; 2.5 s is as real to every check and halves the loop's encode in the tests.
    _run("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24", "-t", "2.5", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out["clip.mp4"]))
    for n, freq in ((1, 220), (2, 330)):
        _run("-f", "lavfi", "-i", f"sine=frequency={freq}:sample_rate=44100:duration=12", "-ac", "2",
             "-c:a", "libmp3lame", "-b:a", "128k", str(out[f"track-{n}.mp3"]))
    _run("-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.1:sample_rate=44100:duration=8", "-ac", "2",
         "-c:a", "libmp3lame", "-b:a", "128k", str(out["ambience.mp3"]))
    _run("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=1", "-frames:v", "1", "-q:v", "4", str(out["thumb.jpg"]))
    return out
