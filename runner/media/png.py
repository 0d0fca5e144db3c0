"""PNG files with the standard library: write an RGB image, read back its tEXt notes.

The local painter stores what it painted (its scene key) in a tEXt note, so the motion step
can tell its own artwork from someone else's without decoding pixels. Decoding pixels is
ffmpeg's job everywhere else in the runner.

Format: PNG 1.2 (ISO/IEC 15948), 8-bit truecolour (colour type 2), one IDAT chunk whose rows
all use the 'up' filter (type 2).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A note longer than this is not one of ours; it is skipped rather than read into memory.
MAX_TEXT_BYTES = 64 * 1024


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)


def encode(rgb: np.ndarray, level: int = 6, text: dict[str, str] | None = None) -> bytes:
    """The PNG bytes of an (h, w, 3) uint8 image, with optional latin-1 tEXt notes."""
    h, w, _ = rgb.shape
    flat = rgb.astype(np.uint8).reshape(h, w * 3)
    up = np.empty((h, 1 + w * 3), np.uint8)
    up[:, 0] = 2
    up[0, 1:] = flat[0]
    up[1:, 1:] = flat[1:] - flat[:-1]  # uint8 arithmetic wraps, as the filter wants
    notes = b"".join(_chunk(b"tEXt", k.encode("latin-1") + b"\0" + v.encode("latin-1"))
                     for k, v in (text or {}).items())
    return (SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + notes + _chunk(b"IDAT", zlib.compress(up.tobytes(), level)) + _chunk(b"IEND", b""))


def write_png(path: Path, rgb: np.ndarray, level: int = 6, text: dict[str, str] | None = None) -> None:
    """Write rgb ((h, w, 3) uint8) to path as a PNG, through a temporary name and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(encode(rgb, level, text))
    tmp.replace(path)


def read_png_text(path: Path) -> dict[str, str]:
    """The tEXt notes before the image data of a PNG; empty for anything else or unreadable.

    Reads chunk headers only up to the first IDAT, skips any note over MAX_TEXT_BYTES, and
    never raises for a hostile or truncated file.
    """
    out: dict[str, str] = {}
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != SIGNATURE:
                return out
            while True:
                head = fh.read(8)
                if len(head) < 8:
                    return out
                n, tag = struct.unpack(">I", head[:4])[0], head[4:]
                if tag in (b"IDAT", b"IEND"):
                    return out
                if tag != b"tEXt" or n > MAX_TEXT_BYTES:
                    fh.seek(n + 4, 1)
                    continue
                body = fh.read(n)
                fh.read(4)
                if b"\0" in body:
                    k, v = body.split(b"\0", 1)
                    out[k.decode("latin-1")] = v.decode("latin-1")
    except OSError:
        return out
