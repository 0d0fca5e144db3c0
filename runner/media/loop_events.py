"""When things happen in the motion loop: blinks, tail flicks, page turns, passing lights.

A loop that repeats every few seconds on an exact clock reads as a machine. The events here
are placed at uneven moments drawn from the scene's seed: two or three blinks with gaps that
differ, a couple of tail flicks, a page turned now and then, a car's lights sweeping the
ceiling, a plane crossing the sky, telegraph poles flicking past a train window, puffs of
steam and floating notes. Everything is a phase in [0, 1) of the loop, so an event that
starts near the end finishes at the start of the next repeat and the loop keeps its seam.

One blink straddles the seam on purpose. The encoder codes the loop as one keyframe and the
frames after it; a region repainted mid-loop (the eyes after a blink) is coded again at the
quality of those later frames and would visibly sharpen when the keyframe comes round. With
the eyes shutting across the seam, that change hides inside the blink. Everything else that
starts and stops (page turns, flicks, passing lights, poles, planes) keeps at least CALM_S
seconds clear of the seam, so the last frame flows into the first as smoothly as any two
neighbours do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

BLINK = (0, 1, 1, 0)   # patch per frame of a blink: half shut, shut, shut, half shut (about 170 ms at 24 fps)
CALM_S = 1.0           # seconds either side of the seam without events that start and stop


@dataclass(frozen=True)
class Event:
    """An event starting at phase `start` lasting `length` (phases of the loop)."""

    start: float
    length: float
    sign: float = 1.0

    def progress(self, t: float) -> float | None:
        """How far into the event phase t is (0..1), or None outside it; wraps at the seam."""
        u = ((t - self.start) % 1.0) / self.length
        return u if u < 1.0 else None


@dataclass
class Timeline:
    frames: int
    seconds: float
    blinks: list[int] = field(default_factory=list)       # first frame of each blink
    pages: list[int] = field(default_factory=list)        # first frame of each page turn
    flicks: list[Event] = field(default_factory=list)     # tail flicks (sign: which way)
    sweeps: list[Event] = field(default_factory=list)     # passing lights
    poles: list[Event] = field(default_factory=list)      # poles flicking past a train window
    planes: list[Event] = field(default_factory=list)     # a plane's lights crossing the sky
    puffs: list[list[Event]] = field(default_factory=list)  # steam puffs, per cup
    notes: list[Event] = field(default_factory=list)      # music notes floating up
    breath: list[tuple[int, float, float]] = field(default_factory=list)  # key light: (cycles, amplitude, phase)

    def blink_patch(self, i: int) -> int | None:
        """Which blink patch frame i shows (an index into BLINK's patches), or None."""
        for s in self.blinks:
            k = (i - s) % self.frames
            if k < len(BLINK):
                return BLINK[k]
        return None

    def page_frame(self, i: int, n: int) -> int | None:
        """Which of the n page-turn patches frame i shows, or None."""
        for s in self.pages:
            k = (i - s) % self.frames
            if k < n:
                return k
        return None

    def swing(self, t: float) -> float:
        """The tail's swing (-1..1) at phase t: still between flicks."""
        for e in self.flicks:
            u = e.progress(t)
            if u is not None:
                return e.sign * math.sin(math.pi * u) ** 2 * (1 - 0.35 * math.sin(2 * math.pi * u))
        return 0.0

    def flicker(self, t: float) -> float:
        """The key light's irregular breathing, zero at t = 0 so the first frame is the artwork."""
        def g(x: float) -> float:
            return sum(a * math.sin(2 * math.pi * (k * x + p)) for k, a, p in self.breath)
        return g(t) - g(0.0)


def uneven(rng: random.Random, n: int, lo: float, hi: float, min_gap: float) -> list[float]:
    """n sorted phases in [lo, hi) at least min_gap apart whose gaps are visibly unequal."""
    for _ in range(400):
        ts = sorted(rng.uniform(lo, hi) for _ in range(n))
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        if not gaps:
            return ts
        if min(gaps) >= min_gap and (len(gaps) < 2 or max(gaps) > 1.3 * min(gaps)):
            return ts
    step = (hi - lo) / (n + 1)  # crowded: spread them with a fixed uneven stride
    return [lo + step * (k + 0.6 + 0.25 * (k % 2)) for k in range(n)]


def plan(seed: int, frames: int, fps: int, *, eyes: bool, page: bool, sweep: bool, poles: bool, plane: bool,
         cups: int, notes: bool, fire: bool, page_frames: int = 12) -> Timeline:
    """The loop's timeline for a scene, from its seed (the same seed plans the same loop)."""
    rng = random.Random(seed ^ 0x10095)
    seconds = frames / fps
    tl = Timeline(frames, seconds)
    ph = lambda s: s / seconds  # seconds -> phase
    seam = frames - len(BLINK) // 2  # a blink half before, half after the seam
    lo = ph(CALM_S)  # the earliest start of an event that stops again

    def inside(length_s: float) -> float:
        return 1 - ph(CALM_S + length_s)  # the latest start that still ends CALM_S before the seam

    if eyes:
        n = 2 if rng.random() < 0.5 else 1
        tl.blinks = [seam] + [int(t * frames) for t in uneven(rng, n, ph(2.5), 1 - ph(2.5), ph(3.5))]
    if page:
        n = 2 if seconds >= 18 and rng.random() < 0.5 else 1
        turn = page_frames / fps
        tl.pages = [int(t * frames) for t in uneven(rng, n, lo, inside(turn), ph(5.0))]
    tl.flicks = [Event(t, ph(1.6), 1.0 if k % 2 else -1.0) for k, t in enumerate(uneven(rng, 2, lo, inside(1.6), ph(4.0)))]
    if sweep:
        tl.sweeps = [Event(t, ph(3.2)) for t in uneven(rng, 2 if rng.random() < 0.5 else 1, lo, inside(3.2), ph(5.0))]
    if poles:
        tl.poles = [Event(t, ph(0.3)) for t in uneven(rng, rng.choice((3, 4, 5)), lo, inside(0.3), ph(1.5))]
    if plane:
        flight = min(11.0, seconds * 0.6)
        tl.planes = [Event(rng.uniform(lo, max(lo, inside(flight))), ph(flight))]
    for _ in range(cups):
        tl.puffs.append([Event(t, ph(4.0)) for t in uneven(rng, max(3, int(seconds / 4)), 0.0, 1.0, ph(1.6))])
    if notes:
        tl.notes = [Event(t, ph(4.5), float(k % 2)) for k, t in enumerate(uneven(rng, max(3, int(seconds / 5)), 0.0, 1.0, ph(2.0)))]
    if fire:
        # Fire flickers fast and unevenly: several incommensurate whole-cycle waves.
        tl.breath = [(int(seconds * f), a, rng.random()) for f, a in ((0.35, 0.05), (0.9, 0.04), (1.7, 0.03), (2.9, 0.02))]
    else:
        # A lamp breathes slowly, with a faint flutter.
        tl.breath = [(1, 0.06, rng.random()), (3, 0.025, rng.random()), (int(seconds * 0.45) or 1, 0.01, rng.random())]
    return tl
