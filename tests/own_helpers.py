"""A person's own files for the --music/--artwork/--loop tests, made here with ffmpeg."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

from media_helpers import FFMPEG

from runner.media import motion


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-v", "error", "-y", *args], check=True, capture_output=True)


def track(path: Path, seconds: float, *, freq: float, level_db: float, tags: dict[str, str] | None = None,
          codec: tuple[str, ...] = ()) -> Path:
    """A tone with a little noise under it (so it is not pure): level_db 0 is about -22 LUFS."""
    meta = [a for k, v in (tags or {}).items() for a in ("-metadata", f"{k}={v}")]
    ff("-f", "lavfi", "-i", f"sine=f={freq}:d={seconds}:sample_rate=44100",
       "-f", "lavfi", "-i", f"anoisesrc=c=pink:a=0.05:d={seconds}:r=44100",
       "-filter_complex", f"[0:a][1:a]amix=inputs=2:normalize=0,volume={level_db}dB,aformat=channel_layouts=stereo",
       *meta, *codec, str(path))
    return path


# Five tracks in three formats. Named so that natural order (1, 2, 3, 10, 11) differs from the
# order of the bytes ("1", "10", "11", "2", "3"); one has no title tag (its title comes from
# its name) and two have no artist (no credit). Lengths in seconds; loudness from about
# -30 to -9 LUFS.
FIVE: list[dict[str, Any]] = [
    {"name": "1 dawn.mp3", "seconds": 16, "freq": 220, "level": 4, "tags": {"title": "Dawn Chorus", "artist": "Ada Reed"},
     "codec": ("-c:a", "libmp3lame", "-b:a", "128k")},
    {"name": "2 dusk.flac", "seconds": 14, "freq": 330, "level": -8, "tags": {"title": "Dusk", "artist": "Ada Reed"},
     "codec": ()},
    {"name": "3 ember.ogg", "seconds": 18, "freq": 440, "level": 10, "tags": {"TITLE": "Ember"},
     "codec": ("-c:a", "libvorbis")},
    {"name": "10 harbour lights.mp3", "seconds": 15, "freq": 262, "level": -2, "tags": {},
     "codec": ("-c:a", "libmp3lame", "-b:a", "128k")},
    {"name": "11 lantern.flac", "seconds": 17, "freq": 392, "level": 13, "tags": {"title": "Lantern", "artist": "Bo Lind"},
     "codec": ()},
]


def five_tracks(folder: Path) -> list[dict[str, Any]]:
    folder.mkdir(parents=True, exist_ok=True)
    for t in FIVE:
        track(folder / t["name"], t["seconds"], freq=t["freq"], level_db=t["level"], tags=t["tags"], codec=t["codec"])
    return FIVE


def picture(path: Path, w: int, h: int) -> Path:
    """testsrc2's pattern at w x h: colour bars that show where a crop or pad went."""
    ff("-f", "lavfi", "-i", f"testsrc2=s={w}x{h}", "-frames:v", "1", str(path))
    return path


def exif_app1(orientation: int, order: bytes = b"II") -> bytes:
    """A JPEG APP1 segment holding only EXIF's Orientation tag, as a camera writes it: "Exif\\0\\0",
    a TIFF header (byte order, 42, IFD0 at 8) and IFD0 with one entry, 0x0112 SHORT."""
    e = "<" if order == b"II" else ">"
    tiff = (order + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", 1)
            + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0))
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def with_orientation(path: Path, orientation: int, order: bytes = b"II") -> Path:
    """The JPEG at path, given an EXIF Orientation tag (right after its SOI, where phones put it)."""
    data = path.read_bytes()
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    path.write_bytes(data[:2] + exif_app1(orientation, order) + data[2:])
    return path


def clip(path: Path, *, seamless: bool, seconds: int = 4, fps: int = 24, size: str = "1920x1080",
         conforming: bool = True) -> Path:
    """A still with a white square moving over it: around a circle in `seconds` (its last frame
    flows into its first) or straight across (its ends do not meet). conforming: encoded as the
    runner's own loops are (motion.encoder_args); else VP9 in WebM."""
    frames = seconds * fps
    w, h = (int(v) for v in size.split("x"))
    x = f"{w // 2 - 80}+{w // 3}*sin(2*PI*t/{seconds})" if seamless else f"{w // 10}+{w // 6}*t"
    graph = (f"[0:v]trim=end_frame=1,loop=loop={frames - 1}:size=1:start=0,setpts=N/{fps}/TB[bg];"
             f"[bg][1:v]overlay=x='{x}':y={h // 3},format=yuv420p")
    codec = [*motion.encoder_args(fps, frames)] if conforming else ["-c:v", "libvpx-vp9", "-b:v", "1M", "-r", str(fps)]
    ff("-f", "lavfi", "-i", f"testsrc2=s={size}:r={fps}:d={seconds}", "-f", "lavfi",
       "-i", f"color=c=white:s=160x160:r={fps}:d={seconds}", "-filter_complex", graph, "-frames:v", str(frames),
       *codec, str(path))
    return path


def drm_m4a(path: Path) -> Path:
    """AAC in an M4A encrypted with Common Encryption (CENC), as protected stores ship it."""
    plain = path.with_name("plain-" + path.name)
    track(plain, 3, freq=330, level_db=-12, codec=("-c:a", "aac", "-b:a", "96k"))
    ff("-i", str(plain), "-c", "copy", "-encryption_scheme", "cenc-aes-ctr",
       "-encryption_key", "76a6c65c5ea762046bd749a2e632ccbb", "-encryption_kid", "a7e61c373e219033c21091fa607bf3b8",
       str(path))
    plain.unlink()
    return path


def truncated_flac(path: Path) -> Path:
    """A 10 s FLAC cut off at 60 % of its bytes, as a broken download leaves it."""
    track(path, 10, freq=330, level_db=-12)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


def video_only(path: Path) -> Path:
    """An MP4 with a picture and no sound, named like audio."""
    ff("-f", "lavfi", "-i", "testsrc2=s=320x240:d=3", "-c:v", "libx264", "-f", "mp4", str(path))
    return path
