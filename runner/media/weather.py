"""Rain and snow behind the window glass, as textures that tile in time.

Each layer is a texture that scrolls by whole multiples of its own size over one loop, so
the frame at t = loop length is the frame at t = 0: the motion loop is seamless by
construction, and the still artwork is simply the loop's first frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PrecipLayer:
    tex: np.ndarray        # (2h, 2w) float16 brightness, the tile repeated so any window is a view
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


def make_layers(weather: str, w: int, h: int, seed: int) -> list[PrecipLayer]:
    """Two or three depth layers of rain or snow for a window of w x h pixels."""
    rng = np.random.default_rng(seed)
    layers: list[PrecipLayer] = []
    area = w * h / (960 * 600)
    if weather == "snow":
        specs = [  # (count, radius, brightness, fall cycles, drift cycles, sway)
            (int(420 * area), (0.8, 1.5), (0.25, 0.45), 1, 0, 6.0),
            (int(160 * area), (1.6, 2.6), (0.45, 0.75), 2, 0, 14.0),
            (int(40 * area), (2.8, 4.2), (0.6, 0.9), 3, 1, 22.0),
        ]
        for i, (n, rad, br, cy, cx, sway) in enumerate(specs):
            tex = np.zeros((h, w), np.float32)
            _stamp_flakes(tex, rng, max(1, n), rad, br)
            layers.append(PrecipLayer(np.tile(np.minimum(tex, 1.0).astype(np.float16), (2, 2)), h, w, cy, cx,
                                      sway, 1 + i, float(rng.random())))
    else:
        specs = [  # (count, length, brightness, fall cycles, width)
            (int(900 * area), (14, 30), (0.06, 0.15), 5, 1.0),
            (int(260 * area), (30, 60), (0.13, 0.28), 9, 1.0),
            (int(50 * area), (60, 110), (0.2, 0.38), 14, 1.6),
        ]
        for n, ln, br, cyc, width in specs:
            tex = np.zeros((h, w), np.float32)
            # The slant and the horizontal drift agree, so drops fall along their own streaks.
            cx = int(round(cyc * h * 0.15 / w))
            slant = cx * w / (cyc * h)
            _stamp_streaks(tex, rng, max(1, n), ln, slant, br, width)
            layers.append(PrecipLayer(np.tile(np.minimum(tex, 1.0).astype(np.float16), (2, 2)), h, w, cyc, cx,
                                      0.0, 0, 0.0))
    return layers


def composite(layers: list[PrecipLayer], t: float) -> np.ndarray:
    """All layers at loop phase t, as float32 (textures are kept in half precision)."""
    out = layers[0].view(t).astype(np.float32)
    for layer in layers[1:]:
        out += layer.view(t)
    return out
