"""A tiny vector painter on numpy arrays: signed-distance shapes with anti-aliased edges.

The local artwork is drawn from shapes (circles, capsules, polygons) rather than pixels, so
every edge is smooth at 1920x1080 and a shape can be re-drawn at another angle for the
motion loop (the cat's tail). Colours are float RGB in 0..1 (sRGB values); layers keep
premultiplied colour plus alpha so they can be stacked in any order and composited later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive): pixel indices
Area = tuple[float, float, float, float]  # x0, y0, x1, y1 in canvas coordinates, rounded out to pixels
Sdf = Callable[..., np.ndarray]  # (x, y) -> signed distance, negative inside (lambdas bind loop values as defaults)
Shader = Callable[..., np.ndarray]  # (x, y, distance) -> colour


def hex_rgb(text: str) -> np.ndarray:
    text = text.lstrip("#")
    return np.array([int(text[i:i + 2], 16) / 255.0 for i in (0, 2, 4)], dtype=np.float32)


def mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    return (np.asarray(a, np.float32) * (1 - t) + np.asarray(b, np.float32) * t).astype(np.float32)


def shade(c: np.ndarray, k: float) -> np.ndarray:
    """c scaled by k and clipped to 0..1 (k < 1 darker, k > 1 lighter)."""
    return np.clip(np.asarray(c, np.float32) * k, 0, 1).astype(np.float32)


def rotated(xs: np.ndarray, ys: np.ndarray, px: float, py: float, ang: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates rotated about (px, py): shapes drawn in them appear rotated by -ang radians."""
    if not ang:
        return xs, ys
    c, s = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    dx, dy = xs - px, ys - py
    return px + dx * c - dy * s, py + dx * s + dy * c


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


# ----------------------------------------------------------------------------- distances

def circle(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return np.hypot(x - cx, y - cy) - r


def ellipse(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float,
            angle: float = 0.0) -> np.ndarray:
    """Approximate distance (exact on the axes): plenty for anti-aliasing and outlines."""
    dx, dy = x - cx, y - cy
    if angle:
        c, s = np.cos(angle), np.sin(angle)
        dx, dy = dx * c + dy * s, -dx * s + dy * c
    k = np.hypot(dx / rx, dy / ry)
    # First-order distance: (k - 1) / |grad k|, guarded at the centre where grad k vanishes.
    g = np.hypot(dx / (rx * rx), dy / (ry * ry))
    return np.where(k > 0.2, (k - 1.0) * k / np.maximum(g, 1e-6), (k - 1.0) * min(rx, ry))


def rbox(x: np.ndarray, y: np.ndarray, cx: float, cy: float, hw: float, hh: float,
         r: float = 0.0) -> np.ndarray:
    qx = np.abs(x - cx) - hw + r
    qy = np.abs(y - cy) - hh + r
    return np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r


def segment(x: np.ndarray, y: np.ndarray, ax: float, ay: float, bx: float, by: float,
            r: float | tuple[float, float] = 0.0) -> np.ndarray:
    """Capsule from a to b; r may vary along the segment when given as (ra, rb)."""
    px, py = x - ax, y - ay
    vx, vy = bx - ax, by - ay
    h = np.clip((px * vx + py * vy) / max(vx * vx + vy * vy, 1e-9), 0.0, 1.0)
    d = np.hypot(px - vx * h, py - vy * h)
    if isinstance(r, tuple):
        return d - (r[0] + (r[1] - r[0]) * h)
    return d - r


def polygon(x: np.ndarray, y: np.ndarray, pts: Sequence[tuple[float, float]]) -> np.ndarray:
    """Exact signed distance to a simple polygon (negative inside)."""
    p = np.asarray(pts, dtype=np.float32)
    d = np.full(x.shape, np.inf, dtype=np.float32)
    sign = np.ones(x.shape, dtype=np.float32)
    n = len(p)
    for i in range(n):
        ax, ay = p[i - 1]
        bx, by = p[i]
        ex, ey = bx - ax, by - ay
        wx, wy = x - ax, y - ay
        h = np.clip((wx * ex + wy * ey) / max(ex * ex + ey * ey, 1e-9), 0.0, 1.0)
        d = np.minimum(d, (wx - ex * h) ** 2 + (wy - ey * h) ** 2)
        c1 = y >= ay
        c2 = y < by
        c3 = ex * wy > ey * wx
        flip = (c1 & c2 & c3) | (~c1 & ~c2 & ~c3)
        sign = np.where(flip, -sign, sign)
    return sign * np.sqrt(d)


def smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b * (1 - h) + a * h - k * h * (1 - h)


def coverage(d: np.ndarray, aa: float = 1.0) -> np.ndarray:
    return np.clip(0.5 - d / aa, 0.0, 1.0)


# ----------------------------------------------------------------------------- layers

@dataclass
class Layer:
    """Premultiplied RGB plus alpha, full canvas size."""

    rgb: np.ndarray
    alpha: np.ndarray
    ox: int = 0  # canvas position of this layer's top-left pixel (a layer may be a crop)
    oy: int = 0

    @classmethod
    def empty(cls, w: int, h: int) -> "Layer":
        return cls(np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32))

    @property
    def w(self) -> int:
        return self.rgb.shape[1]

    @property
    def h(self) -> int:
        return self.rgb.shape[0]

    def grid(self, box: Area) -> tuple[np.ndarray, np.ndarray, Box]:
        """Canvas coordinates of the pixels in box, and box in this layer's own indices."""
        x0, y0, x1, y1 = box
        x0, y0 = max(self.ox, int(x0)), max(self.oy, int(y0))
        x1, y1 = min(self.ox + self.w, int(np.ceil(x1))), min(self.oy + self.h, int(np.ceil(y1)))
        x1, y1 = max(x0, x1), max(y0, y1)
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
        return xs, ys, (x0 - self.ox, y0 - self.oy, x1 - self.ox, y1 - self.oy)

    def fill(self, box: Box, a: np.ndarray, color: np.ndarray | tuple) -> None:
        """Paint colour (a 3-vector or an (h, w, 3) array) with coverage a inside box."""
        x0, y0, x1, y1 = box
        if x1 <= x0 or y1 <= y0:
            return
        a = a.astype(np.float32)
        col = np.asarray(color, np.float32)
        rgb = self.rgb[y0:y1, x0:x1]
        al = self.alpha[y0:y1, x0:x1]
        rgb *= (1 - a)[..., None]
        rgb += col * a[..., None] if col.ndim == 3 else a[..., None] * col
        al *= 1 - a
        al += a

    def shape(self, box: Area, sdf: Sdf, color: np.ndarray | Shader, *, alpha: float = 1.0, aa: float = 1.2,
              outline: tuple[np.ndarray, float] | None = None) -> tuple[np.ndarray, np.ndarray, Box, np.ndarray]:
        """Fill the shape sdf(x, y) inside box; optionally stroke its edge. Returns the grid and d."""
        xs, ys, b = self.grid(box)
        if b[2] <= b[0] or b[3] <= b[1]:
            return xs, ys, b, np.zeros((0, 0), np.float32)
        d = sdf(xs, ys)
        col = color(xs, ys, d) if callable(color) else color
        if outline is not None:
            ocol, width = outline
            self.fill(b, coverage(d - width, aa) * alpha, ocol)
            self.fill(b, coverage(d, aa) * alpha, col)
        else:
            self.fill(b, coverage(d, aa) * alpha, col)
        return xs, ys, b, d


@dataclass(frozen=True)
class Placement:
    """Where a figure drawn in its own coordinates lands on the canvas.

    canvas = (ox, oy) + scale * (figure - (ax, ay)), with x mirrored about the anchor when
    flip is set. Lets one drawing of Porsuk sit at a desk, on a ledge or on a train seat.
    """

    ax: float
    ay: float
    ox: float
    oy: float
    scale: float = 1.0
    flip: bool = False

    def to_figure(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = (xs - np.float32(self.ox)) * np.float32(1 / self.scale)
        if self.flip:
            u = -u
        return u + np.float32(self.ax), (ys - np.float32(self.oy)) * np.float32(1 / self.scale) + np.float32(self.ay)

    def to_canvas(self, x: float, y: float) -> tuple[float, float]:
        u = (x - self.ax) * self.scale
        return self.ox + (-u if self.flip else u), self.oy + (y - self.ay) * self.scale

    def box(self, box: Area) -> Box:
        """A figure-space box as the canvas box that holds it."""
        x0, y0 = self.to_canvas(box[0], box[1])
        x1, y1 = self.to_canvas(box[2], box[3])
        return (int(np.floor(min(x0, x1))) - 1, int(np.floor(min(y0, y1))) - 1,
                int(np.ceil(max(x0, x1))) + 2, int(np.ceil(max(y0, y1))) + 2)


class PlacedLayer:
    """A Layer seen through a Placement: boxes, shapes and shaders work in figure coordinates.

    Distances from shapes are scaled to canvas pixels before anti-aliasing, so edges and
    outlines stay crisp at any scale; outline widths are in figure units.
    """

    def __init__(self, layer: "Layer", place: Placement):
        self.layer, self.place = layer, place

    def grid(self, box: Area) -> tuple[np.ndarray, np.ndarray, Box]:
        xs, ys, b = self.layer.grid(self.place.box(box))
        u, v = self.place.to_figure(xs, ys)
        return u, v, b

    def fill(self, box: Box, a: np.ndarray, color: np.ndarray | tuple) -> None:
        self.layer.fill(box, a, color)

    def shape(self, box: Area, sdf: Sdf, color: np.ndarray | Shader, *, alpha: float = 1.0, aa: float = 1.2,
              outline: tuple[np.ndarray, float] | None = None) -> None:
        xs, ys, b = self.grid(box)
        if b[2] <= b[0] or b[3] <= b[1]:
            return
        d = sdf(xs, ys)
        col = color(xs, ys, d) if callable(color) else color
        d = d * np.float32(self.place.scale)
        if outline is not None:
            ocol, width = outline
            self.layer.fill(b, coverage(d - width * self.place.scale, aa) * alpha, ocol)
        self.layer.fill(b, coverage(d, aa) * alpha, col)


def box_blur(img: np.ndarray, r: int) -> np.ndarray:
    """Separable box blur via cumulative sums; three passes approximate a Gaussian."""
    if r <= 0:
        return img
    out = img.astype(np.float32)
    for axis in (0, 1):
        pad = [(0, 0)] * out.ndim
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float32)
        n = out.shape[axis]
        hi = np.take(c, np.arange(2 * r + 1, 2 * r + 1 + n), axis=axis)
        lo = np.take(c, np.arange(0, n), axis=axis)
        out = ((hi - lo) / (2 * r + 1)).astype(np.float32)
    return out


def blur(img: np.ndarray, r: int) -> np.ndarray:
    for _ in range(3):
        img = box_blur(img, max(1, r // 2))
    return img


def value_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth noise in 0..1 from a coarse random grid, bilinearly upsampled."""
    gh, gw = h // cell + 2, w // cell + 2
    g = rng.random((gh, gw), dtype=np.float32)
    ys = np.arange(h, dtype=np.float32) / cell
    xs = np.arange(w, dtype=np.float32) / cell
    y0 = ys.astype(int)
    x0 = xs.astype(int)
    fy = smoothstep(0, 1, ys - y0)[:, None]
    fx = smoothstep(0, 1, xs - x0)[None, :]
    a = g[y0][:, x0]
    b = g[y0][:, x0 + 1]
    c = g[y0 + 1][:, x0]
    d = g[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
