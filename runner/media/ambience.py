"""Ambience beds (rain, cafe, fireplace, forest) that never repeat themselves.

A bed is made the way a sound designer re-sequences field recordings: each continuous layer
(the hiss of rain, a room's murmur, a fire's roar, wind) is read from a pool of shaped noise
in pieces of a few seconds at random places, equal-power crossfaded into each other, under a
slow swell that wanders at random; the events (droplets, cups, crackles, birds) are grains
from a bank of variants, placed at random times with random level and pan. Nothing is a
loop, so no stretch comes back: the bed is written chunk by chunk, at most BED_SECONDS long
(longer than the ten minutes within which no 30 s may repeat; the master repeats a bed with a
crossfade when the video is longer still).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import wav
from .sound import SR, bandpass, fft_filter, highpass, lowpass, times

ATMOSPHERES = ("rain", "cafe", "fireplace", "forest")
# The longest bed made: past ten minutes (issue 14: no 30 s stretch repeats within ten
# minutes), with room for the master's 2 s crossfade where a longer video repeats it.
BED_SECONDS = 660.0
POOL_SECONDS = 24.0      # each layer's pool of shaped noise, read in pieces
PIECE_S = (1.5, 5.0)     # how long a piece of pool plays
PIECE_XF_S = 0.25        # the equal-power crossfade between pieces
CHUNK_S = 4.0
LEVEL_DBFS = -20.0       # RMS the bed is written at; the master sets its place by loudness
PEAK = 0.89


def _shaped(rng: np.random.Generator, n: int, shape: Callable[[np.ndarray], np.ndarray], channels: int = 2) -> np.ndarray:
    """Circular noise with a given spectrum; unit RMS."""
    x = fft_filter(rng.standard_normal((n, channels) if channels > 1 else n).astype(np.float32), shape)
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return x


def _slow(rng: np.random.Generator, n: int, fc: float) -> np.ndarray:
    """Unit-RMS noise low-passed at fc (a few Hz at most), made at 1/100 of the rate and
    interpolated up: the same shape for a hundredth of the work."""
    m = n // 100 + 2
    x = fft_filter(rng.standard_normal(m).astype(np.float32), lambda f: lowpass(fc, 2)(f * 100))
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return np.interp(np.arange(n, dtype=np.float32) / 100, np.arange(m), x).astype(np.float32)


class Swell:
    """A slow loudness movement around 1 that never repeats: control points every `step`
    seconds, random within +-depth, joined by a raised-cosine curve."""

    def __init__(self, rng: np.random.Generator, depth: float, step: float):
        self.rng, self.depth, self.step = rng, depth, int(step * SR)
        self.a, self.b = self._point(), self._point()
        self.pos = 0

    def _point(self) -> float:
        return 1.0 + self.depth * float(self.rng.uniform(-1, 1))

    def take(self, n: int) -> np.ndarray:
        out = np.empty(n, np.float32)
        done = 0
        while done < n:
            k = min(n - done, self.step - self.pos)
            ph = (np.arange(self.pos, self.pos + k, dtype=np.float32) / self.step) * np.float32(np.pi)
            w = 0.5 - 0.5 * np.cos(ph)
            out[done:done + k] = self.a + (self.b - self.a) * w
            done += k
            self.pos += k
            if self.pos == self.step:
                self.a, self.b, self.pos = self.b, self._point(), 0
        return out


class Layer:
    """A continuous texture: pieces of a noise pool at random places, crossfaded, swelling."""

    def __init__(self, rng: np.random.Generator, pool: np.ndarray, gain: float, swell: Swell | None = None):
        self.rng, self.pool, self.gain, self.swell = rng, pool, gain, swell
        self.xf = int(PIECE_XF_S * SR)
        self.piece = self._new_piece()
        self.pos = 0

    def _new_piece(self) -> tuple[int, int, bool]:
        length = int(self.rng.uniform(*PIECE_S) * SR)
        return int(self.rng.integers(len(self.pool))), length, bool(self.rng.random() < 0.5)

    def _read(self, piece: tuple[int, int, bool], a: int, n: int) -> np.ndarray:
        off, _, swap = piece
        a = (off + a) % len(self.pool)
        x = self.pool[a:a + n]
        if len(x) < n:  # the pool is circular
            x = np.concatenate([x, self.pool[:n - len(x)]])
        return x[:, ::-1] if swap else x

    def take(self, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        done = 0
        while done < n:
            length = self.piece[1]
            k = min(n - done, length - self.pos)
            out[done:done + k] = self._read(self.piece, self.pos, k)
            done += k
            self.pos += k
            if self.pos >= length:
                nxt = self._new_piece()
                # The next piece fades in over the last xf samples already written.
                m = min(self.xf, done)
                if m:
                    ph = (np.arange(m, dtype=np.float32) + 0.5) * np.float32(0.5 * np.pi / m)
                    tail = out[done - m:done]
                    tail *= np.cos(ph)[:, None]
                    tail += self._read(nxt, 0, m) * np.sin(ph)[:, None]
                self.piece, self.pos = nxt, m
        if self.swell is not None:
            out *= self.swell.take(n)[:, None]
        return out * np.float32(self.gain)


@dataclass
class Grains:
    """Events from a bank of variants at an average rate per second, each at a random level
    (gain range) and pan (width); `cluster` > 1 scatters that many around each event."""

    bank: list[np.ndarray]
    rate: float
    gain: tuple[float, float]
    width: float = 0.8
    cluster: tuple[int, int] = (1, 2)
    spread_s: float = 0.0


class GrainTrack:
    def __init__(self, rng: np.random.Generator, grains: Grains):
        self.rng, self.g = rng, grains
        self.tail = np.zeros((0, 2), np.float32)

    def take(self, n: int) -> np.ndarray:
        longest = max(len(b) for b in self.g.bank)
        spread = int(self.g.spread_s * SR)
        buf = np.zeros((n + longest + 2 * spread, 2), np.float32)
        buf[:len(self.tail)] += self.tail
        rng = self.rng
        for _ in range(int(rng.poisson(self.g.rate * n / SR))):
            centre = int(rng.integers(n))
            a = (rng.uniform(-self.g.width, self.g.width) + 1) * math.pi / 4
            gl, gr = math.cos(a), math.sin(a)
            for _ in range(int(rng.integers(*self.g.cluster))):
                at = max(0, centre + (int(rng.normal(0, spread)) if spread else 0))
                sound = self.g.bank[int(rng.integers(len(self.g.bank)))]
                v = float(rng.uniform(*self.g.gain))
                buf[at:at + len(sound), 0] += sound * (v * gl)
                buf[at:at + len(sound), 1] += sound * (v * gr)
        self.tail = buf[n:].copy()
        return buf[:n]


# ----------------------------------------------------------------------------- the four beds

def _bank(rng: np.random.Generator, count: int, make: Callable[[np.random.Generator], np.ndarray]) -> list[np.ndarray]:
    return [make(rng).astype(np.float32) for _ in range(count)]


def rain(rng: np.random.Generator) -> tuple[list[Layer], list[GrainTrack]]:
    pool = int(POOL_SECONDS * SR)
    # The hiss of rain on a roof and a street, with a soft low body.
    hiss = _shaped(rng, pool, lambda f: bandpass(400, 9000, 1)(f) / np.sqrt(1 + f / 2000))
    body = _shaped(rng, pool, bandpass(60, 400, 1))
    layers = [Layer(rng, hiss, 0.5, Swell(rng, 0.25, 7.0)), Layer(rng, body, 0.25, Swell(rng, 0.2, 11.0))]

    def tick(r: np.random.Generator) -> np.ndarray:
        m = int(SR * 0.02)
        x = r.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / r.uniform(15, 60))
        return fft_filter(x, bandpass(1500, 9000, 1))

    def drip(r: np.random.Generator) -> np.ndarray:
        t = times(int(SR * 0.08))
        f0 = r.uniform(1200, 2600)
        return np.sin(2 * np.pi * f0 * t * (1 + 0.6 * t / 0.08)) * np.exp(-t / 0.02)

    grains = [Grains(_bank(rng, 48, tick), 35.0, (0.1, 0.45)), Grains(_bank(rng, 16, drip), 1.2, (0.1, 0.25), 0.5)]
    return layers, [GrainTrack(rng, g) for g in grains]


def cafe(rng: np.random.Generator) -> tuple[list[Layer], list[GrainTrack]]:
    pool = int(POOL_SECONDS * SR)
    room = _shaped(rng, pool, bandpass(60, 300, 1))
    # Murmur: voices as band-passed noise, opened and closed at syllable rate, in a pool of
    # its own that is re-sequenced like the others.
    murmur = np.zeros((pool, 2), np.float32)
    for _ in range(6):
        lo = rng.uniform(250, 450)
        voice = _shaped(rng, pool, bandpass(lo, lo * rng.uniform(4, 7), 2), 1)
        syll = _slow(rng, pool, rng.uniform(3, 6))
        phrase = _slow(rng, pool, 0.3)
        env = np.clip(syll * 0.6 + 0.4, 0, None) * np.clip(phrase + 0.3, 0, None)
        a = (rng.uniform(-0.9, 0.9) + 1) * math.pi / 4
        v = voice * env * rng.uniform(0.12, 0.22)
        murmur[:, 0] += v * math.cos(a)
        murmur[:, 1] += v * math.sin(a)
    murmur /= np.sqrt(np.mean(murmur ** 2)) + 1e-12
    layers = [Layer(rng, room, 0.12), Layer(rng, murmur, 0.3, Swell(rng, 0.3, 9.0))]

    def clink(r: np.random.Generator) -> np.ndarray:
        t = times(int(SR * 0.6))
        f0 = r.uniform(1800, 3200)
        out = np.zeros(len(t), np.float32)
        for k in (1.0, 2.76, 5.4):
            out += np.sin(2 * np.pi * f0 * k * t) * np.exp(-t / (0.12 / k))
        return out

    return layers, [GrainTrack(rng, Grains(_bank(rng, 12, clink), 0.35, (0.05, 0.12)))]


def fireplace(rng: np.random.Generator) -> tuple[list[Layer], list[GrainTrack]]:
    pool = int(POOL_SECONDS * SR)
    roar = _shaped(rng, pool, bandpass(40, 500, 1))
    hiss = _shaped(rng, pool, bandpass(1500, 7000, 1))
    layers = [Layer(rng, roar, 0.35, Swell(rng, 0.4, 5.0)), Layer(rng, hiss, 0.06, Swell(rng, 0.3, 3.0))]

    def crack(r: np.random.Generator) -> np.ndarray:
        m = int(SR * 0.015)
        x = r.standard_normal(m).astype(np.float32) * np.exp(-times(m) / r.uniform(0.0008, 0.003))
        return fft_filter(x, highpass(r.uniform(800, 2500), 1))

    def pop(r: np.random.Generator) -> np.ndarray:
        m = int(SR * 0.05)
        return fft_filter(r.standard_normal(m).astype(np.float32), bandpass(300, 2500, 1)) * np.exp(-times(m) / 0.008)

    grains = [Grains(_bank(rng, 32, crack), 3.0, (0.2, 0.8), 0.4, (1, 7), 0.05),
              Grains(_bank(rng, 8, pop), 0.4, (0.6, 1.2), 0.3)]
    return layers, [GrainTrack(rng, g) for g in grains]


def forest(rng: np.random.Generator) -> tuple[list[Layer], list[GrainTrack]]:
    pool = int(POOL_SECONDS * SR)
    wind = _shaped(rng, pool, bandpass(150, 1500, 1))
    leaves = _shaped(rng, pool, bandpass(2000, 8000, 1))
    # Crickets: pulsed trills around 4-5 kHz, gated on and off (a night-owl's forest).
    t = times(pool)
    crickets = np.zeros((pool, 2), np.float32)
    for _ in range(2):
        f0, rate = rng.uniform(3800, 5000), rng.uniform(12, 18)
        chirp = np.sin(2 * np.pi * f0 * t) * (np.sin(2 * np.pi * rate * t) > 0.3)
        gate = fft_filter((_slow(rng, pool, 0.2) > 0).astype(np.float32), lowpass(20, 1))
        a = (rng.uniform(-0.8, 0.8) + 1) * math.pi / 4
        crickets[:, 0] += chirp * gate * math.cos(a)
        crickets[:, 1] += chirp * gate * math.sin(a)
    layers = [Layer(rng, wind, 0.3, Swell(rng, 0.6, 6.0)), Layer(rng, leaves, 0.05, Swell(rng, 0.8, 2.5)),
              Layer(rng, crickets, 0.03)]

    def bird(r: np.random.Generator) -> np.ndarray:
        m = int(SR * 0.25)
        tt = times(m)
        f0, f1 = r.uniform(2200, 3500), r.uniform(3500, 5500)
        gap = int(SR * r.uniform(0.28, 0.4))
        reps = int(r.integers(2, 5))
        out = np.zeros(gap * (reps - 1) + m, np.float32)
        for k in range(reps):
            sweep = f0 + (f1 - f0) * np.sin(np.pi * tt / 0.25) ** 2
            out[k * gap:k * gap + m] += np.sin(2 * np.pi * np.cumsum(sweep) / SR) * np.sin(np.pi * tt / 0.25) ** 2
        return out * 0.06

    def owl(r: np.random.Generator) -> np.ndarray:
        m = int(SR * 0.7)
        tt = times(m)
        f = r.uniform(360, 400) * (1 - 0.06 * tt / 0.7)
        hoot = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.sin(np.pi * tt / 0.7) ** 1.5 * 0.07
        out = np.zeros(int(SR * 0.9) + m, np.float32)
        out[:m] += hoot
        out[int(SR * 0.9):] += hoot
        return out

    grains = [Grains(_bank(rng, 12, bird), 0.3, (0.8, 1.0)), Grains(_bank(rng, 3, owl), 0.05, (0.8, 1.0), 0.3)]
    return layers, [GrainTrack(rng, g) for g in grains]


MAKERS = {"rain": rain, "cafe": cafe, "fireplace": fireplace, "forest": forest}


def render_ambience(atmosphere: str, out_wav: Path, *, seed: int = 0,
                    seconds: float = BED_SECONDS) -> dict[str, Any]:
    """Write a bed of this atmosphere (48 kHz 16-bit stereo WAV, `seconds` long, RMS about
    LEVEL_DBFS); return {"file", "seconds"}.

    Raises ValueError for an atmosphere not in ATMOSPHERES.
    """
    if atmosphere not in MAKERS:
        raise ValueError(f"unknown atmosphere {atmosphere!r}; choose one of: {', '.join(ATMOSPHERES)}")
    rng = np.random.default_rng([seed, sum(map(ord, atmosphere))])
    layers, grains = MAKERS[atmosphere](rng)
    total = int(round(seconds * SR))
    chunk = int(CHUNK_S * SR)

    def take(n: int) -> np.ndarray:
        x = np.zeros((n, 2), np.float32)
        for layer in layers:
            x += layer.take(n)
        for g in grains:
            x += g.take(n)
        return x

    # The level is set once, from the first chunk, so the whole bed keeps its dynamics.
    first = take(min(chunk, total))
    gain = np.float32(10 ** (LEVEL_DBFS / 20) / (np.sqrt(np.mean(first ** 2)) + 1e-12))
    writer = wav.Writer(Path(out_wav), total, seed=seed)
    try:
        done, x = 0, first
        while True:
            x *= gain
            np.clip(x, -PEAK, PEAK, out=x)
            writer.write(x)
            done += len(x)
            if done >= total:
                break
            x = take(min(chunk, total - done))
        writer.close()
    except BaseException:
        writer.abort()
        raise
    return {"file": Path(out_wav), "seconds": total / SR}
