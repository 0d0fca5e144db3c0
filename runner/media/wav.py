"""16-bit stereo WAV files written in chunks, and the walk to their samples.

The local tracks are written as WAV first on purpose: writing and re-reading PCM costs
nothing, so the master reads each track in place while the next is made; the music step
keeps them as FLAC once the mix is done (an ffmpeg process beside the synthesis).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import numpy as np

RATE = 48000
CHANNELS = 2
DITHER_FRAMES = 1 << 16


def header(frames: int, rate: int = RATE, channels: int = CHANNELS) -> bytes:
    data = frames * channels * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16)
            + b"data" + struct.pack("<I", data))


class Writer:
    """Writes float chunks (n, 2) in -1..1 as dithered 16-bit PCM; the length is known up front."""

    def __init__(self, path: Path, frames: int, *, seed: int = 0):
        self.path = Path(path)
        self.frames = frames
        self.written = 0
        self.tmp = self.path.with_name(f".{self.path.name}.tmp")
        self.fh: BinaryIO = open(self.tmp, "wb")
        self.fh.write(header(frames))
        # Triangular dither from a table of about 1.4 s read round and round: a pattern that
        # repeats at -96 dBFS is inaudible, and drawing fresh noise for every sample of an
        # hour costs seconds of CPU.
        rng = np.random.default_rng([seed, 16])
        self.dither = (rng.random((DITHER_FRAMES, CHANNELS), dtype=np.float32)
                       - rng.random((DITHER_FRAMES, CHANNELS), dtype=np.float32))

    def write(self, chunk: np.ndarray) -> None:
        n = min(len(chunk), self.frames - self.written)
        if n <= 0:
            return
        x = chunk[:n] * np.float32(32767.0)
        # Triangular dither keeps quiet fades free of quantisation grit.
        done = 0
        while done < n:
            a = (self.written + done) % DITHER_FRAMES
            k = min(n - done, DITHER_FRAMES - a)
            x[done:done + k] += self.dither[a:a + k]
            done += k
        np.clip(x, -32768, 32767, out=x)
        self.fh.write(np.rint(x).astype("<i2").tobytes())
        self.written += n

    def close(self) -> None:
        if self.written < self.frames:
            self.write(np.zeros((self.frames - self.written, CHANNELS), np.float32))
        self.fh.close()
        self.tmp.replace(self.path)

    def abort(self) -> None:
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def write(path: Path, audio: np.ndarray) -> None:
    w = Writer(path, len(audio))
    w.write(audio.astype(np.float32))
    w.close()


def data_offset(path: Path) -> tuple[int, int, int, int, int]:
    """(offset of PCM data, bytes of data, channels, rate, bits) for a PCM WAV file."""
    with open(path, "rb") as fh:
        head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise ValueError(f"not a WAV file: {path}")
        fmt = None
        while True:
            hdr = fh.read(8)
            if len(hdr) < 8:
                raise ValueError(f"WAV file has no data chunk: {path}")
            cid, clen = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"fmt ":
                body = fh.read(clen + (clen & 1))
                tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
                if tag == 0xFFFE and len(body) >= 26:
                    tag = struct.unpack("<H", body[24:26])[0]
                fmt = (tag, channels, rate, bits)
            elif cid == b"data":
                if fmt is None:
                    raise ValueError(f"WAV data before fmt: {path}")
                return fh.tell(), clen, fmt[1], fmt[2], fmt[3] if fmt[0] == 1 else -fmt[3]
            else:
                fh.seek(clen + (clen & 1), 1)
