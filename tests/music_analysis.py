"""What a listener could tell from the audio alone: tempo, key, chords per bar, drums per bar,
and repeats. The tests compare these with what the track says it is.

Sources of the methods: the tempo is the autocorrelation of an onset envelope (spectral
flux), as in Ellis, "Beat tracking by dynamic programming" (2007), section 2; the key is the
Krumhansl-Kessler profile correlated with a chroma vector ("Cognitive Foundations of Musical
Pitch", 1990), as in Temperley's and Gomez's key finders.
"""

from __future__ import annotations

import numpy as np

RATE = 48000
# Krumhansl-Kessler probe-tone profiles, C major and C minor.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


def mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def onset_envelope(x: np.ndarray, hop: int = 240) -> np.ndarray:
    """Spectral flux (positive log-magnitude change) every hop samples (5 ms)."""
    x = mono(x)
    n = 1024
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop] * np.hanning(n)
    mag = np.log1p(100 * np.abs(np.fft.rfft(frames, axis=1)))
    flux = np.maximum(np.diff(mag, axis=0), 0).sum(axis=1)
    return flux - np.convolve(flux, np.ones(41) / 41, mode="same")  # remove the slow trend


def tempo(x: np.ndarray, lo_bpm: float = 62.0, hi_bpm: float = 110.0) -> float:
    """Beats per minute from the bar: the onset envelope's strongest period between the bars
    of lo_bpm and hi_bpm (a bar repeats its kick and snare; an eighth-note grid alone would
    make every multiple of an eighth look like a beat), counted again at half a bar and two bars, refined
    to a fraction of a frame, as four beats."""
    hop = 240
    env = onset_envelope(x, hop)
    env = env - env.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(env, 2 * len(env))) ** 2)[:len(env)]
    fps = RATE / hop
    lags = np.arange(int(fps * 240 / hi_bpm), int(fps * 240 / lo_bpm) + 1)

    def peak(c: float, w: int) -> float:
        j = int(round(c)) - w + int(np.argmax(ac[int(round(c)) - w:int(round(c)) + w + 1]))
        a, b, d = ac[j - 1], ac[j], ac[j + 1]
        return j + (0.5 * (a - d) / (a - 2 * b + d) if (a - 2 * b + d) != 0 else 0.0)

    score = [ac[k] + ac[int(round(peak(2 * k, 3)))] + ac[int(round(peak(k / 2, 2)))] for k in lags]
    k = int(lags[int(np.argmax(score))])
    bar = (peak(k, 2) + peak(2 * k, 3) / 2) / 2
    return 240.0 * fps / bar


def chroma(x: np.ndarray, lo_hz: float = 50.0, hi_hz: float = 1800.0, bass_weight: float = 1.0) -> np.ndarray:
    """A 12-bin pitch-class profile of x (energy per pitch class), unit length."""
    x = mono(x)
    n = 8192
    if len(x) < n:
        x = np.pad(x, (0, n - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::n // 2] * np.hanning(n)
    power = (np.abs(np.fft.rfft(frames, axis=1)) ** 2).sum(axis=0)
    f = np.fft.rfftfreq(n, 1 / RATE)
    keep = (f >= lo_hz) & (f <= hi_hz)
    midi = 69 + 12 * np.log2(f[keep] / 440.0)
    pc = np.round(midi).astype(int) % 12
    weight = np.where(f[keep] < 200, bass_weight, 1.0)
    c = np.bincount(pc, weights=power[keep] * weight, minlength=12)
    return c / (np.linalg.norm(c) + 1e-12)


def key(x: np.ndarray) -> tuple[str, str]:
    """(tonic, "major" or "minor") whose profile best matches the track's chroma, with its
    first 20 s and last 12 s counted again: where a song states its key and comes home."""
    c = sum(chroma(part, 35.0, 1800.0, 2.0) for part in (x, x[:20 * RATE], x[-12 * RATE:]))
    best, found = -2.0, ("C", "major")
    for tonic in range(12):
        for mode, profile in (("major", MAJOR), ("minor", MINOR)):
            r = float(np.corrcoef(c, np.roll(profile, tonic))[0, 1])
            if r > best:
                best, found = r, (NAMES[tonic], mode)
    return found


def bars(x: np.ndarray, bpm: float, start_s: float) -> list[np.ndarray]:
    """The audio cut into bars of four beats from start_s."""
    n = int(round(4 * 60.0 / bpm * RATE))
    a = int(round(start_s * RATE))
    return [x[a + k * n:a + (k + 1) * n] for k in range((len(x) - a) // n)]


def band_energy(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    spec = np.abs(np.fft.rfft(mono(x))) ** 2
    f = np.fft.rfftfreq(len(mono(x)), 1 / RATE)
    return float(spec[(f >= lo_hz) & (f < hi_hz)].sum() / max(1, len(x)))


def chord_labels(bar_chromas: list[np.ndarray], same: float = 0.9) -> list[int]:
    """Greedy clustering of bar chromas: bars whose profiles agree (cosine >= same) share a label."""
    centres: list[np.ndarray] = []
    labels = []
    for c in bar_chromas:
        sims = [float(c @ m) / (np.linalg.norm(m) + 1e-12) for m in centres]
        if sims and max(sims) >= same:
            labels.append(int(np.argmax(sims)))
        else:
            centres.append(c.copy())
            labels.append(len(centres) - 1)
    return labels


def progressions(labels: list[int], length: int = 4, min_count: int = 4) -> dict[tuple[int, ...], int]:
    """Chord sequences of `length` bars (up to rotation) that occur at least min_count times."""
    counts: dict[tuple[int, ...], int] = {}
    for b in range(len(labels) - length + 1):
        w = tuple(labels[b:b + length])
        canon = min(w[i:] + w[:i] for i in range(length))
        counts[canon] = counts.get(canon, 0) + 1
    return {k: v for k, v in counts.items() if v >= min_count and len(set(k)) > 1}


def worst_repeat(x: np.ndarray, window_s: float = 30.0, hop_s: float = 10.0, rate: int = 2000,
                 first_s: float = 600.0) -> float:
    """The highest normalised correlation between any window_s stretch that starts in the first
    first_s seconds and any later stretch at least window_s away (1.0: an exact repeat).

    The signal is averaged down to `rate` samples a second (what repeats, repeats in every band).
    """
    step = RATE // rate
    y = mono(x)[: len(x) // step * step].reshape(-1, step).mean(axis=1)
    y = y - y.mean()
    w, hop = int(window_s * rate), int(hop_s * rate)
    size = 1 << int(np.ceil(np.log2(len(y) + w)))
    Y = np.fft.rfft(y, size)
    energy = np.concatenate([[0.0], np.cumsum(y * y)])
    worst = 0.0
    for a in range(0, min(int(first_s * rate), len(y) - w) + 1, hop):
        seg = y[a:a + w]
        corr = np.fft.irfft(np.conj(np.fft.rfft(seg, size)) * Y, size)[:len(y) - w + 1]
        lags = np.arange(len(corr))
        later = lags >= a + w
        if not later.any():
            continue
        e_other = energy[lags[later] + w] - energy[lags[later]]
        norm = np.sqrt(float(seg @ seg) * np.maximum(e_other, 1e-12))
        worst = max(worst, float(np.max(np.abs(corr[later]) / norm)))
    return worst
