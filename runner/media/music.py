"""Procedural lofi songs: a form in sections, two chord progressions, swung drums, vinyl.

A track is a song, not a loop: an intro (keys alone), an A section on the home progression,
a B section on a second progression with its own melody, a breakdown with the drums out, an
A variation, and an outro that ends on the tonic chord ringing out (see `form`). Drum fills
close sections and the drums drop out for a bar before a B section lands. The melody is a
motif that changes between sections.

A track is planned as events (a chord here, a kick there) and rendered chunk by chunk
straight to a WAV file, so an hour of music never sits in memory. Sounds are synthesised
once per track and reused: a chord is rendered (with its reverb) the first time it is
played and then only added into the output again, which keeps a three-minute track to about
half a second of CPU.

Everything is drawn from the track spec (key, mode, bpm, seed, instruments): the
progressions, the voices, the kit, the swing, the groove. The same spec gives the same
samples, and the key and tempo it names are the ones the audio is in (tests/test_music_form.py
estimates both from the rendered audio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import memory, wav
from .sound import SR, bandpass, calibrate, convolve, fft_filter, highpass, pan, reverb_ir, upsample2
from .voices import BASS_VOICES, KEYS_VOICES, KITS, LEAD_VOICES, Kit, bass_note, chord_voice, lead_note, make_kit

memory.tune()  # big numpy buffers go back to the system when freed (see memory.py)

CHUNK = 1 << 17  # 2.7 s of audio per render chunk
# Chords (and their reverb) are made at half the rate and brought up to 48 kHz: their partials
# stay under 6 kHz and the tape's low-pass takes what is above, so this halves their cost.
CHORD_RATE = SR // 2

KEY_PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
          "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}

QUALITIES: dict[str, tuple[int, ...]] = {
    "maj7": (0, 4, 7, 11), "maj9": (0, 4, 7, 11, 14), "6/9": (0, 4, 7, 9, 14),
    "m7": (0, 3, 7, 10), "m9": (0, 3, 7, 10, 14), "m11": (0, 3, 7, 10, 14, 17),
    "7": (0, 4, 7, 10), "9": (0, 4, 7, 10, 14), "13": (0, 4, 10, 14, 21), "7b9": (0, 4, 7, 10, 13),
    "m7b5": (0, 3, 6, 10), "7sus4": (0, 5, 7, 10), "m6": (0, 3, 7, 9),
}

Progression = list[tuple[int, str]]  # (root in semitones above the key, quality), one chord a bar

# Home progressions start on the tonic (the intro, A sections and the outro use one, so the
# key a track names is the key a listener hears); away progressions colour the B section.
HOME: dict[str, list[Progression]] = {
    "major": [
        [(0, "maj9"), (9, "m9"), (2, "m9"), (7, "13")],
        [(0, "maj7"), (4, "m7"), (5, "maj9"), (7, "9")],
        [(0, "maj9"), (5, "maj7"), (0, "6/9"), (5, "maj9")],
        [(0, "maj7"), (2, "m7"), (4, "m7"), (5, "maj9")],
    ],
    "minor": [  # each ends on the dominant (V7b9), which names the minor key
        [(0, "m9"), (8, "maj7"), (5, "m9"), (7, "7b9")],
        [(0, "m7"), (8, "maj7"), (2, "m7b5"), (7, "7b9")],
        [(0, "m9"), (5, "m9"), (0, "m9"), (7, "7b9")],
        [(0, "m11"), (3, "maj7"), (5, "m9"), (7, "7b9")],
    ],
    "dorian": [
        [(0, "m9"), (5, "9"), (0, "m9"), (5, "9")],
        [(0, "m7"), (2, "m7"), (3, "maj7"), (5, "9")],
        [(0, "m11"), (5, "13"), (3, "maj9"), (2, "m7")],
    ],
}
AWAY: dict[str, list[Progression]] = {
    "major": [
        [(5, "maj9"), (4, "m7"), (2, "m9"), (7, "13")],
        [(2, "m9"), (7, "13"), (0, "maj9"), (9, "m9")],
        [(5, "maj7"), (7, "9"), (4, "m7"), (9, "m9")],
        [(9, "m9"), (2, "m9"), (5, "maj7"), (7, "7sus4")],
    ],
    "minor": [
        [(8, "maj7"), (7, "7"), (0, "m9"), (0, "m7")],
        [(5, "m9"), (7, "m7"), (0, "m9"), (8, "maj9")],
        [(8, "maj9"), (10, "13"), (3, "maj7"), (7, "7b9")],
        [(3, "maj7"), (10, "9"), (8, "maj7"), (7, "7b9")],
    ],
    "dorian": [
        [(3, "maj7"), (5, "9"), (10, "maj7"), (0, "m9")],
        [(5, "9"), (10, "maj7"), (0, "m9"), (2, "m7")],
        [(10, "maj7"), (5, "13"), (3, "maj9"), (5, "9")],
    ],
}
# Kept for readers of the old name: every progression a mode can play.
PROGRESSIONS: dict[str, list[Progression]] = {m: HOME[m] + AWAY[m] for m in HOME}

SCALES = {
    "major": (0, 2, 4, 7, 9),          # major pentatonic: melodies that never clash
    "minor": (0, 3, 5, 7, 10),         # minor pentatonic
    "dorian": (0, 2, 3, 5, 7, 9, 10),  # the sixth is dorian's colour
}

# Mix levels (RMS of a reference sound, dBFS) and drum hit gains, set so that chords sit in
# front, bass and kick are felt more than heard, and the hats only tick.
CHORD_RMS = -19.0
LEAD_RMS = -21.0
BASS_RMS = -17.0
KICK_GAIN = 0.36
SNARE_GAIN = 0.30
HAT_GAIN = 0.10
LEAD_IN_S = 0.3      # silence before the first bar
RING_S = 3.2         # the last chord's ring after the last bar begins, within the track
END_FADE_S = 0.5     # a guard at the very end: the song has already ended by then


def instruments_for(spec: dict[str, Any]) -> dict[str, str]:
    """The track's voices: the spec's own (runner/variation.py draws them within the
    session's mood), else turned by its place in the playlist so neighbours differ."""
    index = int(spec.get("index") or 1)
    default = {"keys": KEYS_VOICES[(index - 1) % len(KEYS_VOICES)], "lead": LEAD_VOICES[(index * 2) % len(LEAD_VOICES)],
               "bass": BASS_VOICES[(index + int(spec.get("seed") or 0)) % len(BASS_VOICES)],
               "kit": KITS[(index - 1) % len(KITS)]}
    given = spec.get("instruments") or {}
    choices = {"keys": KEYS_VOICES, "lead": LEAD_VOICES, "bass": BASS_VOICES, "kit": KITS}
    return {k: given[k] if given.get(k) in choices[k] else default[k] for k in default}


# ----------------------------------------------------------------------------- the form

@dataclass
class Section:
    name: str            # intro, a, b, break, a2, outro
    bar: int             # its first bar
    bars: int
    prog: int            # 0: the home progression, 1: the away one
    drums: bool
    melody: str | None   # the motif it plays: a, b, a2, b2 (see TrackDesigner.motifs)


# Body sections in the order they come; the cycle repeats for long tracks.
_BODY = ("a", "b", "break", "a2", "b")
_BODY_AGAIN = ("break", "a2", "b")
_SECTION = {  # name: (progression, drums, melody)
    "intro": (0, False, None), "a": (0, True, "a"), "b": (1, True, "b"), "break": (0, False, "b2"),
    "a2": (0, True, "a2"), "outro": (0, True, None),
}


def form(bars: int) -> list[Section]:
    """Sections for a song of this many bars, in phrases of four.

    Two phrases or more: intro, A, B, breakdown, A variation, B ... outro, each body section
    two phrases long (one when the song is short); the bars that do not make a phrase lengthen
    the intro. Fewer than four phrases: A and B (and a short intro) only.
    """
    phrases, extra = divmod(max(1, bars), 4)
    if phrases == 0:
        return [Section("a", 0, bars, 0, True, "a")]
    frame = phrases >= 4
    intro = 4 * int(frame) + extra
    body = phrases - 2 * int(frame)
    sizes = []
    size = 2 if body >= 6 else 1
    left = body
    while left > 0:
        sizes.append(min(size, left))
        left -= sizes[-1]
    names = list(_BODY)
    while len(names) < len(sizes):
        names += _BODY_AGAIN
    out: list[Section] = []
    bar = 0
    if intro:
        out.append(Section("intro", 0, intro, *_SECTION["intro"]))
        bar = intro
    for name, n in zip(names, sizes):
        out.append(Section(name, bar, 4 * n, *_SECTION[name]))
        bar += 4 * n
    if frame:
        out.append(Section("outro", bar, 4, *_SECTION["outro"]))
    return out


# ----------------------------------------------------------------------------- planning

@dataclass
class Event:
    start: int                  # sample
    data: np.ndarray            # (n,) mono or (n, 2) stereo
    gain_l: float = 1.0
    gain_r: float = 1.0
    bus: str = "main"           # "main", "chords" (pumped by the kick) or "lead" (tape echo)


@dataclass
class Plan:
    frames: int
    events: list[Event] = field(default_factory=list)
    duck: list[int] = field(default_factory=list)   # kick times, for the chords' gentle pump
    info: dict[str, Any] = field(default_factory=dict)


def _voicing(root_pc: int, quality: str, prev: list[int] | None, rng: np.random.Generator) -> list[int]:
    """Close voicing around middle C, rootless for the richer chords, near the previous one."""
    ivs = list(QUALITIES[quality])
    tones = ivs[1:] if len(ivs) >= 5 else ivs  # the bass plays the root
    best, best_cost = None, 1e9
    for base in range(50, 62):
        # Stack the tones upward from the first one at or above base.
        notes: list[int] = []
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


Motif = list[list[tuple[float, float, int]]]  # per bar: (beat, beats held, scale degree)


class TrackDesigner:
    """Turns a track spec into a plan of events, synthesising each distinct sound once."""

    def __init__(self, spec: dict[str, Any], seconds: float):
        self.spec = spec
        self.seed = int(spec.get("seed", 1))
        self.rng = np.random.default_rng([self.seed, 3])
        rng = self.rng
        self.key = KEY_PC.get(str(spec.get("key", "C")), 0)
        self.mode: str = str(spec["mode"]) if spec.get("mode") in HOME else "major"
        self.bpm = float(spec.get("bpm") or 80)
        self.beat = 60.0 / self.bpm
        self.bar = 4 * self.beat
        self.frames = int(round(seconds * SR))
        self.seconds = self.frames / SR
        # Neighbouring tracks must not sound alike: the track's place in the playlist turns
        # the progressions, the spec's instruments (or its place) the voices, the seed the rest.
        index = int(spec.get("index") or 1)
        home, away = HOME[self.mode], AWAY[self.mode]
        self.progs = [home[(index - 1) % len(home)], away[(index + self.seed) % len(away)]]
        voices = instruments_for(spec)
        self.chord_inst, self.lead_inst, self.bass_inst, self.kit_name = (
            voices["keys"], voices["lead"], voices["bass"], voices["kit"])
        self.swing = float(rng.uniform(0.54, 0.64))
        self.chord_rhythm = int(rng.integers(3))
        self.kick_pattern = [(0, 10), (0, 7, 10), (0, 8, 11), (0, 3, 10), (0, 6, 10), (0, 9)][int(rng.integers(6))]
        self.hat_16ths = bool(rng.random() < 0.35)
        self.use_rim = bool(rng.random() < 0.3)
        self.ghost_p = float(rng.uniform(0.15, 0.45))
        self.kit = make_kit(np.random.default_rng([self.seed, 4]), self.kit_name)
        self.ir = reverb_ir(np.random.default_rng([self.seed, 5]), float(rng.uniform(1.4, 2.2)),
                            float(rng.uniform(2500, 4500)), CHORD_RATE)
        self.wet = float(rng.uniform(0.18, 0.3))
        self.voicings: list[list[list[int]]] = []
        prev = None
        for prog in self.progs:
            vs = []
            for root, q in prog:
                prev = _voicing((self.key + root) % 12, q, prev, rng)
                vs.append(prev)
            self.voicings.append(vs)
        self.motifs = self._motifs()
        self._chord_cache: dict[tuple, np.ndarray] = {}
        self._ir_spectra: dict[int, np.ndarray] = {}
        self._lead_cache: dict[tuple, np.ndarray] = {}
        self._bass_cache: dict[tuple, np.ndarray] = {}
        # Instruments differ wildly in level (a pad sustains, a pluck dies away); measure a
        # reference sound of each and scale it to its place in the mix.
        self.chord_gain = self.lead_gain = self.bass_gain = 1.0
        ref_chord = self._render_chord(0, 0, 3.9)
        self.chord_gain = calibrate(ref_chord[:int(self.bar * SR)], CHORD_RMS)
        self._chord_cache[(0, 0, round(3.9 * 4))] = self._to_pcm(ref_chord)
        del ref_chord
        ref = self._degree_to_midi(len(SCALES[self.mode]) + 1)
        self.lead_gain = calibrate(self.lead(ref, 1.0)[:int(self.beat * SR)], LEAD_RMS)
        self._lead_cache.clear()
        self.bass_gain = calibrate(self.bass(40, 1.5)[:int(1.5 * self.beat * SR)], BASS_RMS)
        self._bass_cache.clear()

    # -- sounds -------------------------------------------------------------------------------

    def chord(self, prog: int, i: int, beats: float) -> np.ndarray:
        """Chord i of progression prog held for beats at the reference velocity (events
        scale it), as 16-bit PCM."""
        key = (prog, i, round(beats * 4))
        hit = self._chord_cache.get(key)
        if hit is None:
            hit = self._to_pcm(self._render_chord(prog, i, beats))
            self._chord_cache[key] = hit
        return hit

    def _to_pcm(self, x: np.ndarray) -> np.ndarray:
        # 16-bit in the cache: half the memory of float, quantisation noise near -98 dBFS, and
        # (unlike float16) a fast conversion. Chords peak well under full scale.
        x = x * (self.chord_gain * 32767)
        np.clip(x, -32767, 32767, out=x)
        return x.astype(np.int16)

    def _render_chord(self, prog: int, i: int, beats: float) -> np.ndarray:
        notes = self.voicings[prog][i]
        seconds = beats * self.beat
        rng = np.random.default_rng([self.seed, 9, prog, i, round(beats * 4)])
        strum = 0.018 if self.chord_inst in ("nylon", "felt piano") else 0.004
        voices = [chord_voice(self.chord_inst, m, seconds, 0.62 / math.sqrt(len(notes)), rng, CHORD_RATE)
                  for m in notes]
        n = max(len(v) + int(k * strum * CHORD_RATE) for k, v in enumerate(voices))
        dry = np.zeros((n, 2), np.float32)
        for k, v in enumerate(voices):
            off = int(k * strum * CHORD_RATE)
            gl, gr = pan(-0.35 + 0.7 * k / max(1, len(voices) - 1))
            dry[off:off + len(v), 0] += v * gl
            dry[off:off + len(v), 1] += v * gr
        wet = convolve((dry[:, 0] + dry[:, 1]) * np.float32(0.5), self.ir, self._ir_spectra)  # mean() is slower
        out = np.zeros((max(n, len(wet)), 2), np.float32)
        out[:n] += dry * (1 - self.wet)
        out[:len(wet)] += wet * self.wet * 0.5
        return upsample2(out)

    def lead(self, midi: int, beats: float) -> np.ndarray:
        key = (midi, round(beats * 4))
        hit = self._lead_cache.get(key)
        if hit is None:
            rng = np.random.default_rng([self.seed, 11, midi])
            hit = lead_note(self.lead_inst, midi, beats * self.beat * 0.9, 0.4, rng) * self.lead_gain
            self._lead_cache[key] = hit
        return hit

    def bass(self, midi: int, beats: float) -> np.ndarray:
        key = (midi, round(beats * 4))
        hit = self._bass_cache.get(key)
        if hit is None:
            hit = bass_note(self.bass_inst, midi, beats * self.beat * 0.92, 0.8) * self.bass_gain
            self._bass_cache[key] = hit
        return hit

    # -- arrangement --------------------------------------------------------------------------

    def plan(self) -> Plan:
        """Every event of the song: the form's sections bar by bar, then the ending."""
        plan = Plan(self.frames)
        bars = max(1, int((self.seconds - LEAD_IN_S - RING_S) / self.bar))
        sections = form(bars)
        for si, sec in enumerate(sections):
            after = sections[si + 1] if si + 1 < len(sections) else None
            for b in range(sec.bar, sec.bar + sec.bars):
                last = b == sec.bar + sec.bars - 1
                if last and after is None:
                    self._ending(plan, b, sec)
                    continue
                self._chords(plan, b, sec)
                self._bass(plan, b, sec)
                if sec.drums:
                    self._drums(plan, b, sec, last, after)
                if sec.melody:
                    self._melody(plan, b, sec)
        plan.events.sort(key=lambda e: e.start)
        plan.info = {"key": self.spec.get("key"), "mode": self.mode, "bpm": self.bpm, "bars": bars,
                     "form": [f"{s.name}:{s.bars}" for s in sections],
                     "progressions": [[f"{r}:{q}" for r, q in p] for p in self.progs],
                     "chords": self.chord_inst, "lead": self.lead_inst, "bass": self.bass_inst, "kit": self.kit_name,
                     "swing": round(self.swing, 3)}
        return plan

    def _t(self, b: int, beats: float = 0.0) -> int:
        """The sample where beat `beats` of bar b falls."""
        return int(round((LEAD_IN_S + b * self.bar + beats * self.beat) * SR))

    def _swung(self, step: int) -> float:
        """Start of a 16th step in beats, off-16ths pushed late by the swing."""
        beat, sub = divmod(step, 4)
        return beat + [0.0, self.swing * 0.5, 0.5, 0.5 + self.swing * 0.5][sub]

    def _ci(self, b: int, sec: Section) -> int:
        return (b - sec.bar) % len(self.progs[sec.prog])

    def _chords(self, plan: Plan, b: int, sec: Section) -> None:
        ci, p = self._ci(b, sec), sec.prog
        vel = 0.8 if sec.name in ("intro", "outro", "break") else 1.0
        rhythm = 0 if sec.name in ("intro", "outro", "break") else (self.chord_rhythm + (sec.name == "b")) % 3
        if rhythm == 0:
            plan.events.append(Event(self._t(b), self.chord(p, ci, 3.9), vel, vel, "chords"))
        elif rhythm == 1:
            # Two stabs a bar, the second on the and of two: one sound, played twice.
            plan.events.append(Event(self._t(b), self.chord(p, ci, 1.4), vel, vel, "chords"))
            plan.events.append(Event(self._t(b, 1.5), self.chord(p, ci, 1.4), vel * 0.8, vel * 0.8, "chords"))
        else:
            # Pushed: the chord lands an eighth early, on the and of four.
            at = self._t(b, -0.5) if b > sec.bar else self._t(b)
            plan.events.append(Event(at, self.chord(p, ci, 3.9), vel, vel, "chords"))

    def _root(self, prog: int, ci: int) -> int:
        m = 36 + (self.key + self.progs[prog][ci][0]) % 12
        return m + 12 if m < 38 else m

    def _bass(self, plan: Plan, b: int, sec: Section) -> None:
        if sec.name == "intro" and b < sec.bar + sec.bars // 2:
            return  # the keys alone first
        rng = self.rng
        ci, p = self._ci(b, sec), sec.prog
        root = self._root(p, ci)
        if sec.name == "break":  # held roots under the breakdown
            plan.events.append(Event(self._t(b), self.bass(root, 3.5), 0.7, 0.7))
            return
        g = 0.7 if sec.name == "outro" else 1.0
        plan.events.append(Event(self._t(b, 0.0) + int(0.01 * SR), self.bass(root, 1.5), g, g))
        # The chord's own fifth (a half-diminished chord has a flat one), or the octave.
        ivs = QUALITIES[self.progs[p][ci][1]]
        fifth = 6 if 6 in ivs and 7 not in ivs else 7
        second = int(rng.choice([fifth, 12, 0, fifth]))
        plan.events.append(Event(self._t(b, self._swung(6)), self.bass(root + second, 1.0), g * 0.8, g * 0.8))
        if rng.random() < 0.55:
            nxt = self._root(p, (ci + 1) % len(self.progs[p]))
            approach = nxt + int(rng.choice([-1, 1, -2]))
            plan.events.append(Event(self._t(b, self._swung(14)), self.bass(approach, 0.5), g * 0.7, g * 0.7))
        else:
            plan.events.append(Event(self._t(b, 2.0), self.bass(root, 1.0), g * 0.75, g * 0.75))

    def _drums(self, plan: Plan, b: int, sec: Section, last: bool, after: Section | None) -> None:
        """A bar of the groove; a section's last bar drops out before a B section and fills
        before anything else, and the outro's second half is keys alone."""
        if sec.name == "outro" and b >= sec.bar + sec.bars // 2:
            return
        if last and after is not None and after.name == "b":
            self._drop(plan, b)
            return
        k, rng = self.kit, self.rng
        fill = last or (sec.name == "outro" and b == sec.bar + sec.bars // 2 - 1)
        for step in self.kick_pattern:
            st = self._t(b, self._swung(step) + rng.normal(0, 0.004) / self.beat)
            g = KICK_GAIN * rng.uniform(0.85, 1.0)
            plan.events.append(Event(st, k.kick, g, g))
            plan.duck.append(st)
        snare = k.rim if self.use_rim else k.snare
        gl, gr = pan(-0.1)
        for step in ((4,) if fill else (4, 12)):
            g = SNARE_GAIN * rng.uniform(0.9, 1.1)
            plan.events.append(Event(self._t(b, self._swung(step) + rng.normal(0.012, 0.004) / self.beat), snare, g * gl, g * gr))
        for step in (7, 15, 10):
            if not (fill and step > 8) and rng.random() < self.ghost_p:
                g = SNARE_GAIN * rng.uniform(0.15, 0.3)
                plan.events.append(Event(self._t(b, self._swung(step)), k.snare, g, g))
        for step in range(0, 16 if not fill else 8, 1 if self.hat_16ths else 2):
            if self.hat_16ths and step % 2 and rng.random() < 0.3:
                continue
            accent = 1.0 if step % 4 == 0 else (0.7 if step % 2 == 0 else 0.45)
            g = HAT_GAIN * accent * rng.uniform(0.75, 1.05)
            gl, gr = pan(0.25)
            hat = k.open_hat if (step == 14 and (b - sec.bar) % 4 == 3) else k.hat
            plan.events.append(Event(self._t(b, self._swung(step) + rng.normal(0, 0.003) / self.beat), hat, g * gl, g * gr))
        if fill:
            self._fill(plan, b)

    def _fill(self, plan: Plan, b: int) -> None:
        """The second half of a bar as a fill: snare sixteenths rising, a kick under them,
        and an open hat into the next section."""
        k, rng = self.kit, self.rng
        pattern = [(8, 0.45), (10, 0.5), (11, 0.55), (12, 0.7), (13, 0.75), (14, 0.9), (15, 1.0)]
        if rng.random() < 0.5:
            pattern = [(8, 0.5), (9, 0.45), (10, 0.6), (12, 0.75), (14, 0.85), (15, 1.0)]
        gl, gr = pan(-0.1)
        for step, v in pattern:
            g = SNARE_GAIN * v * rng.uniform(0.85, 1.0)
            plan.events.append(Event(self._t(b, self._swung(step)), k.snare, g * gl, g * gr))
        plan.events.append(Event(self._t(b, self._swung(8)), k.kick, KICK_GAIN * 0.8, KICK_GAIN * 0.8))
        g = HAT_GAIN * 1.2
        plan.events.append(Event(self._t(b + 1), k.open_hat, g, g))

    def _drop(self, plan: Plan, b: int) -> None:
        """The drums fall out for a bar; one open hat on the last eighth leads back in."""
        g = HAT_GAIN * 0.8
        plan.events.append(Event(self._t(b, 3.5), self.kit.open_hat, g, g))

    def _melody(self, plan: Plan, b: int, sec: Section) -> None:
        motif = self.motifs[sec.melody or "a"]
        rng = self.rng
        phrase_bar = (b - sec.bar) % 4
        if sec.name == "a" and (b - sec.bar) < 4 and sec.bars > 4:
            return  # the first A states the groove; its melody enters in the second phrase
        for beat_pos, dur, deg in motif[phrase_bar]:
            if rng.random() < 0.1:
                continue
            m = self._degree_to_midi(deg)
            gl, gr = pan(0.15)
            v = rng.uniform(0.8, 1.0)
            plan.events.append(Event(self._t(b, beat_pos), self.lead(m, dur), gl * v, gr * v, "lead"))

    def _ending(self, plan: Plan, b: int, sec: Section) -> None:
        """The last bar: the tonic chord (the home progression starts on it) rings out over
        the root, with the melody's last word on the tonic; nothing loops or fades."""
        plan.events.append(Event(self._t(b), self.chord(0, 0, 6.0), 0.85, 0.85, "chords"))
        root = self._root(0, 0)
        plan.events.append(Event(self._t(b) + int(0.01 * SR), self.bass(root, 3.0), 0.8, 0.8))
        plan.events.append(Event(self._t(b, 0.5), self.lead(self._degree_to_midi(len(SCALES[self.mode])), 3.0),
                                 0.7, 0.7, "lead"))

    def _degree_to_midi(self, deg: int) -> int:
        """Scale degree to MIDI; degree 0 is the key's root between A3 and G#4."""
        scale = SCALES[self.mode]
        octave, idx = divmod(deg, len(scale))
        return 57 + (self.key - 9) % 12 + 12 * octave + scale[idx]

    def _motifs(self) -> dict[str, Motif]:
        """The melodies: A's motif, B's (another contour, busier), A's varied (neighbour
        notes, a lift in its third bar) and B's for the breakdown (lower, sparser)."""
        rng = self.rng
        n = len(SCALES[self.mode])
        a = self._motif(int(rng.integers(n // 2, n + 2)), (2, 4))
        b = self._motif(int(rng.integers(n, n + 3)), (3, 5))
        a2 = [[(t, d, deg + (1 if (i == 2 or j % 2) else 0)) for j, (t, d, deg) in enumerate(bar)]
              for i, bar in enumerate(a)]
        b2 = [[(t, max(d, 1.0), deg - 2) for j, (t, d, deg) in enumerate(bar) if j % 2 == 0] for bar in b]
        return {"a": a, "b": b, "a2": a2, "b2": b2}

    def _motif(self, start: int, notes: tuple[int, int]) -> Motif:
        """Four bars: a motif, its answer, the motif again, and a resolution."""
        rng = self.rng
        scale_len = len(SCALES[self.mode])

        def bar_of_notes(start_deg: int, n_notes: int) -> list[tuple[float, float, int]]:
            slots = sorted(rng.choice(np.arange(0, 8), size=n_notes, replace=False))
            out, deg = [], start_deg
            for i, s in enumerate(slots):
                nxt = slots[i + 1] if i + 1 < len(slots) else 8
                dur = max(0.5, min(2.0, (nxt - s) * 0.5))
                out.append((s * 0.5, dur, deg))
                deg += int(rng.choice([-2, -1, -1, 1, 1, 2, 0]))
                deg = max(scale_len - 2, min(2 * scale_len - 2, deg))
            return out
        first = bar_of_notes(start, int(rng.integers(*notes)))
        answer = bar_of_notes(start + int(rng.choice([-1, 1, 2])), int(rng.integers(*notes)))
        end = [(0.0, 1.5, start - 1), (2.0, 2.0, (start // scale_len) * scale_len)]
        return [first, answer, first, end]


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
        self.vinyl = _vinyl(np.random.default_rng([seed, 22]), self.hiss, self.crackle)

    def render(self, n: int) -> np.ndarray:
        """The next n samples of the track, (n, 2) float32."""
        start, end = self.pos, self.pos + n
        main, chords, lead = self._mix_events(start, end)
        # Chords: a slow tremolo and a soft pump from the kick.
        # The phase in float32 from this chunk's start (float64 sines over a chunk cost about
        # 15x more, most of the per-chunk work); error under 1e-5 rad across 131072 samples.
        w = 2 * np.pi * self.trem_rate / SR
        ph = np.arange(n, dtype=np.float32) * np.float32(w)
        ph += np.float32(start * w % (2 * np.pi))
        trem = np.float32(0.94) - np.float32(0.06) * np.sin(ph)
        trem *= self._duck_env(start, end)
        chords *= trem[:, None]
        main += chords
        if self.lead_live or np.any(lead):
            main += self._echo(lead)
        self._add_vinyl(main, start)
        self._fades(main, start, end)
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

    def _mix_events(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The events sounding in [start, end), summed into the main, chord and lead buses."""
        n = end - start
        buses = {"main": np.zeros((n, 2), np.float32), "chords": np.zeros((n, 2), np.float32),
                 "lead": np.zeros((n, 2), np.float32)}
        ev = self.plan.events
        while self.next_event < len(ev) and ev[self.next_event].start < end:
            self.live.append(ev[self.next_event])
            self.next_event += 1
        keep = []
        for e in self.live:
            a = max(start, e.start)
            b = min(end, e.start + len(e.data))
            if b > a:
                seg = e.data[a - e.start:b - e.start]
                if seg.dtype == np.int16:
                    seg = seg * np.float32(1 / 32767)
                target = buses[e.bus][a - start:b - start]
                if seg.ndim == 2:
                    if e.gain_l == e.gain_r == 1.0:
                        target += seg
                    else:
                        target[:, 0] += seg[:, 0] * e.gain_l
                        target[:, 1] += seg[:, 1] * e.gain_r
                else:
                    target[:, 0] += seg * e.gain_l
                    target[:, 1] += seg * e.gain_r
            if e.start + len(e.data) > end:
                keep.append(e)
        self.live = keep
        return buses["main"], buses["chords"], buses["lead"]

    def _echo(self, lead: np.ndarray) -> np.ndarray:
        """The lead through a tape echo, ping-ponged, each repeat quieter."""
        hist = np.concatenate([self.lead_hist, lead])
        for k in (1, 2, 3):
            off = self.echo_delay * k
            seg = hist[len(self.lead_hist) - off:len(hist) - off]
            g = self.echo_fb ** k
            if k % 2:
                lead[:, 0] += seg[:, 1] * (g * 0.6)
                lead[:, 1] += seg[:, 0] * g
            else:
                lead += seg * (g * 0.8)
        self.lead_hist = hist[-len(self.lead_hist):]
        self.lead_live = bool(np.any(self.lead_hist))
        return lead

    def _add_vinyl(self, main: np.ndarray, start: int) -> None:
        """Vinyl, looping with the record's rotation (crackle repeats as a real record's does)."""
        rot, n = len(self.vinyl), len(main)
        a = start % rot
        done = 0
        while done < n:
            k = min(rot - a, n - done)
            main[done:done + k] += self.vinyl[a:a + k]
            done += k
            a = 0

    def _fades(self, main: np.ndarray, start: int, end: int) -> None:
        """In over the first second; out over the last END_FADE_S, after the song has ended."""
        total = self.plan.frames
        if start < SR or end > total - END_FADE_S * SR:
            tt = np.arange(start, end, dtype=np.float32) / SR
            fade = np.clip(tt, 0, 1) * np.clip((total / SR - tt) / END_FADE_S, 0, 1)
            main *= (fade ** 1.5)[:, None]

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


def _vinyl(vr: np.random.Generator, hiss_level: float, crackle: float) -> np.ndarray:
    """One rotation of a record at 33 1/3 rpm: hiss and a few pops."""
    rot = int(SR * 60 / 33.333)
    hiss = fft_filter(vr.standard_normal((rot, 2)).astype(np.float32), bandpass(300, 7000, 1))
    hiss /= np.std(hiss) + 1e-9
    out = hiss * hiss_level
    pops = np.zeros((rot, 2), np.float32)
    for _ in range(int(6 * crackle)):
        p = int(vr.integers(rot - 200))
        amp = vr.uniform(0.02, 0.08) * crackle
        click = np.exp(-np.arange(60) / vr.uniform(4, 12)) * vr.choice([-1, 1])
        pops[p:p + 60, 0] += click * amp
        pops[p:p + 60, 1] += click * amp * vr.uniform(0.6, 1.0)
    out += fft_filter(pops, highpass(800, 1))
    return out


def render_track(spec: dict[str, Any], seconds: float, out_wav: Path,
                 on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Synthesise one track to out_wav (16-bit stereo 48 kHz, exactly `seconds` long).

    Returns what it is: file, seconds, key, mode, bpm, bars, form, progressions and the
    instruments.
    """
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
