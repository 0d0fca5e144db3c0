"""Ambience beds (rain, cafe, fireplace, forest) that loop without a seam.

Each bed is built circularly: noise is shaped in the frequency domain over the whole loop
(so its end continues into its start), slow swells complete whole cycles per loop, and every
droplet, clink, crackle or bird call that runs past the end wraps round to the start. The
master can then repeat the file for an hour without a click or a gap.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import wav
from .music import SR, bandpass, fft_filter, highpass, lowpass

ATMOSPHERES = ("rain", "cafe", "fireplace", "forest")
LOOP_SECONDS = 40.0


def _noise(rng: np.random.Generator, n: int, shape: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Stereo noise with a given spectrum, circular over n samples; unit RMS."""
    x = fft_filter(rng.standard_normal((n, 2)).astype(np.float32), shape)
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return x


def _noise1(rng: np.random.Generator, n: int, shape: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    x = fft_filter(rng.standard_normal(n).astype(np.float32), shape)
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return x


def _swell(n: int, rng: np.random.Generator, cycles: tuple[int, ...], depth: float) -> np.ndarray:
    """A slow loudness movement made of whole cycles per loop, so it is periodic."""
    t = np.arange(n, dtype=np.float32) / n
    env = np.ones(n, np.float32)
    for c in cycles:
        env += depth / len(cycles) * np.sin(2 * np.pi * (c * t + rng.random())).astype(np.float32)
    return env


def _place(out: np.ndarray, start: int, sound: np.ndarray, gl: float, gr: float) -> None:
    """Add a mono sound at start, wrapping round the end of the loop."""
    n = len(out)
    start %= n
    k = min(len(sound), n - start)
    out[start:start + k, 0] += sound[:k] * gl
    out[start:start + k, 1] += sound[:k] * gr
    if k < len(sound):
        _place(out, 0, sound[k:], gl, gr)


def _pan(rng: np.random.Generator, width: float = 0.8) -> tuple[float, float]:
    p = rng.uniform(-width, width)
    a = (p + 1) * math.pi / 4
    return math.cos(a), math.sin(a)


def _t(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / SR


def rain(rng: np.random.Generator, n: int) -> np.ndarray:
    # The hiss of rain on a roof and a street, with a soft low body.
    bed = _noise(rng, n, lambda f: bandpass(400, 9000, 1)(f) / np.sqrt(1 + f / 2000)) * 0.5
    bed *= _swell(n, rng, (1, 2, 3), 0.25)[:, None]
    body = _noise(rng, n, bandpass(60, 400, 1)) * 0.25
    out = bed + body
    # Droplets: short bright ticks; a few heavier drips from a gutter.
    m = int(SR * 0.02)
    for _ in range(int(n / SR * 35)):
        tick = rng.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / rng.uniform(15, 60))
        tick = fft_filter(tick, bandpass(1500, 9000, 1))
        _place(out, int(rng.integers(n)), tick * rng.uniform(0.1, 0.45), *_pan(rng))
    m = int(SR * 0.08)
    for _ in range(int(n / SR * 1.2)):
        f0 = rng.uniform(1200, 2600)
        t = _t(m)
        drip = np.sin(2 * np.pi * f0 * t * (1 + 0.6 * t / 0.08)) * np.exp(-t / 0.02)
        _place(out, int(rng.integers(n)), drip.astype(np.float32) * rng.uniform(0.1, 0.25), *_pan(rng, 0.5))
    return out


def cafe(rng: np.random.Generator, n: int) -> np.ndarray:
    # Murmur: voices as band-passed noise, opened and closed at syllable rate.
    out = _noise(rng, n, bandpass(60, 300, 1)) * 0.12  # room tone
    for _ in range(6):
        lo = rng.uniform(250, 450)
        voice = _noise1(rng, n, bandpass(lo, lo * rng.uniform(4, 7), 2))
        syll = _noise1(rng, n, lowpass(rng.uniform(3, 6), 2))
        phrase = _noise1(rng, n, lowpass(0.3, 2))
        env = np.clip(syll * 0.6 + 0.4, 0, None) * np.clip(phrase + 0.3, 0, None)
        gl, gr = _pan(rng, 0.9)
        v = voice * env * rng.uniform(0.12, 0.22)
        out[:, 0] += v * gl
        out[:, 1] += v * gr
    # Cups and spoons: inharmonic bell partials, a few per loop.
    m = int(SR * 0.6)
    t = _t(m)
    for _ in range(int(n / SR * 0.35) + 2):
        f0 = rng.uniform(1800, 3200)
        clink = sum(np.sin(2 * np.pi * f0 * r * t) * np.exp(-t / (0.12 / r)) for r in (1.0, 2.76, 5.4))
        _place(out, int(rng.integers(n)), (clink * rng.uniform(0.05, 0.12)).astype(np.float32), *_pan(rng))
    return out


def fireplace(rng: np.random.Generator, n: int) -> np.ndarray:
    # The flame's breath and the fire's low roar.
    roar = _noise(rng, n, bandpass(40, 500, 1)) * 0.35
    roar *= _swell(n, rng, (1, 3, 5), 0.4)[:, None]
    hiss = _noise(rng, n, bandpass(1500, 7000, 1)) * 0.06
    out = roar + hiss
    # Crackles in clusters, and the odd pop.
    m = int(SR * 0.015)
    t = _t(m)
    k = 0
    while k < int(n / SR * 3):
        centre = int(rng.integers(n))
        for _ in range(int(rng.integers(1, 7))):
            crack = rng.standard_normal(m).astype(np.float32) * np.exp(-t / rng.uniform(0.0008, 0.003))
            crack = fft_filter(crack, highpass(rng.uniform(800, 2500), 1))
            _place(out, centre + int(rng.normal(0, SR * 0.05)), crack * rng.uniform(0.2, 0.8), *_pan(rng, 0.4))
        k += 1
    m = int(SR * 0.05)
    t = _t(m)
    for _ in range(int(n / SR * 0.4) + 1):
        pop = fft_filter(rng.standard_normal(m).astype(np.float32), bandpass(300, 2500, 1)) * np.exp(-t / 0.008)
        _place(out, int(rng.integers(n)), pop * rng.uniform(0.6, 1.2), *_pan(rng, 0.3))
    return out


def forest(rng: np.random.Generator, n: int) -> np.ndarray:
    # Wind in the leaves, breathing slowly.
    wind = _noise(rng, n, bandpass(150, 1500, 1)) * 0.3
    wind *= _swell(n, rng, (1, 2), 0.6)[:, None]
    leaves = _noise(rng, n, bandpass(2000, 8000, 1)) * 0.05 * _swell(n, rng, (2, 3, 5), 0.8)[:, None]
    out = wind + leaves
    # Crickets: pulsed trills around 4-5 kHz (a night-owl's forest).
    t_all = np.arange(n, dtype=np.float32) / SR
    for _ in range(2):
        f0 = rng.uniform(3800, 5000)
        rate = round(rng.uniform(12, 18) * LOOP_SECONDS) / LOOP_SECONDS  # whole pulses per loop
        chirp = np.sin(2 * np.pi * f0 * t_all) * (np.sin(2 * np.pi * rate * t_all) > 0.3)
        gate = (_swell(n, rng, (3, 4), 1.2) > 1.0).astype(np.float32)
        gate = fft_filter(gate, lowpass(20, 1))
        gl, gr = _pan(rng, 0.8)
        c = (chirp * gate * 0.03).astype(np.float32)
        out[:, 0] += c * gl
        out[:, 1] += c * gr
    # Birds: a few sweeping calls, and an owl twice a loop.
    m = int(SR * 0.25)
    t = _t(m)
    for _ in range(int(n / SR * 0.3) + 2):
        start = int(rng.integers(n))
        f0, f1 = rng.uniform(2200, 3500), rng.uniform(3500, 5500)
        gl, gr = _pan(rng)
        for rep in range(int(rng.integers(2, 5))):
            sweep = f0 + (f1 - f0) * np.sin(np.pi * t / 0.25) ** 2
            call = np.sin(2 * np.pi * np.cumsum(sweep) / SR) * np.sin(np.pi * t / 0.25) ** 2
            _place(out, start + rep * int(SR * rng.uniform(0.28, 0.4)), (call * 0.06).astype(np.float32), gl, gr)
    m = int(SR * 0.7)
    t = _t(m)
    for k in range(2):
        start = int(n * (0.3 + 0.45 * k) + rng.integers(SR))
        for rep, d in enumerate((0.0, 0.9)):
            f = 380 * (1 - 0.06 * t / 0.7)
            hoot = np.sin(2 * np.pi * np.cumsum(f) / SR) * np.sin(np.pi * t / 0.7) ** 1.5
            _place(out, start + int(d * SR), (hoot * 0.07).astype(np.float32), 0.8, 0.6)
    return out


MAKERS = {"rain": rain, "cafe": cafe, "fireplace": fireplace, "forest": forest}


def render_ambience(atmosphere: str, out_wav: Path, *, seed: int = 0,
                    seconds: float = LOOP_SECONDS) -> dict[str, Any]:
    if atmosphere not in MAKERS:
        raise ValueError(f"unknown atmosphere {atmosphere!r}; choose one of: {', '.join(ATMOSPHERES)}")
    rng = np.random.default_rng([seed, sum(map(ord, atmosphere))])
    n = int(seconds * SR)
    x = MAKERS[atmosphere](rng, n)
    # Level: a bed sits low, so its level is normalised to a fixed RMS here; the master
    # sets its place under the music by loudness.
    x *= 10 ** (-20 / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12)
    peak = float(np.max(np.abs(x)))
    if peak > 0.89:
        x *= 0.89 / peak
    wav.write(Path(out_wav), x)
    return {"file": Path(out_wav), "seconds": n / SR, "loop": True}
