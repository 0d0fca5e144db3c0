"""Weather behind the window glass: rain and snow as textures that tile in time, leaves and
petals as a few drifting shapes.

Each rain or snow layer is a texture that scrolls by whole multiples of its own size over one
loop, and every leaf or petal falls through the view a whole number of times per loop, so
the frame at t = loop length is the frame at t = 0: the motion loop is seamless by
construction, and the still artwork is simply the loop's first frame.

`clear` weather has no layers at all: nothing falls.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


# Textures hold brightness 0..1 as 0..255: a quarter of float32's memory (the rooftop's whole
# sky is glass) and quicker to sum. composite() returns that scale; multiply by LEVEL.
LEVEL = 1 / 255


def _texture(tex: np.ndarray) -> np.ndarray:
    """A float brightness tile as the stored 8-bit tile, repeated 2x2 so any window is a view."""
    return np.tile(np.round(np.clip(tex, 0.0, 1.0) * 255).astype(np.uint8), (2, 2))


@dataclass
class PrecipLayer:
    tex: np.ndarray        # (2h, 2w) uint8 brightness x 255 (see LEVEL), the tile repeated so any window is a view
    h: int
    w: int
    cycles_y: int          # whole tile heights travelled per loop
    cycles_x: int          # whole tile widths travelled per loop (wind)
    sway: float            # snow: horizontal sway amplitude in pixels
    sway_cycles: int
    phase: float

    def offset(self, t: float) -> tuple[int, int]:
        """Texture offset at loop phase t in [0, 1)."""
        oy = int(round(t * self.cycles_y * self.h)) % self.h
        sx = self.sway * np.sin(2 * np.pi * (self.sway_cycles * t + self.phase)) if self.sway else 0.0
        ox = int(round(t * self.cycles_x * self.w + sx)) % self.w
        return oy, ox

    def view(self, t: float) -> np.ndarray:
        oy, ox = self.offset(t)
        # Scrolling the texture down means sampling it from further up.
        y = (self.h - oy) % self.h
        x = (self.w - ox) % self.w
        return self.tex[y:y + self.h, x:x + self.w]


def _stamp_streaks(tex: np.ndarray, rng: np.random.Generator, n: int, length: tuple[float, float],
                   slant: float, bright: tuple[float, float], width: float) -> None:
    """Draw n thin slanted streaks with wrap-around, so the tile stays periodic."""
    h, w = tex.shape
    for _ in range(n):
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        ln = rng.uniform(*length)
        b = rng.uniform(*bright)
        steps = max(2, int(ln))
        t = np.linspace(0.0, 1.0, steps)
        px = x0 + slant * ln * t
        py = y0 + ln * t
        # Brighter at the head of the drop, fading along its trail.
        prof = b * (0.25 + 0.75 * t) * np.sin(np.pi * np.clip(t * 1.05, 0, 1)) ** 0.5
        xi = np.floor(px).astype(int)
        fx = px - xi
        yi = np.round(py).astype(int) % h
        for dx, wgt in ((0, 1 - fx), (1, fx)):
            np.add.at(tex, (yi, (xi + dx) % w), prof * wgt)
        if width > 1.2:
            for dx, wgt in ((-1, 0.35), (2, 0.35)):
                np.add.at(tex, (yi, (xi + dx) % w), prof * wgt * (1 - fx if dx < 0 else fx))


def _stamp_flakes(tex: np.ndarray, rng: np.random.Generator, n: int, radius: tuple[float, float],
                  bright: tuple[float, float]) -> None:
    h, w = tex.shape
    for _ in range(n):
        r = rng.uniform(*radius)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        b = rng.uniform(*bright)
        R = int(np.ceil(r * 2.2)) + 1
        yy = np.arange(int(cy) - R, int(cy) + R + 1)
        xx = np.arange(int(cx) - R, int(cx) + R + 1)
        d2 = (yy[:, None] + 0.5 - cy) ** 2 + (xx[None, :] + 0.5 - cx) ** 2
        blob = b * np.exp(-d2 / (2 * (r * 0.6) ** 2))
        tex[np.ix_(yy % h, xx % w)] += blob.astype(np.float32)


def make_layers(weather: str, w: int, h: int, seed: int, loop_s: float = 8.0, density: float = 1.0) -> list[PrecipLayer]:
    """Three depth layers of rain or snow for a window of w x h pixels; none for clear weather.

    density scales how many drops or flakes fall per pixel. Speeds are in pixels per second
    (rain 380-1080, snow 80-230, by eye against real footage),
    rounded to whole tiles per loop of loop_s seconds so the loop stays seamless.
    """
    rng = np.random.default_rng(seed)
    layers: list[PrecipLayer] = []
    if weather not in ("rain", "snow"):
        return layers
    area = density * w * h / (960 * 600)

    def cycles(speed: float, size: int) -> int:
        return max(1, int(round(speed * loop_s / size)))

    if weather == "snow":
        specs = [  # (count, radius, brightness, fall speed px/s, drift cycles per 8 s, sway)
            (int(420 * area), (0.8, 1.5), (0.25, 0.45), 77.0, 0, 6.0),
            (int(160 * area), (1.6, 2.6), (0.45, 0.75), 154.0, 0, 14.0),
            (int(40 * area), (2.8, 4.2), (0.6, 0.9), 231.0, 1, 22.0),
        ]
        for i, (n, rad, br, speed, cx, sway) in enumerate(specs):
            tex = np.zeros((h, w), np.float32)
            _stamp_flakes(tex, rng, max(1, n), rad, br)
            layers.append(PrecipLayer(_texture(tex), h, w, cycles(speed, h),
                                      int(round(cx * loop_s / 8.0)), sway, max(1, int(round((1 + i) * loop_s / 8.0))),
                                      float(rng.random())))
    else:
        streaks = [  # (count, length, brightness, fall speed px/s, width)
            (int(900 * area), (14.0, 30.0), (0.06, 0.15), 385.0, 1.0),
            (int(260 * area), (30.0, 60.0), (0.13, 0.28), 693.0, 1.0),
            (int(50 * area), (60.0, 110.0), (0.2, 0.38), 1078.0, 1.6),
        ]
        for n, ln, br, speed, width in streaks:
            tex = np.zeros((h, w), np.float32)
            cyc = cycles(speed, h)
            # The slant and the horizontal drift agree, so drops fall along their own streaks.
            cx = int(round(cyc * h * 0.15 / w))
            slant = cx * w / (cyc * h)
            _stamp_streaks(tex, rng, max(1, n), ln, slant, br, width)
            layers.append(PrecipLayer(_texture(tex), h, w, cyc, cx, 0.0, 0, 0.0))
    return layers


def composite(layers: list[PrecipLayer], t: float, out: np.ndarray | None = None) -> np.ndarray:
    """All layers at loop phase t, summed as float32 in texture units (x LEVEL for brightness);
    into out when given, so no new array per frame."""
    if out is None:
        out = layers[0].view(t).astype(np.float32)
    else:
        np.copyto(out, layers[0].view(t))
    for layer in layers[1:]:
        out += layer.view(t)
    return out


# ----------------------------------------------------------------------------- leaves and petals

LEAF_COLOURS = ("#d9792b", "#c4472c", "#e6a93a", "#b5552a")
PETAL_COLOURS = ("#f7c3d0", "#f9d5de", "#f2a9bd")


@dataclass
class Drifter:
    """One leaf or petal falling through a box on a path that repeats every loop."""

    x: float               # horizontal centre of its sway (canvas px)
    y: float               # height at t = 0
    passes: int            # whole falls through the box per loop
    sway: float            # px either side
    sway_cycles: int
    spin_cycles: int
    phase: float
    size: float            # px
    color: np.ndarray
    petal: bool

    def at(self, t: float, box: tuple[int, int, int, int]) -> tuple[float, float, float]:
        """(x, y, angle in radians) at loop phase t."""
        x0, y0, x1, y1 = box
        span = (y1 - y0) + 4 * self.size
        y = y0 - 2 * self.size + ((self.y - y0 + 2 * self.size) + self.passes * span * t) % span
        wave = 2 * np.pi * (self.sway_cycles * t + self.phase)
        return self.x + self.sway * float(np.sin(wave)), y, 2 * np.pi * self.spin_cycles * t + 6.0 * self.phase


def make_drifters(kind: str, box: tuple[int, int, int, int], seed: int, loop_s: float) -> list[Drifter]:
    """Falling leaves (kind 'leaves') or blossom petals ('petals') for a view box; [] otherwise.

    About one every 60,000 px of view (5 to 14); each falls at 40-110 px/s, rounded to whole passes.
    """
    if kind not in ("leaves", "petals"):
        return []
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = box
    n = int(np.clip((x1 - x0) * (y1 - y0) / 60000, 5, 14))
    petal = kind == "petals"
    colours = PETAL_COLOURS if petal else LEAF_COLOURS
    out = []
    for _ in range(n):
        size = rng.uniform(6, 10) if petal else rng.uniform(9, 16)
        speed = rng.uniform(40, 110)
        passes = max(1, int(round(speed * loop_s / ((y1 - y0) + 4 * size))))
        c = colours[int(rng.integers(len(colours)))]
        out.append(Drifter(rng.uniform(x0, x1), rng.uniform(y0, y1), passes, rng.uniform(20, 70), int(rng.integers(1, 4)),
                           int(rng.integers(1, 4)) * (1 if rng.random() < 0.5 else -1), float(rng.random()), size,
                           np.array([int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)], np.float32), petal))
    return out


def drifter_patch(d: Drifter, x: float, y: float, angle: float) -> tuple[int, int, np.ndarray]:
    """(x0, y0, alpha) of the drifter's shape at (x, y) turned by angle; x0, y0 even.

    Shapes are cached by size, kind, angle (1/32 of a turn) and whole-pixel position: a frame
    draws a dozen of them.
    """
    r = int(d.size * 1.3) + 3
    px0, py0 = (int(x) - r) & ~1, (int(y) - r) & ~1
    turn = int(round(angle / (2 * np.pi) * 32)) % 32
    return px0, py0, _shape(round(d.size), d.petal, turn, float(round(x - px0)), float(round(y - py0)))


@functools.lru_cache(maxsize=2048)
def _shape(size: float, petal: bool, turn: int, cx: float, cy: float) -> np.ndarray:
    r = int(size * 1.3) + 3
    n = (2 * r + 4) & ~1
    angle = turn * 2 * np.pi / 32
    ys = np.arange(n, dtype=np.float32)[:, None] + np.float32(0.5 - cy)
    xs = np.arange(n, dtype=np.float32)[None, :] + np.float32(0.5 - cx)
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    u, v = xs * c + ys * s, -xs * s + ys * c
    # Foreshortened as it tumbles: the shape narrows with the turn.
    v = v / np.float32(0.35 + 0.65 * abs(np.cos(angle * 0.7)))
    if petal:
        k = np.hypot(u / size, v / (size * 0.6))
    else:  # a pointed leaf: an ellipse pinched at both ends
        k = np.hypot(u / size, v / (size * 0.45 * (1.05 - (u / size) ** 2).clip(0.05, 1)))
    a = np.clip((1 - k) * size * 0.8 + 0.5, 0, 1).astype(np.float32)
    a.flags.writeable = False
    return a
