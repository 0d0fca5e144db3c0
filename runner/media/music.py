"""Procedural lofi: seventh-chord progressions, swung soft drums, bass, a melody, vinyl.

A track is planned as events (a chord here, a kick there) and rendered chunk by chunk
straight to a WAV file, so an hour of music never sits in memory. Sounds are synthesised
once per track and reused: a chord is rendered (with its reverb) the first time it is
played and then only added into the output again, which keeps a six-minute track to about
a second of CPU.

Everything is drawn from the track spec (key, mode, bpm, seed, mood): the progression,
the chord instrument, the lead, the kit, the swing, the groove. The same spec gives the
same samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import memory, wav

memory.tune()  # big numpy buffers go back to the system when freed (see memory.py)

SR = wav.RATE
CHUNK = 1 << 17  # 2.7 s of audio per render chunk

KEY_PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
          "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj7": (0, 4, 7, 11), "maj9": (0, 4, 7, 11, 14), "6/9": (0, 4, 7, 9, 14),
    "m7": (0, 3, 7, 10), "m9": (0, 3, 7, 10, 14), "m11": (0, 3, 7, 10, 14, 17),
    "7": (0, 4, 7, 10), "9": (0, 4, 7, 10, 14), "13": (0, 4, 10, 14, 21), "7b9": (0, 4, 7, 10, 13),
    "m7b5": (0, 3, 6, 10), "7sus4": (0, 5, 7, 10), "m6": (0, 3, 7, 9),
}

# (root in semitones above the key, quality): lofi and jazz staples per mode.
PROGRESSIONS: dict[str, list[list[tuple[int, str]]]] = {
    "major": [
        [(2, "m9"), (7, "13"), (0, "maj9"), (9, "m9")],
        [(0, "maj7"), (9, "m7"), (2, "m9"), (7, "9")],
        [(5, "maj9"), (4, "m7"), (2, "m9"), (0, "maj7")],
        [(5, "maj7"), (7, "9"), (4, "m7"), (9, "m9")],
        [(0, "maj9"), (5, "maj7"), (0, "6/9"), (5, "maj9")],
        [(5, "maj7"), (4, "7"), (9, "m9"), (7, "m7")],
        [(0, "maj7"), (2, "m7"), (4, "m7"), (5, "maj9"), (2, "m9"), (7, "13"), (0, "maj9"), (0, "maj7")],
    ],
    "minor": [
        [(0, "m9"), (5, "m9"), (10, "13"), (3, "maj7")],
        [(0, "m7"), (8, "maj7"), (2, "m7b5"), (7, "7b9")],
        [(8, "maj7"), (7, "7"), (0, "m9"), (0, "m7")],
        [(0, "m9"), (7, "m7"), (8, "maj7"), (10, "7sus4")],
        [(5, "m9"), (7, "m7"), (0, "m9"), (8, "maj9")],
        [(0, "m11"), (3, "maj7"), (5, "m9"), (7, "7b9")],
    ],
    "dorian": [
        [(0, "m9"), (5, "9"), (0, "m9"), (5, "9")],
        [(0, "m7"), (2, "m7"), (3, "maj7"), (5, "9")],
        [(0, "m9"), (10, "maj7"), (5, "9"), (0, "m11")],
        [(0, "m11"), (5, "13"), (3, "maj9"), (2, "m7")],
    ],
}

SCALES = {
    "major": (0, 2, 4, 7, 9),          # major pentatonic: melodies that never clash
    "minor": (0, 3, 5, 7, 10),         # minor pentatonic
    "dorian": (0, 2, 3, 5, 7, 9, 10),  # the sixth is dorian's colour
}

CHORD_INSTRUMENTS = ("rhodes", "felt piano", "warm pad", "vibes", "nylon")
LEAD_INSTRUMENTS = ("soft sine", "flute", "kalimba", "muted horn", "whistle")


def midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


# ----------------------------------------------------------------------------- DSP helpers

def _t(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float32) / SR


def fft_filter(x: np.ndarray, response: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Filter a one-shot (or circular loop) by a magnitude response of frequency in Hz."""
    n = len(x)
    # FFTs along contiguous rows: a (n, 2) array is transposed first (several times faster).
    rows = np.ascontiguousarray(x.T, dtype=np.float32) if x.ndim == 2 else x.astype(np.float32, copy=False)
    spec = np.fft.rfft(rows, axis=-1)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec *= response(f).astype(np.float32)
    out = np.fft.irfft(spec, n, axis=-1).astype(np.float32, copy=False)
    return np.ascontiguousarray(out.T) if x.ndim == 2 else out


def lowpass(fc: float, order: int = 2) -> Callable[[np.ndarray], np.ndarray]:
    return lambda f: 1 / np.sqrt(1 + (f / fc) ** (2 * order))


def highpass(fc: float, order: int = 2) -> Callable[[np.ndarray], np.ndarray]:
    return lambda f: 1 / np.sqrt(1 + (fc / np.maximum(f, 1e-3)) ** (2 * order))


def bandpass(lo: float, hi: float, order: int = 2) -> Callable[[np.ndarray], np.ndarray]:
    lp, hp = lowpass(hi, order), highpass(lo, order)
    return lambda f: lp(f) * hp(f)


def fast_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c >= n: FFTs of such sizes are fast, and much closer to n than
    the next power of two (which can nearly double the work)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def convolve(x: np.ndarray, ir: np.ndarray, ir_spectra: dict[int, np.ndarray] | None = None) -> np.ndarray:
    """Linear convolution via FFT; x (n,) or (n, c), ir (m,) or (m, c).

    ir_spectra caches the impulse response's spectrum per FFT size across calls.
    """
    n = len(x) + len(ir) - 1
    size = fast_size(n)
    X = np.fft.rfft(np.ascontiguousarray(x.T), size, axis=-1)
    Hf = ir_spectra.get(size) if ir_spectra is not None else None
    if Hf is None:
        Hf = np.fft.rfft(np.ascontiguousarray(ir.T), size, axis=-1)
        if ir_spectra is not None:
            ir_spectra[size] = Hf
    out = np.fft.irfft(X * Hf, size, axis=-1)[..., :n]
    return np.ascontiguousarray(out.T, dtype=np.float32)


def reverb_ir(rng: np.random.Generator, seconds: float, damp_hz: float) -> np.ndarray:
    """A stereo room: decorrelated decaying noise, darker as it decays."""
    n = int(seconds * SR)
    t = _t(n)
    noise = rng.standard_normal((n, 2)).astype(np.float32)
    env = np.exp(-6.9 * t / seconds)[:, None]  # -60 dB at the end
    ir = fft_filter(noise * env, lowpass(damp_hz, 1))
    pre = int(0.012 * SR)
    ir = np.concatenate([np.zeros((pre, 2), np.float32), ir])
    ir /= np.sqrt(np.sum(ir ** 2) / 2)
    return ir


def adsr(n: int, attack: float, decay: float, sustain: float, release_at: int, release: float) -> np.ndarray:
    t = _t(n)
    a = np.minimum(t / max(attack, 1e-4), 1.0)
    d = sustain + (1 - sustain) * np.exp(-np.maximum(t - attack, 0) / max(decay, 1e-4))
    env = a * d
    if release_at < n:
        tr = t[release_at:] - t[release_at]
        env[release_at:] *= np.exp(-tr / max(release, 1e-4))
    return env.astype(np.float32)


# ----------------------------------------------------------------------------- instruments

def chord_voice(instrument: str, midi: float, seconds: float, vel: float, rng: np.random.Generator) -> np.ndarray:
    """One chord note, mono; length = seconds held plus its release."""
    rel = {"warm pad": 0.9, "nylon": 0.6, "vibes": 0.9}.get(instrument, 0.45)
    n = int((seconds + rel * 2.5) * SR)
    t = _t(n)
    hold = int(seconds * SR)
    f = midi_hz(midi)
    # Slow tape wow, a few cents, so sustained chords breathe.
    wow = 1 + 0.0025 * np.sin(2 * np.pi * rng.uniform(0.3, 0.7) * t + rng.uniform(0, 6))
    phase = 2 * np.pi * f * np.cumsum(wow) / SR
    if instrument == "rhodes":
        index = 1.3 * np.exp(-t / 0.35) + 0.25
        x = np.sin(phase + index * np.sin(phase)) + 0.18 * np.sin(phase * 2.0) * np.exp(-t / 0.4)
        x += 0.05 * np.sin(phase * 7.0) * np.exp(-t / 0.05)  # the tine's bark
        env = adsr(n, 0.004, 1.8, 0.25, hold, rel)
    elif instrument == "felt piano":
        x = np.zeros(n, np.float32)
        for k in range(1, 7):
            fk = k * math.sqrt(1 + 0.0004 * k * k)
            x += (0.9 / k ** 1.4) * np.sin(phase * fk) * np.exp(-t * (0.7 + 0.9 * k))
        x += 0.02 * rng.standard_normal(n).astype(np.float32) * np.exp(-t / 0.01)
        env = adsr(n, 0.006, 2.5, 0.0, hold, rel)
    elif instrument == "warm pad":
        x = np.zeros(n, np.float32)
        for det in (-0.0045, 0.005):  # two voices a few cents apart: the chorus
            for k in range(1, 5):
                x += (0.6 / k ** 1.5) * np.sin(phase * (k * (1 + det)) + k * det * 40)
        env = adsr(n, 0.35, 1.5, 0.75, hold, rel)
    elif instrument == "vibes":
        x = np.sin(phase) + 0.25 * np.sin(phase * 4.0) * np.exp(-t / 0.25) + 0.06 * np.sin(phase * 10.0) * np.exp(-t / 0.05)
        x *= 1 + 0.25 * np.sin(2 * np.pi * 5.0 * t)  # the motor's vibrato
        env = adsr(n, 0.003, 2.2, 0.0, hold, rel)
    else:  # nylon: a plucked string's bright attack settling into its fundamental
        x = np.zeros(n, np.float32)
        for k in range(1, 9):
            x += (0.8 / k ** 1.1) * np.sin(phase * k) * np.exp(-t * (1.2 + 1.6 * k))
        env = adsr(n, 0.002, 3.0, 0.0, hold, rel)
    return (x * env * vel).astype(np.float32)


def lead_note(instrument: str, midi: float, seconds: float, vel: float, rng: np.random.Generator) -> np.ndarray:
    rel = 0.25 if instrument != "kalimba" else 0.6
    n = int((seconds + rel * 3) * SR)
    t = _t(n)
    hold = int(seconds * SR)
    f = midi_hz(midi)
    vib_depth = 0.0 if instrument == "kalimba" else 0.004
    vib = 1 + vib_depth * np.sin(2 * np.pi * 5.2 * t) * np.minimum(t / 0.35, 1.0)
    phase = 2 * np.pi * f * np.cumsum(vib) / SR
    if instrument == "flute":
        x = np.sin(phase) + 0.22 * np.sin(2 * phase) + 0.06 * np.sin(3 * phase)
        breath = fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(f * 0.9, f * 3))
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


def bass_note(style: int, midi: float, seconds: float, vel: float) -> np.ndarray:
    rel = 0.08
    n = int((seconds + rel * 4) * SR)
    t = _t(n)
    f = midi_hz(midi)
    ph = 2 * np.pi * f * t
    if style == 0:    # round electric
        x = np.sin(ph) + 0.22 * np.sin(2 * ph) + 0.06 * np.sin(3 * ph)
        env = adsr(n, 0.008, 0.6, 0.55, int(seconds * SR), rel)
    elif style == 1:  # upright: a thump and a quick decay
        x = np.sin(ph) + 0.35 * np.sin(2 * ph) * np.exp(-t / 0.12) + 0.1 * np.sin(3 * ph) * np.exp(-t / 0.06)
        env = adsr(n, 0.004, 0.45, 0.2, int(seconds * SR), rel)
    else:             # sub sine with a little drive
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


def make_kit(rng: np.random.Generator) -> Kit:
    crush = int(rng.choice([16000, 20000, 24000]))
    # Kick: a sine falling in pitch, round and short, with a soft beater click.
    n = int(0.5 * SR)
    t = _t(n)
    f0, f1 = rng.uniform(95, 130), rng.uniform(42, 55)
    freq = f1 + (f0 - f1) * np.exp(-t / 0.045)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t / rng.uniform(0.16, 0.26))
    kick += 0.15 * fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(800, 4000)) * np.exp(-t / 0.006)
    kick = np.tanh(1.4 * kick) / np.tanh(1.4)
    # Snare: a tuned body and a burst of band-passed noise.
    n = int(0.6 * SR)
    t = _t(n)
    body = np.sin(2 * np.pi * rng.uniform(170, 210) * t) * np.exp(-t / 0.05)
    noise = fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(900, rng.uniform(5000, 8000)))
    noise /= np.max(np.abs(noise)) + 1e-9
    snare = 0.55 * body + 0.9 * noise * np.exp(-t / rng.uniform(0.09, 0.16))
    # Hats: high-passed noise, closed and open.
    n = int(0.5 * SR)
    t = _t(n)
    hn = fft_filter(rng.standard_normal(n).astype(np.float32), bandpass(rng.uniform(5500, 7500), 12000))
    hn /= np.max(np.abs(hn)) + 1e-9
    hat = hn * np.exp(-t / rng.uniform(0.018, 0.035))
    open_hat = hn * np.exp(-t / 0.16)
    # Rim: a woody click.
    n = int(0.2 * SR)
    t = _t(n)
    rim = (np.sin(2 * np.pi * 1650 * t) * 0.6 + np.sin(2 * np.pi * 520 * t)) * np.exp(-t / 0.012)
    parts = []
    for x in (kick, snare, hat, open_hat, rim):
        x = _crush(x.astype(np.float32), crush)
        x = fft_filter(x, lowpass(9000, 2))
        x /= np.max(np.abs(x)) + 1e-9
        parts.append(x.astype(np.float32))
    return Kit(*parts)


# ----------------------------------------------------------------------------- planning

# Mix levels (RMS of a reference sound, dBFS) and drum hit gains, set so that chords sit in
# front, bass and kick are felt more than heard, and the hats only tick.
CHORD_RMS = -19.0
LEAD_RMS = -21.0
BASS_RMS = -17.0
KICK_GAIN = 0.36
SNARE_GAIN = 0.30
HAT_GAIN = 0.10


def _calibrate(x: np.ndarray, target_db: float) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) + 1e-9
    return 10 ** (target_db / 20) / rms


@dataclass
class Event:
    start: int                  # sample
    data: np.ndarray            # (n,) mono or (n, 2) stereo
    gain_l: float = 1.0
    gain_r: float = 1.0
    bus: str = "main"           # "main" or "lead" (the lead gets a tape echo)


@dataclass
class Plan:
    frames: int
    events: list[Event] = field(default_factory=list)
    duck: list[int] = field(default_factory=list)   # kick times, for the chords' gentle pump
    info: dict[str, Any] = field(default_factory=dict)


def _pan(p: float) -> tuple[float, float]:
    a = (p + 1) * math.pi / 4
    return math.cos(a) * math.sqrt(2), math.sin(a) * math.sqrt(2)


def _voicing(root_pc: int, quality: str, prev: list[int] | None, rng: np.random.Generator) -> list[int]:
    """Close voicing around middle C, rootless for the richer chords, near the previous one."""
    ivs = list(QUALITIES[quality])
    tones = ivs[1:] if len(ivs) >= 5 else ivs  # the bass plays the root
    best, best_cost = None, 1e9
    for base in range(50, 62):
        # Stack the tones upward from the first one at or above base.
        notes = []
        for iv in tones:
            m = base + ((root_pc + iv - base) % 12)
            while notes and m <= notes[-1]:
                m += 12
            notes.append(m)
        if notes[-1] > 79:
            continue
        centre = sum(notes) / len(notes)
        cost = abs(centre - 62) * 0.6
        if prev:
            cost += abs(centre - sum(prev) / len(prev)) * 1.2
        cost += rng.random() * 0.3
        if cost < best_cost:
            best, best_cost = notes, cost
    return best or [root_pc + 60 + i for i in tones]


class TrackDesigner:
    """Turns a track spec into a plan of events, synthesising each distinct sound once."""

    def __init__(self, spec: dict[str, Any], seconds: float):
        self.spec = spec
        seed = int(spec.get("seed", 1))
        self.rng = np.random.default_rng([seed, 3])
        rng = self.rng
        self.key = KEY_PC.get(str(spec.get("key", "C")), 0)
        self.mode = spec.get("mode") if spec.get("mode") in PROGRESSIONS else "major"
        self.bpm = float(spec.get("bpm") or 80)
        self.beat = 60.0 / self.bpm
        self.bar = 4 * self.beat
        self.frames = int(round(seconds * SR))
        self.seconds = self.frames / SR
        # Neighbouring tracks must not sound alike: the track's place in the playlist turns
        # the instruments and the progression, the seed picks everything else.
        index = int(spec.get("index") or 1)
        progs = PROGRESSIONS[self.mode]
        self.prog = progs[(index - 1) % len(progs)]
        self.chord_inst = CHORD_INSTRUMENTS[(index - 1) % len(CHORD_INSTRUMENTS)]
        self.lead_inst = LEAD_INSTRUMENTS[(index * 2) % len(LEAD_INSTRUMENTS)]
        self.bass_style = int(rng.integers(3))
        self.swing = float(rng.uniform(0.54, 0.64))
        self.chord_rhythm = int(rng.integers(3))
        self.kick_pattern = [(0, 10), (0, 7, 10), (0, 8, 11), (0, 3, 10), (0, 6, 10), (0, 9)][int(rng.integers(6))]
        self.hat_16ths = bool(rng.random() < 0.35)
        self.use_rim = bool(rng.random() < 0.3)
        self.kit = make_kit(np.random.default_rng([seed, 4]))
        self.ir = reverb_ir(np.random.default_rng([seed, 5]), float(rng.uniform(1.4, 2.2)), float(rng.uniform(2500, 4500)))
        self.wet = float(rng.uniform(0.18, 0.3))
        self.voicings: list[list[int]] = []
        prev = None
        for root, q in self.prog:
            v = _voicing((self.key + root) % 12, q, prev, rng)
            self.voicings.append(v)
            prev = v
        self._chord_cache: dict[tuple, np.ndarray] = {}
        self._ir_spectra: dict[int, np.ndarray] = {}
        self._lead_cache: dict[tuple, np.ndarray] = {}
        self._bass_cache: dict[tuple, np.ndarray] = {}
        # Instruments differ wildly in level (a pad sustains, a pluck dies away); measure a
        # reference sound of each and scale it to its place in the mix.
        self.chord_gain = self.lead_gain = self.bass_gain = 1.0
        ref_chord = self._render_chord(0, 3.9)
        self.chord_gain = _calibrate(ref_chord[:int(self.bar * SR)], CHORD_RMS)
        self._chord_cache[(0, round(3.9 * 4))] = self._to_pcm(ref_chord)
        del ref_chord
        ref = self._degree_to_midi(len(SCALES[self.mode]) + 1)
        self.lead_gain = _calibrate(self.lead(ref, 1.0)[:int(self.beat * SR)], LEAD_RMS)
        self._lead_cache.clear()
        self.bass_gain = _calibrate(self.bass(40, 1.5)[:int(1.5 * self.beat * SR)], BASS_RMS)
        self._bass_cache.clear()

    # -- sounds -------------------------------------------------------------------------------

    def chord(self, i: int, beats: float) -> np.ndarray:
        """Chord i held for beats at the reference velocity (events scale it), as 16-bit PCM."""
        key = (i, round(beats * 4))
        hit = self._chord_cache.get(key)
        if hit is None:
            hit = self._to_pcm(self._render_chord(i, beats))
            self._chord_cache[key] = hit
        return hit

    def _to_pcm(self, x: np.ndarray) -> np.ndarray:
        # 16-bit in the cache: half the memory of float, quantisation noise near -98 dBFS, and
        # (unlike float16) a fast conversion. Chords peak well under full scale.
        x = x * (self.chord_gain * 32767)
        np.clip(x, -32767, 32767, out=x)
        return x.astype(np.int16)

    def _render_chord(self, i: int, beats: float) -> np.ndarray:
        notes = self.voicings[i]
        seconds = beats * self.beat
        rng = np.random.default_rng([int(self.spec.get("seed", 1)), 9, i, round(beats * 4)])
        strum = 0.018 if self.chord_inst in ("nylon", "felt piano") else 0.004
        voices = [chord_voice(self.chord_inst, m, seconds, 0.62 / math.sqrt(len(notes)), rng) for m in notes]
        n = max(len(v) + int(k * strum * SR) for k, v in enumerate(voices))
        dry = np.zeros((n, 2), np.float32)
        for k, v in enumerate(voices):
            off = int(k * strum * SR)
            gl, gr = _pan(-0.35 + 0.7 * k / max(1, len(voices) - 1))
            dry[off:off + len(v), 0] += v * gl
            dry[off:off + len(v), 1] += v * gr
        wet = convolve(dry.mean(axis=1), self.ir, self._ir_spectra)
        out = np.zeros((max(n, len(wet)), 2), np.float32)
        out[:n] += dry * (1 - self.wet)
        out[:len(wet)] += wet * self.wet * 0.5
        return out

    def lead(self, midi: int, beats: float) -> np.ndarray:
        key = (midi, round(beats * 4))
        hit = self._lead_cache.get(key)
        if hit is None:
            rng = np.random.default_rng([int(self.spec.get("seed", 1)), 11, midi])
            hit = lead_note(self.lead_inst, midi, beats * self.beat * 0.9, 0.4, rng) * self.lead_gain
            self._lead_cache[key] = hit
        return hit

    def bass(self, midi: int, beats: float) -> np.ndarray:
        key = (midi, round(beats * 4))
        hit = self._bass_cache.get(key)
        if hit is None:
            hit = bass_note(self.bass_style, midi, beats * self.beat * 0.92, 0.8) * self.bass_gain
            self._bass_cache[key] = hit
        return hit

    # -- arrangement --------------------------------------------------------------------------

    def sections(self, bars: int) -> list[str]:
        """Per bar: intro, a (groove), b (groove + melody), break (no drums), outro."""
        p = len(self.prog) if len(self.prog) >= 4 else 4
        rng = self.rng
        out: list[str] = []
        out += ["intro"] * p
        cycle = ["a"] * (2 * p) + ["b"] * (2 * p) + ["break"] * p + ["b"] * (2 * p) + ["a"] * p
        if rng.random() < 0.5:
            cycle = ["a"] * p + ["b"] * (2 * p) + ["a"] * p + ["break"] * p + ["b"] * (3 * p)
        body = bars - p - p
        k = 0
        while len(out) < p + max(0, body):
            out.append(cycle[k % len(cycle)])
            k += 1
        out = out[:p + max(0, body)]
        out += ["outro"] * (bars - len(out))
        return out[:bars]

    def plan(self) -> Plan:
        rng = self.rng
        sr = SR
        plan = Plan(self.frames)
        end_pad = 3.5  # the last chord rings out and the track fades
        bars = max(2, int((self.seconds - end_pad - 0.3) / self.bar))
        t0 = 0.3
        secs = self.sections(bars)
        nprog = len(self.prog)
        motif = self._motif()
        ghost_p = rng.uniform(0.15, 0.45)

        def at(sec: float) -> int:
            return int(round(sec * sr))

        def swung(step: int) -> float:
            """Start of a 16th step in beats, off-16ths pushed late by the swing."""
            beat, sub = divmod(step, 4)
            pos = [0.0, self.swing * 0.5, 0.5, 0.5 + self.swing * 0.5][sub]
            return beat + pos

        for b, sec in enumerate(secs):
            bar_t = t0 + b * self.bar
            ci = b % nprog
            nxt = (b + 1) % nprog
            root_m = 36 + (self.key + self.prog[ci][0]) % 12
            if root_m < 38:
                root_m += 12
            # Chords.
            vel = 0.8 if sec in ("intro", "outro", "break") else 1.0
            if self.chord_rhythm == 0 or sec in ("intro", "outro"):
                plan.events.append(Event(at(bar_t), self.chord(ci, 3.9), vel, vel))
            elif self.chord_rhythm == 1:
                plan.events.append(Event(at(bar_t), self.chord(ci, 1.4), vel, vel))
                plan.events.append(Event(at(bar_t + 1.5 * self.beat), self.chord(ci, 2.4), vel * 0.8, vel * 0.8))
            else:
                # Pushed: the chord lands an eighth early, on the and of four.
                push = bar_t - 0.5 * self.beat if b > 0 else bar_t
                plan.events.append(Event(at(push), self.chord(ci, 3.9), vel, vel))
            # Bass.
            if sec not in ("intro",):
                bvel = 0.7 if sec in ("break", "outro") else 1.0
                plan.events.append(Event(at(bar_t + 0.01), self.bass(root_m, 1.5), bvel, bvel))
                # The chord's own fifth (a half-diminished chord has a flat one), or the octave.
                ivs = QUALITIES[self.prog[ci][1]]
                fifth = 6 if 6 in ivs and 7 not in ivs else 7
                second = rng.choice([fifth, 12, 0, fifth])
                g = bvel * 0.8
                plan.events.append(Event(at(bar_t + swung(6) * self.beat), self.bass(root_m + int(second), 1.0), g, g))
                if rng.random() < 0.55:
                    nroot = 36 + (self.key + self.prog[nxt][0]) % 12
                    nroot = nroot + 12 if nroot < 38 else nroot
                    approach = nroot + int(rng.choice([-1, 1, -2]))
                    g = bvel * 0.7
                    plan.events.append(Event(at(bar_t + swung(14) * self.beat), self.bass(approach, 0.5), g, g))
                else:
                    g = bvel * 0.75
                    plan.events.append(Event(at(bar_t + 2 * self.beat), self.bass(root_m, 1.0), g, g))
            # Drums.
            if sec in ("a", "b"):
                k = self.kit
                for step in self.kick_pattern:
                    jitter = rng.normal(0, 0.004)
                    st = at(bar_t + swung(step) * self.beat + jitter)
                    g = KICK_GAIN * rng.uniform(0.85, 1.0)
                    plan.events.append(Event(st, k.kick, g, g))
                    plan.duck.append(st)
                for step in (4, 12):
                    g = SNARE_GAIN * rng.uniform(0.9, 1.1)
                    snare = k.rim if self.use_rim else k.snare
                    gl, gr = _pan(-0.1)
                    plan.events.append(Event(at(bar_t + swung(step) * self.beat + rng.normal(0.012, 0.004)), snare, g * gl, g * gr))
                for step in (7, 15, 10):
                    if rng.random() < ghost_p:
                        g = SNARE_GAIN * rng.uniform(0.15, 0.3)
                        plan.events.append(Event(at(bar_t + swung(step) * self.beat), k.snare, g, g))
                steps = range(0, 16, 1 if self.hat_16ths else 2)
                for step in steps:
                    if self.hat_16ths and step % 2 and rng.random() < 0.3:
                        continue
                    accent = 1.0 if step % 4 == 0 else (0.7 if step % 2 == 0 else 0.45)
                    g = HAT_GAIN * accent * rng.uniform(0.75, 1.05)
                    gl, gr = _pan(0.25)
                    hat = k.open_hat if (step == 14 and b % 4 == 3) else k.hat
                    plan.events.append(Event(at(bar_t + swung(step) * self.beat + rng.normal(0, 0.003)), hat, g * gl, g * gr))
            # Melody.
            if sec in ("b", "break"):
                phrase_bar = b % 4
                for beat_pos, dur, deg in motif[phrase_bar]:
                    if rng.random() < 0.1:
                        continue
                    m = self._degree_to_midi(deg + (1 if phrase_bar == 2 and b % 8 >= 4 else 0))
                    gl, gr = _pan(0.15)
                    v = rng.uniform(0.8, 1.0)
                    plan.events.append(Event(at(bar_t + beat_pos * self.beat), self.lead(m, dur), gl * v, gr * v, "lead"))
        # The last chord rings out.
        last_t = t0 + bars * self.bar
        plan.events.append(Event(at(last_t), self.chord(0, 3.0), 0.75, 0.75))
        plan.events.sort(key=lambda e: e.start)
        plan.info = {"key": self.spec.get("key"), "mode": self.mode, "bpm": self.bpm, "bars": bars,
                     "progression": [f"{r}:{q}" for r, q in self.prog], "chords": self.chord_inst,
                     "lead": self.lead_inst, "bass": ["electric", "upright", "sub"][self.bass_style],
                     "swing": round(self.swing, 3)}
        return plan

    def _degree_to_midi(self, deg: int) -> int:
        """Scale degree to MIDI; degree 0 is the key's root between A3 and G#4."""
        scale = SCALES[self.mode]
        octave, idx = divmod(deg, len(scale))
        return 57 + (self.key - 9) % 12 + 12 * octave + scale[idx]

    def _motif(self) -> list[list[tuple[float, float, int]]]:
        """Four bars of melody: a motif, its answer, the motif again, and a resolution."""
        rng = self.rng
        scale_len = len(SCALES[self.mode])

        def bar_of_notes(start_deg: int, n_notes: int) -> list[tuple[float, float, int]]:
            slots = sorted(rng.choice(np.arange(0, 8), size=n_notes, replace=False))
            notes, deg = [], start_deg
            for i, s in enumerate(slots):
                nxt = slots[i + 1] if i + 1 < len(slots) else 8
                dur = max(0.5, min(2.0, (nxt - s) * 0.5))
                notes.append((s * 0.5, dur, deg))
                deg += int(rng.choice([-2, -1, -1, 1, 1, 2, 0]))
                deg = max(scale_len - 2, min(2 * scale_len - 2, deg))
            return notes
        start = int(rng.integers(scale_len // 2, scale_len + 2))
        a = bar_of_notes(start, int(rng.integers(2, 5)))
        b = bar_of_notes(start + int(rng.choice([-1, 1, 2])), int(rng.integers(2, 5)))
        end = [(0.0, 1.5, start - 1), (2.0, 2.0, (start // scale_len) * scale_len)]
        return [a, b, a, end]


# ----------------------------------------------------------------------------- rendering

class Renderer:
    """Renders a plan chunk by chunk; bus effects keep their state across chunks."""

    def __init__(self, designer: TrackDesigner, plan: Plan, seed: int):
        self.d = designer
        self.plan = plan
        self.seed = seed
        self.pos = 0
        self.next_event = 0
        self.live: list[Event] = []
        self.tail = np.zeros((0, 2), np.float32)
        self.lead_tail = np.zeros((0, 2), np.float32)
        rng = np.random.default_rng([seed, 21])
        self.echo_delay = int(round(0.75 * designer.beat * SR))  # a dotted eighth
        self.echo_fb = float(rng.uniform(0.28, 0.4))
        self.lead_hist = np.zeros((self.echo_delay * 3, 2), np.float32)
        self.lead_live = False
        self.duck_shape = (1 - 0.22 * np.exp(-np.arange(int(0.6 * SR)) / (0.16 * SR))).astype(np.float32)
        self.crackle = float(rng.uniform(0.5, 1.0))
        self.hiss = float(rng.uniform(0.004, 0.009))
        self.trem_rate = float(rng.uniform(3.5, 5.5))
        self.duck = np.array(sorted(plan.duck), dtype=np.int64)
        # The warmth: a gentle low-pass over the whole track, [1, 2, 1]/4 or [1, 1, 1]/3
        # (-2.5 or -3.5 dB at 8 kHz, falling to a null near 16-24 kHz); a two-sample history
        # carries it across chunks.
        self.lp_taps = (0.25, 0.5, 0.25) if rng.random() < 0.5 else (1 / 3, 1 / 3, 1 / 3)
        self.lp_hist = np.zeros((2, 2), np.float32)
        # A short vinyl loop (crackle repeats with the record's rotation, as real vinyl does).
        rot = int(SR * 60 / 33.333)
        vr = np.random.default_rng([seed, 22])
        hiss = fft_filter(vr.standard_normal((rot, 2)).astype(np.float32), bandpass(300, 7000, 1))
        hiss /= np.std(hiss) + 1e-9
        self.vinyl = hiss * self.hiss
        pops = np.zeros((rot, 2), np.float32)
        for _ in range(int(6 * self.crackle)):
            p = int(vr.integers(rot - 200))
            amp = vr.uniform(0.02, 0.08) * self.crackle
            click = np.exp(-np.arange(60) / vr.uniform(4, 12)) * vr.choice([-1, 1])
            pops[p:p + 60, 0] += click * amp
            pops[p:p + 60, 1] += click * amp * vr.uniform(0.6, 1.0)
        self.vinyl += fft_filter(pops, highpass(800, 1))

    def render(self, n: int) -> np.ndarray:
        start, end = self.pos, self.pos + n
        main = np.zeros((n, 2), np.float32)
        lead = np.zeros((n, 2), np.float32)
        ev = self.plan.events
        while self.next_event < len(ev) and ev[self.next_event].start < end:
            self.live.append(ev[self.next_event])
            self.next_event += 1
        keep = []
        chords = np.zeros((n, 2), np.float32)
        for e in self.live:
            a = max(start, e.start)
            b = min(end, e.start + len(e.data))
            if b > a:
                seg = e.data[a - e.start:b - e.start]
                if seg.dtype == np.int16:
                    seg = seg * np.float32(1 / 32767)
                if e.bus == "lead":
                    target = lead
                elif seg.ndim == 2:
                    target = chords
                else:
                    target = main
                if seg.ndim == 2:
                    if e.gain_l == e.gain_r == 1.0:
                        target[a - start:b - start] += seg
                    else:
                        target[a - start:b - start, 0] += seg[:, 0] * e.gain_l
                        target[a - start:b - start, 1] += seg[:, 1] * e.gain_r
                else:
                    target[a - start:b - start, 0] += seg * e.gain_l
                    target[a - start:b - start, 1] += seg * e.gain_r
            if e.start + len(e.data) > end:
                keep.append(e)
        self.live = keep
        # Chords: a slow tremolo and a soft pump from the kick.
        ph = (2 * np.pi * self.trem_rate / SR) * np.arange(start, end, dtype=np.float64)
        trem = (0.94 - 0.06 * np.sin(ph)).astype(np.float32)
        trem *= self._duck_env(start, end)
        chords *= trem[:, None]
        main += chords
        # Lead: tape echo, ping-ponged, each repeat quieter.
        if self.lead_live or np.any(lead):
            hist = np.concatenate([self.lead_hist, lead])
            out_lead = lead
            for k in (1, 2, 3):
                off = self.echo_delay * k
                seg = hist[len(self.lead_hist) - off:len(hist) - off]
                g = self.echo_fb ** k
                if k % 2:
                    out_lead[:, 0] += seg[:, 1] * (g * 0.6)
                    out_lead[:, 1] += seg[:, 0] * g
                else:
                    out_lead += seg * (g * 0.8)
            self.lead_hist = hist[-len(self.lead_hist):]
            self.lead_live = bool(np.any(self.lead_hist))
            main += out_lead
        # Vinyl, looping with the record's rotation.
        rot = len(self.vinyl)
        a = start % rot
        while a < start % rot + n:
            k = min(rot - (a % rot), start % rot + n - a)
            main[a - start % rot:a - start % rot + k] += self.vinyl[a % rot:a % rot + k]
            a += k
        # Fades: in over a second, out over the last three.
        total = self.plan.frames
        if start < SR or end > total - 3 * SR:
            tt = np.arange(start, end, dtype=np.float32) / SR
            fade = np.clip(tt, 0, 1) * np.clip((total / SR - tt) / 3.0, 0, 1)
            main *= (fade ** 1.5)[:, None]
        # Tape: gentle saturation, which also keeps peaks in bounds, then the low-pass.
        main *= 1.25
        np.tanh(main, out=main)
        main *= 0.72
        ext = np.concatenate([self.lp_hist, main])
        t0, t1, t2 = self.lp_taps
        out = ext[2:] * t0
        out += ext[1:-1] * t1
        out += ext[:-2] * t2
        self.lp_hist = ext[-2:].copy()
        self.pos = end
        return out

    def _duck_env(self, start: int, end: int) -> np.ndarray:
        env = np.ones(end - start, np.float32)
        if not len(self.duck):
            return env
        span = len(self.duck_shape)
        lo = np.searchsorted(self.duck, start - span)
        hi = np.searchsorted(self.duck, end)
        for s in self.duck[lo:hi]:
            a, b = max(start, s), min(end, s + span)
            if b > a:
                env[a - start:b - start] *= self.duck_shape[a - s:b - s]
        return env


def render_track(spec: dict[str, Any], seconds: float, out_wav: Path,
                 on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Synthesise one track to out_wav (16-bit stereo 48 kHz); return what it is."""
    designer = TrackDesigner(spec, seconds)
    plan = designer.plan()
    frames, info = plan.frames, plan.info
    r = Renderer(designer, plan, int(spec.get("seed", 1)))
    writer = wav.Writer(Path(out_wav), plan.frames, seed=int(spec.get("seed", 1)))
    try:
        done = 0
        while done < plan.frames:
            n = min(CHUNK, plan.frames - done)
            writer.write(r.render(n))
            done += n
            if on_progress is not None:
                on_progress(100.0 * done / plan.frames)
        writer.close()
    except BaseException:
        writer.abort()
        raise
    finally:
        del r, plan, designer
        memory.trim()
    return {"file": Path(out_wav), "seconds": frames / SR, **info}
