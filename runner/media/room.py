"""The things in Porsuk's rooms: walls, windows, furniture, lamps, a fireplace, a record player.

Each piece is drawn from shapes onto the room layer at the position a composition gives it,
in the palette's colours as they read at the scene's time of day (`Room.c`). Pieces that
the motion loop animates (a fire, a spinning record) return where they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import light
from .paint import (Box, Layer, Sdf, circle, coverage, ellipse, hex_rgb, mix, polygon, rbox, segment, shade,
                    smoothstep, value_noise)

GLASS_TINT = np.array([0.75, 0.82, 0.95], np.float32)
WOOD = np.array([0.42, 0.28, 0.2], np.float32)
PAPER = np.array([0.92, 0.9, 0.82], np.float32)
SNOW = np.array([0.93, 0.95, 1.0], np.float32)


@dataclass
class Room:
    """The room layer and what its pieces are painted with."""

    layer: Layer
    pal: dict[str, str]
    time: str
    season: str
    weather: str
    rng: np.random.Generator

    def c(self, key: str) -> np.ndarray:
        """A palette colour as it reads at this time of day."""
        col = hex_rgb(self.pal[key])
        return col if key in ("lamp", "accent") else light.room_colour(col, self.time)

    @property
    def ink(self) -> np.ndarray:
        return hex_rgb(self.pal["ink"])

    def wood(self, k: float = 0.35) -> np.ndarray:
        return mix(WOOD, self.c("wall"), k)


# ----------------------------------------------------------------------------- walls and windows

def wall(room: Room, *, planks: bool = False, logs: bool = False, tiles: bool = False) -> None:
    """Fill the layer with the wall colour, a soft texture, and optionally planks, logs or tiles."""
    lay = room.layer
    h, w = lay.h, lay.w
    col = room.c("wall")
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    tex = value_noise(room.rng, h // 2, w // 2, 6)
    sh = np.repeat(np.repeat(tex, 2, 0), 2, 1)[:h, :w]
    del tex
    sh -= 0.5
    sh *= 0.1
    sh += 0.92 - 0.08 * (ys / h)
    if planks:
        sh += 0.025 * (np.sin(xs / 9.0) > 0.6)
    if logs:
        band = (ys % 64) / 64
        sh *= 0.78 + 0.3 * np.sin(np.pi * band) ** 0.6
        col = mix(col, WOOD, 0.45)
    if tiles:
        gy, gx = ys % 46, (xs + 23 * ((ys // 46) % 2)) % 92
        sh *= 1 - 0.12 * ((gy < 3) | (gx < 3))
    for ch in range(3):  # channel by channel: no full-size (h, w, 3) temporaries
        np.multiply(sh, col[ch], out=lay.rgb[..., ch])
    lay.alpha[:] = 1.0


def cut(room: Room, box: Box, sdf: Sdf | None = None) -> None:
    """Open the wall over box (or where sdf < 0 inside it): the view shows through there."""
    x0, y0, x1, y1 = box
    if sdf is None:
        room.layer.rgb[y0:y1, x0:x1] = 0
        room.layer.alpha[y0:y1, x0:x1] = 0
        return
    xs, ys, b = room.layer.grid(box)
    keep = 1 - coverage(sdf(xs, ys), 1.2)
    room.layer.rgb[b[1]:b[3], b[0]:b[2]] *= keep[..., None]
    room.layer.alpha[b[1]:b[3], b[0]:b[2]] *= keep


def window(room: Room, outer: Box, glass: Box, *, mullions_x: tuple[float, ...] = (), mullions_y: tuple[float, ...] = (),
           radius: float = 6, sill: bool = True) -> None:
    """A framed window over glass: frame, bevel, mullions, sheen, drops or frost, and a sill."""
    lay, ink = room.layer, room.ink
    frame = mix(room.c("frame"), room.c("wall"), 0.35)
    hi = shade(mix(frame, room.c("lamp"), 0.12), 1.5)
    x0, y0, x1, y1 = outer
    gx0, gy0, gx1, gy1 = glass
    gr = max(2.0, radius - 4)
    outer_sdf = lambda a, b: rbox(a, b, (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, radius)
    inner = lambda a, b: rbox(a, b, (gx0 + gx1) / 2, (gy0 + gy1) / 2, (gx1 - gx0) / 2, (gy1 - gy0) / 2, gr)
    cut(room, glass, inner)
    lay.shape((x0 - 4, y0 - 4, x1 + 4, y1 + 4), lambda a, b: np.maximum(outer_sdf(a, b), -inner(a, b)), frame, outline=(ink, 2.0))
    lay.shape((gx0 - 8, gy0 - 8, gx1 + 8, gy1 + 8), lambda a, b: np.maximum(inner(a, b) - 6, -inner(a, b)), hi, alpha=0.35)
    mw = 11
    for mx in mullions_x:
        lay.shape((mx - mw - 3, gy0, mx + mw + 3, gy1), lambda a, b, mx=mx: rbox(a, b, mx, (gy0 + gy1) / 2, mw, (gy1 - gy0) / 2, 1),
                  frame, outline=(ink, 1.5))
    for my in mullions_y:
        lay.shape((gx0, my - mw - 3, gx1, my + mw + 3), lambda a, b, my=my: rbox(a, b, (gx0 + gx1) / 2, my, (gx1 - gx0) / 2, mw - 2, 1),
                  frame, outline=(ink, 1.5))
    glass_surface(room, glass, mullions_x, mullions_y)
    if sill:
        lay.shape((x0 - 40, y1 - 6, x1 + 40, y1 + 34),
                  lambda a, b: rbox(a, b, (x0 + x1) / 2, y1 + 14, (x1 - x0) / 2 + 34, 16, 4), shade(frame, 1.25), outline=(ink, 2.0))
        if room.season == "winter" and room.weather == "snow":
            lay.shape((x0 - 30, y1 - 16, x1 + 30, y1 + 2),
                      lambda a, b: ellipse(a, b, (x0 + x1) / 2, y1 - 4, (x1 - x0) / 2 + 20, 8), SNOW * 0.85)


def glass_surface(room: Room, glass: Box, mullions_x: tuple[float, ...] = (), mullions_y: tuple[float, ...] = ()) -> None:
    """What is on the glass itself: a cool sheen, raindrops when it rains, frost in winter."""
    lay, rng = room.layer, room.rng
    gx0, gy0, gx1, gy1 = glass
    xs, ys, b = lay.grid(glass)
    clear = lay.alpha[b[1]:b[3], b[0]:b[2]] < 0.5
    sheen = 0.05 + 0.05 * np.exp(-((xs - gx1 + 200 - (ys - gy0) * 0.5) / 60) ** 2)
    lay.fill(b, sheen * clear, GLASS_TINT)
    if room.weather == "rain":
        drops = np.zeros((b[3] - b[1], b[2] - b[0]), np.float32)
        n = int(260 * (gx1 - gx0) * (gy1 - gy0) / (964 * 616))
        for _ in range(max(40, n)):
            dx, dy = rng.uniform(0, b[2] - b[0]), rng.uniform(0, b[3] - b[1])
            r = rng.uniform(1.5, 4.5)
            R = int(r) + 3
            yy = np.arange(max(0, int(dy) - R), min(drops.shape[0], int(dy) + R + 1))
            xx = np.arange(max(0, int(dx) - R), min(drops.shape[1], int(dx) + R + 1))
            d = np.hypot(yy[:, None] + 0.5 - dy, xx[None, :] + 0.5 - dx)
            ring = np.clip(1 - np.abs(d - r * 0.7) / 1.2, 0, 1) * 0.5 \
                + np.clip(1 - np.hypot(yy[:, None] + 0.5 - dy + r * 0.4, xx[None, :] + 0.5 - dx + r * 0.3) / 1.2, 0, 1)
            drops[np.ix_(yy, xx)] = np.maximum(drops[np.ix_(yy, xx)], ring)
        lay.fill(b, drops * 0.35 * clear, np.array([0.85, 0.9, 1.0], np.float32))
    if room.season == "winter":
        # Frost creeping in from the corners of the panes.
        noise = 0.7 * value_noise(rng, b[3] - b[1], b[2] - b[0], 48) + 0.3 * value_noise(rng, b[3] - b[1], b[2] - b[0], 9)
        edge = np.minimum(np.minimum(xs - gx0, gx1 - xs), np.minimum(ys - gy0, gy1 - ys))
        for mx in mullions_x:
            edge = np.minimum(edge, np.abs(xs - mx) * 1.2)
        for my in mullions_y:
            edge = np.minimum(edge, np.abs(ys - my) * 1.2)
        frost = smoothstep(70, 0, edge + 70 * (noise - 0.5)) ** 1.5 * (0.4 if room.weather == "snow" else 0.22)
        lay.fill(b, frost * clear, np.array([0.85, 0.9, 1.0], np.float32))


def curtain(room: Room, x0: float, y0: float, x1: float, y1: float, side: int = -1) -> None:
    """A curtain gathered at the bottom, hung from a rod over the window (side -1 left, 1 right)."""
    lay, ink = room.layer, room.ink
    base = mix(room.c("accent"), room.c("wall"), 0.55)
    if side < 0:
        cx0, cx1 = x0 - 90, x0 + 95
        xs, ys, b = lay.grid((cx0 - 10, y0 - 50, cx1 + 30, y1 + 60))
        edge = cx1 - 40 * np.clip((ys - y0) / (y1 - y0), 0, 1) ** 2
        d = np.maximum(cx0 - xs, xs - edge)
    else:
        cx0, cx1 = x1 - 95, x1 + 90
        xs, ys, b = lay.grid((cx0 - 30, y0 - 50, cx1 + 10, y1 + 60))
        edge = cx0 + 40 * np.clip((ys - y0) / (y1 - y0), 0, 1) ** 2
        d = np.maximum(edge - xs, xs - cx1)
    d = np.maximum(d, np.maximum(y0 - 40 - ys, ys - (y1 + 50)))
    folds = 0.82 + 0.18 * np.sin((xs - cx0) / 11.0 + 0.7 * np.sin(ys / 90.0))
    lay.fill(b, coverage(d, 1.2), base * folds[..., None])
    lay.shape((x0 - 130, y0 - 60, x1 + 130, y0 - 30), lambda a, b: segment(a, b, x0 - 120, y0 - 44, x1 + 120, y0 - 44, 5),
              shade(room.c("frame"), 1.6), outline=(ink, 1.5))


def string_lights(room: Room, x0: float, y0: float, x1: float, sag: float, lights: list, n: int = 11) -> None:
    """A sagging string of bulbs from (x0, y0) to (x1, y0); each bulb twinkles in the loop."""
    lay, ink = room.layer, room.ink
    xs, ys, b = lay.grid((x0, y0 - 10, x1, y0 + sag + 30))
    tt = (xs - x0) / (x1 - x0)
    curve = y0 + 6 + sag * 4 * tt * (1 - tt)
    lay.fill(b, np.clip(1.3 - np.abs(ys - curve), 0, 1) * ((xs >= x0) & (xs <= x1)), ink)
    cols = [room.c("lamp"), room.c("accent"), np.array([1.0, 0.85, 0.5], np.float32)]
    for i in range(1, n):
        t = i / n
        px, py = x0 + t * (x1 - x0), y0 + 6 + sag * 4 * t * (1 - t) + 7
        c = cols[i % len(cols)]
        lay.shape((px - 8, py - 8, px + 8, py + 10), lambda a, b, px=px, py=py: ellipse(a, b, px, py, 4.5, 6.5), c)
        lights.append((px, py, c * 0.6, 7.0))


# ----------------------------------------------------------------------------- furniture

def shelf(room: Room, y: float, x0: float, x1: float, *, tall: float = 1.0) -> None:
    """A wall shelf of books (and the odd gap) standing on a plank at y."""
    lay, rng, ink = room.layer, room.rng, room.ink
    palette = [room.c("accent"), room.c("lamp"), room.c("sky2"), mix(room.c("accent"), room.c("wall"), 0.5),
               np.array([0.75, 0.7, 0.62], np.float32), shade(room.c("sky2"), 1.4)]
    x = x0 + 14
    while x < x1 - 40:
        if rng.random() < 0.12:
            x += rng.uniform(30, 60)
            continue
        bw, bh = rng.uniform(16, 30), rng.uniform(70, 120) * tall
        lean = rng.uniform(-0.12, 0.12) if rng.random() < 0.15 else 0.0
        c = shade(palette[int(rng.integers(len(palette)))], rng.uniform(0.55, 0.85))
        pts = [(x, y), (x + bw, y), (x + bw + lean * bh, y - bh), (x + lean * bh, y - bh)]
        lay.shape((x - 20, y - bh - 4, x + bw + 20, y + 1), lambda a, b, p=pts: polygon(a, b, p), c, outline=(ink, 1.5))
        lay.shape((x, y - bh * 0.8, x + bw, y - bh * 0.7),
                  lambda a, b, x=x, bw=bw, bh=bh: rbox(a, b, x + bw / 2, y - bh * 0.75, bw * 0.3, 2, 1), shade(c, 1.5), alpha=0.6)
        x += bw + rng.uniform(1, 4)
    wood = mix(room.c("frame"), np.array([0.45, 0.3, 0.2], np.float32), 0.45)
    lay.shape((x0 - 4, y - 4, x1 + 4, y + 18), lambda a, b: rbox(a, b, (x0 + x1) / 2, y + 7, (x1 - x0) / 2, 8, 2), wood,
              outline=(ink, 1.5))


def bookcase(room: Room, x0: float, x1: float, top: float, bottom: float, rows: int) -> None:
    """A tall bookcase: a frame and rows of shelves, full of books."""
    lay, ink = room.layer, room.ink
    wood = shade(room.wood(0.3), 0.8)
    lay.shape((x0 - 2, top - 2, x1 + 2, bottom + 2), lambda a, b: rbox(a, b, (x0 + x1) / 2, (top + bottom) / 2, (x1 - x0) / 2, (bottom - top) / 2, 3),
              shade(wood, 0.55), outline=(ink, 2))
    step = (bottom - top) / rows
    for r in range(rows):
        shelf(room, top + step * (r + 1) - 14, x0 + 14, x1 - 14, tall=min(1.0, (step - 30) / 120))
    for x in (x0 + 7, x1 - 7):
        lay.shape((x - 9, top, x + 9, bottom), lambda a, b, x=x: rbox(a, b, x, (top + bottom) / 2, 8, (bottom - top) / 2, 2), wood,
                  outline=(ink, 1.5))


def plant(room: Room, x: float, y: float, s: float, *, flowers: bool = False) -> None:
    """A potted plant standing at (x, y); in spring it flowers."""
    lay, rng, ink = room.layer, room.rng, room.ink
    pot = mix(np.array([0.7, 0.4, 0.3], np.float32), room.c("accent"), 0.3) * 0.8
    leaf = mix(np.array([0.28, 0.5, 0.32], np.float32), room.c("sky2"), 0.2)
    tips = []
    for _ in range(9):
        ang = -math.pi / 2 + rng.uniform(-1.2, 1.2)
        ln = s * rng.uniform(0.9, 1.7)
        ex, ey = x + math.cos(ang) * ln, y - s * 0.6 + math.sin(ang) * ln
        mx_, my_ = (x + ex) / 2, (y - s * 0.6 + ey) / 2
        tips.append((ex, ey))
        lay.shape((min(x, ex) - s, min(y, ey) - s, max(x, ex) + s, max(y, ey) + s),
                  lambda a, b, mx_=mx_, my_=my_, ang=ang, ln=ln: ellipse(a, b, mx_, my_, ln / 2, s * 0.22, ang),
                  shade(leaf, rng.uniform(0.8, 1.25)), outline=(ink, 1.2))
    if flowers:
        petal = mix(np.array([0.98, 0.72, 0.8], np.float32), room.c("accent"), 0.25)
        for ex, ey in tips[::2]:
            lay.shape((ex - 12, ey - 12, ex + 12, ey + 12), lambda a, b, ex=ex, ey=ey: circle(a, b, ex, ey, s * 0.16), petal,
                      outline=(ink, 1.0))
            lay.shape((ex - 5, ey - 5, ex + 5, ey + 5), lambda a, b, ex=ex, ey=ey: circle(a, b, ex, ey, s * 0.06),
                      np.array([1.0, 0.85, 0.4], np.float32))
    lay.shape((x - s, y - s * 0.8, x + s, y + s * 0.6),
              lambda a, b: polygon(a, b, [(x - s * 0.7, y - s * 0.7), (x + s * 0.7, y - s * 0.7), (x + s * 0.5, y + s * 0.5),
                                          (x - s * 0.5, y + s * 0.5)]), pot, outline=(ink, 1.5))


def desk(room: Room, y: float, depth: float = 96, *, x0: float = 0, x1: float | None = None, drawers: bool = True,
         colour: np.ndarray | None = None) -> None:
    """A wooden desk or table top from y down to the frame's bottom, its front below y + depth."""
    lay, rng, ink = room.layer, room.rng, room.ink
    x1 = lay.w if x1 is None else x1
    wood = room.wood() if colour is None else colour
    xs, ys, b = lay.grid((x0, y, x1, lay.h))
    grain = value_noise(rng, 8, 400, 4)
    g = grain[np.clip(((ys - y) / 40).astype(int), 0, 7), np.clip((xs / 5).astype(int), 0, 399)]
    top = ys < y + depth
    k = np.where(top, 1.0 + 0.12 * (ys - y) / depth, 0.6 - 0.12 * (ys - y - depth) / max(1.0, lay.h - y)) * (0.93 + 0.14 * g)
    lay.fill(b, np.ones(k.shape, np.float32), wood * k[..., None])
    lay.shape((x0, y - 3, x1, y + 3), lambda a, b: np.abs(b - y) - 1.2, ink)
    lay.shape((x0, y + depth - 3, x1, y + depth + 3), lambda a, b: np.abs(b - y - depth) - 1.6, ink)
    front = y + depth
    if drawers:
        knob = mix(np.array([0.75, 0.6, 0.35], np.float32), room.c("lamp"), 0.3)
        for cx in (x0 + (x1 - x0) * 0.17, x0 + (x1 - x0) * 0.83):
            lay.shape((cx - 250, front + 20, cx + 250, front + 150),
                      lambda a, b, cx=cx: np.abs(rbox(a, b, cx, front + 82, 230, 52, 6)) - 1.4, ink, alpha=0.55)
            lay.shape((cx - 20, front + 70, cx + 20, front + 96), lambda a, b, cx=cx: ellipse(a, b, cx, front + 82, 13, 8),
                      knob, outline=(ink, 1.5))
    xs, ys, b = lay.grid((x0, front, x1, front + 40))
    lay.fill(b, 0.35 * np.exp(-(ys - front) / 12) * np.ones_like(xs), ink)


def desk_lamp(room: Room, bx: float, by: float) -> tuple[float, float]:
    """An angled desk lamp standing at (bx, by), its shade tipped to the left; returns the bulb."""
    lay, ink = room.layer, room.ink
    body = mix(room.c("accent"), room.c("frame"), 0.45)
    dx, dy = bx - 1590, by - 834  # drawn about its original spot, moved to (bx, by)
    lay.shape((bx - 80, by - 25, bx + 80, by + 25), lambda a, b: ellipse(a, b, bx, by, 70, 16), shade(body, 0.9), outline=(ink, 2))
    j1, j2 = (1640 + dx, 600 + dy), (1520 + dx, 455 + dy)
    lay.shape((1500 + dx, 440 + dy, 1660 + dx, by), lambda a, b: segment(a, b, bx, by - 6, *j1, 7), body, outline=(ink, 2))
    lay.shape((1500 + dx, 440 + dy, 1660 + dx, 620 + dy), lambda a, b: segment(a, b, *j1, *j2, 7), body, outline=(ink, 2))
    lay.shape((1625 + dx, 585 + dy, 1655 + dx, 615 + dy), lambda a, b: circle(a, b, *j1, 10), shade(body, 1.2), outline=(ink, 2))
    pts = [(1490 + dx, 420 + dy), (1555 + dx, 450 + dy), (1480 + dx, 560 + dy), (1375 + dx, 505 + dy)]
    lay.shape((1360 + dx, 400 + dy, 1570 + dx, 575 + dy), lambda a, b: polygon(a, b, pts), body, outline=(ink, 2.2))
    lay.shape((1360 + dx, 490 + dy, 1500 + dx, 575 + dy), lambda a, b: ellipse(a, b, 1428 + dx, 533 + dy, 60, 16, math.radians(27)),
              shade(room.c("lamp"), 1.1), outline=(ink, 1.5))
    return 1425.0 + dx, 545.0 + dy


def pendant(room: Room, x: float, y: float, ceiling: float = 0) -> tuple[float, float]:
    """A pendant lamp hanging from the ceiling on a cord, its dome's rim at y; returns the bulb."""
    lay, ink = room.layer, room.ink
    body = mix(room.c("accent"), room.c("frame"), 0.35)
    lay.shape((x - 3, ceiling, x + 3, y - 60), lambda a, b: segment(a, b, x, ceiling - 5, x, y - 60, 1.4), ink)
    lay.shape((x - 80, y - 75, x + 80, y + 4), lambda a, b: np.maximum(ellipse(a, b, x, y, 72, 68), b - y), body, outline=(ink, 2.2))
    lay.shape((x - 40, y - 6, x + 40, y + 26), lambda a, b: ellipse(a, b, x, y + 6, 26, 16), shade(room.c("lamp"), 1.15),
              outline=(ink, 1.5))
    return x, y + 10


def banker_lamp(room: Room, x: float, y: float) -> tuple[float, float]:
    """A green-shaded banker's lamp standing on a desk at (x, y); returns the bulb."""
    lay, ink = room.layer, room.ink
    brass = mix(np.array([0.75, 0.6, 0.35], np.float32), room.c("lamp"), 0.25)
    green = mix(np.array([0.16, 0.42, 0.3], np.float32), room.c("accent"), 0.15)
    lay.shape((x - 60, y - 20, x + 60, y + 6), lambda a, b: ellipse(a, b, x, y - 6, 52, 12), brass, outline=(ink, 2))
    lay.shape((x - 8, y - 120, x + 8, y - 6), lambda a, b: segment(a, b, x, y - 10, x, y - 110, 5), brass, outline=(ink, 1.6))
    shade_pts = [(x - 95, y - 112), (x + 95, y - 112), (x + 70, y - 160), (x - 70, y - 160)]
    lay.shape((x - 100, y - 166, x + 100, y - 104), lambda a, b: polygon(a, b, shade_pts) - 4, green, outline=(ink, 2.2))
    lay.shape((x - 90, y - 118, x + 90, y - 100), lambda a, b: ellipse(a, b, x, y - 110, 84, 6), shade(room.c("lamp"), 1.1))
    return x, y - 100


def lantern(room: Room, x: float, y: float, s: float = 1.0) -> tuple[float, float]:
    """A small glass lantern standing at (x, y); returns its flame."""
    lay, ink = room.layer, room.ink
    metal = mix(room.c("frame"), np.array([0.3, 0.3, 0.32], np.float32), 0.5)
    glow = shade(room.c("lamp"), 1.1)
    lay.shape((x - 40 * s, y - 110 * s, x + 40 * s, y + 2), lambda a, b: rbox(a, b, x, y - 52 * s, 30 * s, 50 * s, 6 * s), metal,
              outline=(ink, 2))
    lay.shape((x - 30 * s, y - 96 * s, x + 30 * s, y - 10 * s), lambda a, b: rbox(a, b, x, y - 52 * s, 22 * s, 38 * s, 4 * s),
              mix(glow, room.c("wall"), 0.3))
    lay.shape((x - 12 * s, y - 80 * s, x + 12 * s, y - 30 * s), lambda a, b: ellipse(a, b, x, y - 50 * s, 7 * s, 16 * s), glow)
    lay.shape((x - 20 * s, y - 140 * s, x + 20 * s, y - 100 * s),
              lambda a, b: np.abs(circle(a, b, x, y - 112 * s, 14 * s)) - 3 * s, metal, outline=(ink, 1.2))
    return x, y - 50 * s


def books(room: Room, x: float, y: float) -> None:
    """A small stack of books lying at (x, y)."""
    lay, rng, ink = room.layer, room.rng, room.ink
    cols = [room.c("accent"), mix(room.c("lamp"), room.c("frame"), 0.4), room.c("sky2"),
            mix(room.c("accent"), np.array([0.9, 0.9, 0.85], np.float32), 0.4)]
    yy = y
    for _ in range(int(rng.integers(2, 5))):
        bw, bh, off = rng.uniform(120, 170), rng.uniform(18, 28), rng.uniform(-14, 14)
        c = shade(cols[int(rng.integers(len(cols)))], rng.uniform(0.6, 0.9))
        lay.shape((x + off - bw / 2 - 4, yy - bh - 4, x + off + bw / 2 + 4, yy + 4),
                  lambda a, b, o=off, bw=bw, bh=bh, yy=yy: rbox(a, b, x + o, yy - bh / 2, bw / 2, bh / 2, 3), c, outline=(ink, 1.6))
        lay.shape((x + off - bw / 2 + 8, yy - bh * 0.75, x + off + bw / 2 - 2, yy - bh * 0.25),
                  lambda a, b, o=off, bw=bw, bh=bh, yy=yy: rbox(a, b, x + o + 3, yy - bh / 2, bw / 2 - 10, bh * 0.22, 1),
                  PAPER, alpha=0.85)
        yy -= bh


def cassette(room: Room, x: float, y: float) -> None:
    lay, ink = room.layer, room.ink
    c = mix(room.c("sky2"), np.array([0.85, 0.85, 0.8], np.float32), 0.3)
    lay.shape((x - 70, y - 50, x + 70, y + 4), lambda a, b: rbox(a, b, x, y - 23, 64, 22, 5), c, outline=(ink, 2))
    lay.shape((x - 50, y - 40, x + 50, y - 10), lambda a, b: rbox(a, b, x, y - 26, 42, 11, 4), np.array([0.95, 0.9, 0.78], np.float32))
    for cx in (x - 22, x + 22):
        lay.shape((cx - 9, y - 35, cx + 9, y - 17), lambda a, b, cx=cx: np.abs(circle(a, b, cx, y - 26, 6)) - 2, ink)


def radio(room: Room, x: float, y: float) -> None:
    """A small transistor radio standing at (x, y)."""
    lay, ink = room.layer, room.ink
    body = mix(room.c("accent"), np.array([0.85, 0.8, 0.7], np.float32), 0.45)
    lay.shape((x - 80, y - 100, x + 80, y + 4), lambda a, b: rbox(a, b, x, y - 48, 72, 48, 14), body, outline=(ink, 2.2))
    xs, ys, b = lay.grid((x - 66, y - 84, x - 2, y - 14))
    grille = (np.sin(xs * 0.9) > 0.3) * coverage(rbox(xs, ys, x - 34, y - 49, 28, 30, 6), 1.2)
    lay.fill(b, grille * 0.6, shade(body, 0.45))
    lay.shape((x + 14, y - 80, x + 60, y - 40), lambda a, b: circle(a, b, x + 36, y - 60, 16), shade(body, 0.7), outline=(ink, 1.6))
    lay.shape((x + 40, y - 180, x + 60, y - 96), lambda a, b: segment(a, b, x + 50, y - 98, x + 70, y - 175, 1.8), ink)


# ----------------------------------------------------------------------------- bigger pieces

def fireplace(room: Room, x0: float, x1: float, top: float, floor: float) -> Box:
    """A stone fireplace with a mantel; returns the firebox (where the loop animates flames)."""
    lay, rng, ink = room.layer, room.rng, room.ink
    stone = mix(np.array([0.55, 0.52, 0.5], np.float32), room.c("wall"), 0.45)
    cx = (x0 + x1) / 2
    lay.shape((x0 - 2, top - 2, x1 + 2, floor + 2),
              lambda a, b: rbox(a, b, cx, (top + floor) / 2, (x1 - x0) / 2, (floor - top) / 2, 4), stone, outline=(ink, 2.2))
    # Stones: rounded blocks in courses.
    y = top + 8
    while y < floor - 10:
        x = x0 + 6 + rng.uniform(-20, 0)
        hh = rng.uniform(34, 48)
        while x < x1 - 6:
            ww = rng.uniform(50, 95)
            sx0, sx1 = max(x, x0 + 6), min(x + ww, x1 - 6)
            if sx1 - sx0 > 14:
                lay.shape((sx0, y, sx1, y + hh), lambda a, b, sx0=sx0, sx1=sx1, y=y, hh=hh: rbox(a, b, (sx0 + sx1) / 2, y + hh / 2, (sx1 - sx0) / 2 - 3, hh / 2 - 3, 9),
                          shade(stone, rng.uniform(0.82, 1.12)), outline=(shade(stone, 0.5), 1.2))
            x += ww
        y += hh
    # The opening and its dark back.
    ox0, ox1, otop = x0 + (x1 - x0) * 0.2, x1 - (x1 - x0) * 0.2, top + (floor - top) * 0.38
    arch = lambda a, b: np.minimum(rbox(a, b, cx, (otop + 60 + floor) / 2, (ox1 - ox0) / 2, (floor - otop - 60) / 2, 2),
                                   ellipse(a, b, cx, otop + 60, (ox1 - ox0) / 2, 60))
    lay.shape((ox0 - 4, otop - 4, ox1 + 4, floor), lambda a, b: np.maximum(arch(a, b), b - floor + 2), np.array([0.06, 0.04, 0.04], np.float32),
              outline=(ink, 2.6))
    # Logs.
    bark = np.array([0.32, 0.2, 0.13], np.float32)
    for lx0, lx1, ly in ((ox0 + 20, ox1 - 40, floor - 26), (ox0 + 50, ox1 - 14, floor - 44)):
        lay.shape((lx0 - 20, ly - 20, lx1 + 20, ly + 20), lambda a, b, lx0=lx0, lx1=lx1, ly=ly: segment(a, b, lx0, ly, lx1, ly - 6, 14),
                  bark, outline=(ink, 1.8))
    # The mantel.
    mantel = shade(room.wood(0.25), 0.9)
    lay.shape((x0 - 40, top - 24, x1 + 40, top + 16), lambda a, b: rbox(a, b, cx, top - 4, (x1 - x0) / 2 + 34, 16, 3), mantel,
              outline=(ink, 2))
    return (int(ox0 + 10), int(otop + 40), int(ox1 - 10), int(floor - 10))


def record_player(room: Room, x: float, y: float) -> tuple[float, float, float]:
    """A turntable on top of a cabinet at (x, y); returns the record's centre and radius (for the spin)."""
    lay, ink = room.layer, room.ink
    wood = room.wood(0.3)
    lay.shape((x - 230, y - 2, x + 230, lay.h), lambda a, b: rbox(a, b, x, (y + lay.h) / 2 + 20, 220, (lay.h - y) / 2 + 20, 6),
              shade(wood, 0.8), outline=(ink, 2.2))
    lay.shape((x - 190, y + 40, x + 190, y + 200), lambda a, b: np.abs(rbox(a, b, x, y + 120, 170, 66, 6)) - 1.4, ink, alpha=0.5)
    # The deck seen slightly from above: a slab, a platter, the record and the arm.
    lay.shape((x - 200, y - 80, x + 200, y + 6), lambda a, b: rbox(a, b, x, y - 34, 190, 34, 8), mix(wood, room.c("frame"), 0.3),
              outline=(ink, 2))
    rx, ry, rr = x - 40, y - 40, 120
    lay.shape((rx - rr - 6, ry - 40, rx + rr + 6, ry + 36), lambda a, b: ellipse(a, b, rx, ry, rr, 28), np.array([0.07, 0.07, 0.08], np.float32),
              outline=(ink, 1.5))
    xs, ys, b = lay.grid((rx - rr, ry - 30, rx + rr, ry + 30))
    groove = np.clip(np.sin(np.hypot(xs - rx, (ys - ry) * rr / 28) * 0.5) * 0.5 + 0.5, 0, 1) * coverage(ellipse(xs, ys, rx, ry, rr - 8, 24), 1)
    lay.fill(b, groove * 0.25, np.array([0.25, 0.25, 0.28], np.float32))
    lay.shape((rx - 40, ry - 14, rx + 40, ry + 14), lambda a, b: ellipse(a, b, rx, ry, 34, 9), room.c("accent"))
    arm = mix(np.array([0.8, 0.8, 0.82], np.float32), room.c("lamp"), 0.2)
    lay.shape((x + 110, y - 90, x + 190, y - 20), lambda a, b: circle(a, b, x + 150, y - 52, 14), shade(arm, 0.8), outline=(ink, 1.5))
    lay.shape((x + 20, y - 60, x + 160, y - 20), lambda a, b: segment(a, b, x + 150, y - 52, x + 40, y - 34, 3.5), arm, outline=(ink, 1.2))
    return rx, ry, rr


def bed(room: Room, y: float, x0: float, x1: float) -> None:
    """A bed seen from its side: a quilted duvet from y down, pillows at the left."""
    lay, ink = room.layer, room.ink
    duvet = mix(room.c("accent"), np.array([0.9, 0.88, 0.85], np.float32), 0.45)
    xs, ys, b = lay.grid((x0, y - 20, x1, lay.h))
    d = rbox(xs, ys, (x0 + x1) / 2, (y + lay.h) / 2 + 40, (x1 - x0) / 2, (lay.h - y) / 2 + 40, 40)
    quilt = 0.9 + 0.08 * np.sin(xs / 40.0) * np.sin(ys / 40.0) + 0.06 * np.clip((ys - y) / 200, 0, 1)
    lay.fill(b, coverage(d - 2.4, 1.2), ink)
    lay.fill(b, coverage(d, 1.2), duvet * quilt[..., None])
    for px in (x0 + 150, x0 + 330):
        lay.shape((px - 110, y - 80, px + 110, y + 30), lambda a, b, px=px: ellipse(a, b, px, y - 22, 96, 46), PAPER * 0.95,
                  outline=(ink, 2))


def poster(room: Room, x: float, y: float, w: float, h: float) -> None:
    """A poster of simple shapes (a sun over hills) taped to the wall."""
    lay, ink = room.layer, room.ink
    paper = mix(PAPER, room.c("accent"), 0.2)
    lay.shape((x - 4, y - 4, x + w + 4, y + h + 4), lambda a, b: rbox(a, b, x + w / 2, y + h / 2, w / 2, h / 2, 2), paper,
              outline=(ink, 1.8))
    lay.shape((x, y, x + w, y + h), lambda a, b: circle(a, b, x + w * 0.6, y + h * 0.4, w * 0.18), room.c("accent"))
    lay.shape((x, y, x + w, y + h), lambda a, b: np.maximum(ellipse(a, b, x + w * 0.35, y + h * 0.95, w * 0.6, h * 0.35), b - (y + h - 8)),
              mix(room.c("sky2"), ink, 0.2))
    for tx in (x + 8, x + w - 8):
        lay.shape((tx - 8, y - 8, tx + 8, y + 8), lambda a, b, tx=tx: rbox(a, b, tx, y, 7, 5, 1), PAPER * 0.9, alpha=0.7)


def chalkboard(room: Room, x: float, y: float, w: float, h: float) -> None:
    """A café's chalkboard menu: a framed dark board with chalk lines."""
    lay, rng, ink = room.layer, room.rng, room.ink
    lay.shape((x - 12, y - 12, x + w + 12, y + h + 12), lambda a, b: rbox(a, b, x + w / 2, y + h / 2, w / 2 + 8, h / 2 + 8, 4),
              room.wood(0.3), outline=(ink, 2))
    lay.shape((x, y, x + w, y + h), lambda a, b: rbox(a, b, x + w / 2, y + h / 2, w / 2, h / 2, 2), np.array([0.14, 0.17, 0.16], np.float32))
    chalk = np.array([0.85, 0.85, 0.8], np.float32)
    lay.shape((x + 20, y + 20, x + w - 20, y + 60), lambda a, b: segment(a, b, x + w * 0.25, y + 40, x + w * 0.75, y + 40, 3), chalk, alpha=0.8)
    for k in range(int((h - 90) // 34)):
        yy = y + 90 + k * 34
        ln = rng.uniform(0.4, 0.65) * w
        lay.shape((x + 20, yy - 4, x + w - 20, yy + 4), lambda a, b, yy=yy, ln=ln: segment(a, b, x + 26, yy, x + 26 + ln, yy, 1.6), chalk, alpha=0.6)
        lay.shape((x + w - 70, yy - 4, x + w - 20, yy + 4), lambda a, b, yy=yy: segment(a, b, x + w - 60, yy, x + w - 30, yy, 1.6), chalk, alpha=0.6)


def croissant(room: Room, x: float, y: float) -> None:
    """A croissant on a small plate at (x, y)."""
    lay, ink = room.layer, room.ink
    lay.shape((x - 90, y - 20, x + 90, y + 12), lambda a, b: ellipse(a, b, x, y - 4, 80, 14), PAPER, outline=(ink, 1.8))
    pastry = np.array([0.85, 0.58, 0.3], np.float32)
    for k, (dx, r) in enumerate(((-40, 18), (-18, 24), (8, 26), (32, 22), (52, 16))):
        lay.shape((x + dx - r - 3, y - 50, x + dx + r + 3, y), lambda a, b, dx=dx, r=r, k=k: ellipse(a, b, x + dx, y - 20 - 6 * (k in (1, 2, 3)), r, r * 0.8),
                  shade(pastry, 0.9 + 0.08 * (k % 2)), outline=(ink, 1.6))


def parapet(room: Room, y: float) -> None:
    """A brick roof ledge across the frame from y down, with a coping stone on top."""
    lay, ink = room.layer, room.ink
    brick = mix(np.array([0.55, 0.3, 0.24], np.float32), room.c("wall"), 0.45)
    xs, ys, b = lay.grid((0, y, lay.w, lay.h))
    row = ((ys - y) // 44).astype(int)
    gx = (xs + 55 * (row % 2)) % 110
    gy = (ys - y) % 44
    mortar = ((gx < 4) | (gy < 4)).astype(np.float32)
    k = 0.85 + 0.12 * np.sin(xs * 0.37 + row * 1.7) * np.cos(row * 2.3)
    col = brick * k[..., None] * (1 - 0.35 * mortar[..., None])
    col = col * (1 - 0.35 * np.clip((ys - y) / 300, 0, 1))[..., None]
    lay.fill(b, np.ones(col.shape[:2], np.float32), col)
    cap = shade(mix(np.array([0.7, 0.68, 0.65], np.float32), room.c("wall"), 0.4), 1.0)
    lay.shape((0, y - 26, lay.w, y + 14), lambda a, b: rbox(a, b, lay.w / 2, y - 6, lay.w / 2 + 10, 18, 3), cap, outline=(ink, 2.2))
    if room.season == "winter":
        lay.shape((0, y - 36, lay.w, y - 16), lambda a, b: rbox(a, b, lay.w / 2, y - 24, lay.w / 2 + 10, 8, 6), SNOW * 0.85)


def train_seat(room: Room, x0: float, x1: float, top: float, seat_y: float) -> None:
    """An upholstered seat back with a head cover, seen from the aisle."""
    lay, ink = room.layer, room.ink
    cloth = mix(room.c("accent"), room.c("wall"), 0.5)
    xs, ys, b = lay.grid((x0, top, x1, lay.h))
    d = rbox(xs, ys, (x0 + x1) / 2, (top + lay.h) / 2 + 30, (x1 - x0) / 2, (lay.h - top) / 2 + 30, 36)
    pattern = 0.9 + 0.08 * (np.sin(xs / 14.0) * np.sin(ys / 14.0) > 0.3)
    lay.fill(b, coverage(d - 2.4, 1.2), ink)
    lay.fill(b, coverage(d, 1.2), cloth * pattern[..., None])
    lay.shape((x0 + 20, top + 14, x1 - 20, top + 110), lambda a, b: rbox(a, b, (x0 + x1) / 2, top + 60, (x1 - x0) / 2 - 30, 42, 12),
              mix(PAPER, cloth, 0.55), outline=(ink, 1.6))


def luggage_rack(room: Room, x0: float, x1: float, y: float) -> None:
    lay, ink = room.layer, room.ink
    metal = mix(np.array([0.7, 0.7, 0.72], np.float32), room.c("lamp"), 0.2)
    for dy in (0, 26):
        lay.shape((x0, y + dy - 6, x1, y + dy + 6), lambda a, b, dy=dy: segment(a, b, x0, y + dy, x1, y + dy, 3.5), metal, outline=(ink, 1.2))
    for x in np.linspace(x0 + 30, x1 - 30, 6):
        lay.shape((x - 5, y - 40, x + 5, y + 30), lambda a, b, x=x: segment(a, b, x, y - 36, x, y + 26, 2.5), metal, outline=(ink, 1))


def rug(room: Room, x: float, y: float, rx: float, ry: float) -> None:
    lay, ink = room.layer, room.ink
    col = mix(room.c("accent"), room.c("wall"), 0.35)
    lay.shape((x - rx - 4, y - ry - 4, x + rx + 4, y + ry + 4),
              lambda a, b: ellipse(a, b, x, y, rx, ry),
              lambda a, b, d: col * (0.85 + 0.15 * (np.sin(np.hypot((a - x) / rx, (b - y) / ry) * 18) > 0))[..., None],
              outline=(ink, 2))
