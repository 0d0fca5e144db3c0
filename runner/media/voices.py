"""The instruments of the procedural lofi: keys, leads, basses and drum kits, synthesised.

Each function renders one note (or one drum hit) as a mono float32 array at 48 kHz; the
track designer renders each distinct sound once and reuses it. Names are what a track spec's
`instruments` may ask for (runner/variation.py draws them per track within the session's mood).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .sound import SR, adsr, bandpass, fft_filter, filtered_noise, lowpass, midi_hz, times

KEYS_VOICES = ("rhodes", "felt piano", "warm pad", "vibes", "nylon")
LEAD_VOICES = ("soft sine", "flute", "kalimba", "muted horn", "whistle")
BASS_VOICES = ("electric", "upright", "sub")
KITS = ("dusty", "soft", "brushed", "tape")


def chord_voice(instrument: str, midi: float, seconds: float, vel: float, rng: np.random.Generator,
                rate: int = SR) -> np.ndarray:
    """One chord note, mono at `rate`; length = seconds held plus its release."""
    rel = {"warm pad": 0.9, "nylon": 0.6, "vibes": 0.9}.get(instrument, 0.45)
    n = int((seconds + rel * 2.5) * rate)
    t = times(n, rate)
    hold = int(seconds * rate)
    f = midi_hz(midi)
    # Slow tape wow, a few cents, so sustained chords breathe.
    wow = 1 + 0.0025 * np.sin(2 * np.pi * rng.uniform(0.3, 0.7) * t + rng.uniform(0, 6))
    phase = 2 * np.pi * f * np.cumsum(wow) / rate
    if instrument == "rhodes":
        index = 1.3 * np.exp(-t / 0.35) + 0.25
        x = np.sin(phase + index * np.sin(phase)) + 0.18 * np.sin(phase * 2.0) * np.exp(-t / 0.4)
        x += 0.05 * np.sin(phase * 7.0) * np.exp(-t / 0.05)  # the tine's bark
        env = adsr(n, 0.004, 1.8, 0.25, hold, rel, rate)
    elif instrument == "felt piano":
        x = np.zeros(n, np.float32)
        for k in range(1, 7):
            fk = k * math.sqrt(1 + 0.0004 * k * k)
            x += (0.9 / k ** 1.4) * np.sin(phase * fk) * np.exp(-t * (0.7 + 0.9 * k))
        x += 0.02 * rng.standard_normal(n).astype(np.float32) * np.exp(-t / 0.01)
        env = adsr(n, 0.006, 2.5, 0.0, hold, rel, rate)
    elif instrument == "warm pad":
        x = np.zeros(n, np.float32)
        for det in (-0.0045, 0.005):  # two voices a few cents apart: the chorus
            for k in range(1, 5):
                x += (0.6 / k ** 1.5) * np.sin(phase * (k * (1 + det)) + k * det * 40)
        env = adsr(n, 0.35, 1.5, 0.75, hold, rel, rate)
    elif instrument == "vibes":
        x = np.sin(phase) + 0.25 * np.sin(phase * 4.0) * np.exp(-t / 0.25) + 0.06 * np.sin(phase * 10.0) * np.exp(-t / 0.05)
        x *= 1 + 0.25 * np.sin(2 * np.pi * 5.0 * t)  # the motor's vibrato
        env = adsr(n, 0.003, 2.2, 0.0, hold, rel, rate)
    else:  # nylon: a plucked string's bright attack settling into its fundamental
        x = np.zeros(n, np.float32)
        for k in range(1, 9):
            x += (0.8 / k ** 1.1) * np.sin(phase * k) * np.exp(-t * (1.2 + 1.6 * k))
        env = adsr(n, 0.002, 3.0, 0.0, hold, rel, rate)
    return (x * env * vel).astype(np.float32)


def lead_note(instrument: str, midi: float, seconds: float, vel: float, rng: np.random.Generator) -> np.ndarray:
    """One melody note (LEAD_VOICES), mono; length = seconds held plus its release."""
    rel = 0.25 if instrument != "kalimba" else 0.6
    n = int((seconds + rel * 3) * SR)
    t = times(n)
    hold = int(seconds * SR)
    f = midi_hz(midi)
    vib_depth = 0.0 if instrument == "kalimba" else 0.004
    vib = 1 + vib_depth * np.sin(2 * np.pi * 5.2 * t) * np.minimum(t / 0.35, 1.0)
    phase = 2 * np.pi * f * np.cumsum(vib) / SR
    if instrument == "flute":
        x = np.sin(phase) + 0.22 * np.sin(2 * phase) + 0.06 * np.sin(3 * phase)
        breath = filtered_noise(rng, n, bandpass(f * 0.9, f * 3))
        x += 0.25 * breath / (np.std(breath) + 1e-9) * 0.2
        env = adsr(n, 0.06, 0.8, 0.8, hold, rel)
    elif instrument == "kalimba":
        x = np.sin(phase) + 0.35 * np.sin(phase * 5.4) * np.exp(-t / 0.06)
        env = adsr(n, 0.002, 0.9, 0.0, hold, rel)
    elif instrument == "muted horn":
        x = np.zeros(n, np.float32)
        bright = np.minimum(t / 0.08, 1.0)
        for k in range(1, 7):
            x += (1.0 / k ** 1.6) * np.sin(phase * k) * (bright if k > 2 else 1)
        env = adsr(n, 0.04, 0.6, 0.7, hold, rel)
    elif instrument == "whistle":
        x = np.sin(phase) + 0.03 * np.sin(3 * phase)
        env = adsr(n, 0.05, 1.0, 0.85, hold, rel)
    else:  # soft sine
        x = np.sin(phase) + 0.12 * np.sin(2 * phase) + 0.05 * np.sin(3 * phase)
        env = adsr(n, 0.025, 0.7, 0.65, hold, rel)
    return (x * env * vel).astype(np.float32)


def bass_note(voice: str, midi: float, seconds: float, vel: float) -> np.ndarray:
    """One bass note (BASS_VOICES), mono; length = seconds held plus its release."""
    rel = 0.08
    n = int((seconds + rel * 4) * SR)
    t = times(n)
    f = midi_hz(midi)
    ph = 2 * np.pi * f * t
    if voice == "electric":    # round electric
        x = np.sin(ph) + 0.22 * np.sin(2 * ph) + 0.06 * np.sin(3 * ph)
        env = adsr(n, 0.008, 0.6, 0.55, int(seconds * SR), rel)
    elif voice == "upright":   # a thump and a quick decay
        x = np.sin(ph) + 0.35 * np.sin(2 * ph) * np.exp(-t / 0.12) + 0.1 * np.sin(3 * ph) * np.exp(-t / 0.06)
        env = adsr(n, 0.004, 0.45, 0.2, int(seconds * SR), rel)
    else:                      # sub sine with a little drive
        x = np.tanh(1.6 * np.sin(ph)) / np.tanh(1.6)
        env = adsr(n, 0.01, 0.9, 0.7, int(seconds * SR), rel)
    return (x * env * vel).astype(np.float32)


@dataclass
class Kit:
    kick: np.ndarray
    snare: np.ndarray
    hat: np.ndarray
    open_hat: np.ndarray
    rim: np.ndarray


def _crush(x: np.ndarray, rate: int) -> np.ndarray:
    """Sample-and-hold at a lower rate: the grainy edge of an old sampler."""
    step = SR / rate
    idx = (np.floor(np.arange(len(x)) / step) * step).astype(int)
    return x[np.minimum(idx, len(x) - 1)]


# Per kit: sampler rate (lower is grittier), kick decay (s), snare noise decay (s), hat decay
# (s), top low-pass (Hz), drive. "brushed" trades the snare's crack for a long soft swish.
_KIT_STYLE = {
    "dusty": (16000, (0.18, 0.26), (0.09, 0.14), (0.018, 0.03), 8000, 1.4),
    "soft": (24000, (0.14, 0.2), (0.07, 0.11), (0.015, 0.025), 9000, 1.1),
    "brushed": (20000, (0.16, 0.22), (0.18, 0.26), (0.03, 0.045), 7500, 1.0),
    "tape": (20000, (0.2, 0.28), (0.1, 0.16), (0.02, 0.035), 8500, 2.0),
}


def make_kit(rng: np.random.Generator, style: str = "dusty") -> Kit:
    """A drum kit of the given style (KITS), varied by rng: every hit peaks at 1.0."""
    crush, kick_d, snare_d, hat_d, top, drive = _KIT_STYLE.get(style, _KIT_STYLE["dusty"])
    # Kick: a sine falling in pitch, round and short, with a soft beater click.
    n = int(0.5 * SR)
    t = times(n)
    f0, f1 = rng.uniform(95, 130), rng.uniform(42, 55)
    freq = f1 + (f0 - f1) * np.exp(-t / 0.045)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / rng.uniform(*kick_d))
    kick += 0.15 * fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(800, 4000)) * np.exp(-t / 0.006)
    kick = np.tanh(drive * kick) / np.tanh(drive)
    # Snare: a tuned body and a burst of band-passed noise.
    n = int(0.6 * SR)
    t = times(n)
    body = np.sin(2 * np.pi * rng.uniform(170, 210) * t) * np.exp(-t / 0.05)
    noise = fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(900, rng.uniform(5000, 8000)))
    noise /= np.max(np.abs(noise)) + 1e-9
    if style == "brushed":
        swish = np.minimum(t / 0.02, 1.0)  # a brush sweeps in rather than cracking
        snare = 0.25 * body + 0.8 * noise * swish * np.exp(-t / rng.uniform(*snare_d))
    else:
        snare = 0.55 * body + 0.9 * noise * np.exp(-t / rng.uniform(*snare_d))
    # Hats: high-passed noise, closed and open.
    n = int(0.5 * SR)
    t = times(n)
    hn = fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(rng.uniform(5500, 7500), 12000))
    hn /= np.max(np.abs(hn)) + 1e-9
    hat = hn * np.exp(-t / rng.uniform(*hat_d))
    open_hat = hn * np.exp(-t / 0.16)
    # Rim: a woody click.
    n = int(0.2 * SR)
    t = times(n)
    rim = (np.sin(2 * np.pi * 1650 * t) * 0.6 + np.sin(2 * np.pi * 520 * t)) * np.exp(-t / 0.012)
    parts = []
    for x in (kick, snare, hat, open_hat, rim):
        x = _crush(x.astype(np.float32), crush)
        x = fft_filter(x, lowpass(top, 2))
        x /= np.max(np.abs(x)) + 1e-9
        parts.append(x.astype(np.float32))
    return Kit(*parts)
