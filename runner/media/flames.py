"""Flames in a firebox that flicker forever and repeat exactly once per loop.

The flames are an envelope (tall in the middle, licking upwards from the logs) cut by a
noise texture that rises through the firebox a whole number of times per loop; the noise
wraps vertically, so phase 1 equals phase 0 and the loop has no seam.
"""

from __future__ import annotations

import numpy as np

from .paint import smoothstep

RISES = 14  # times the flame texture rises through the firebox per loop


def periodic_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth value noise in 0..1 of shape (h, w) that wraps top to bottom (h a multiple of cell)."""
    gh, gw = max(1, h // cell), w // cell + 2
    g = rng.random((gh, gw), dtype=np.float32)
    ys = np.arange(h, dtype=np.float32) / cell
    xs = np.arange(w, dtype=np.float32) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy = smoothstep(0, 1, ys - y0)[:, None]
    fx = smoothstep(0, 1, xs - x0)[None, :]
    r0, r1 = y0 % gh, (y0 + 1) % gh
    a, b = g[r0][:, x0], g[r0][:, x0 + 1]
    c, d = g[r1][:, x0], g[r1][:, x0 + 1]
    return ((a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy).astype(np.float32)


class Flames:
    """Flame brightness over a firebox (x0, y0, x1, y1) at any loop phase."""

    def __init__(self, box: tuple[int, int, int, int], seed: int):
        x0, y0, x1, y1 = box
        self.h, self.w = y1 - y0, x1 - x0
        rng = np.random.default_rng(seed)
        cell = 16
        th = max(cell, (self.h // cell) * cell)
        tex = 0.65 * periodic_noise(rng, th, self.w, cell) + 0.35 * periodic_noise(rng, th, self.w, cell // 2)
        self.th = th
        self.tex = np.concatenate([tex, tex, tex], 0)[:th + self.h]  # any window of h rows is a view
        xs = (np.arange(self.w, dtype=np.float32) + 0.5) / self.w
        # Tongues: tallest over the middle of the logs, each with its own height.
        tongues = 0.55 + 0.45 * np.sin(np.pi * xs) ** 1.5 * (0.75 + 0.25 * np.sin(xs * 23 + rng.uniform(0, 6)))
        up = (self.h - np.arange(self.h, dtype=np.float32)[:, None] - 0.5) / self.h  # 0 at the logs, 1 at the top
        self.rise = up / tongues[None, :]
        self.side = (np.sin(np.pi * xs) ** 0.6)[None, :]

    def at(self, t: float) -> np.ndarray:
        """(h, w) brightness at loop phase t in [0, 1)."""
        off = int(round(t * RISES * self.th)) % self.th
        n = self.tex[off:off + self.h]  # rows move up as off grows: the flames rise
        body = 1.0 - self.rise / (0.45 + 0.75 * n)
        np.clip(body, 0, 1, out=body)
        body **= 1.4
        body *= self.side
        return body * np.float32(1.25)
