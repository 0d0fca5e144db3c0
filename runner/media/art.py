"""The local cover art: Porsuk, the headphone-wearing night-owl cat, at a rainy or snowy window.

Everything is drawn from the variation: its palette colours the room and the sky, its scene
picks the view out of the window, its pose changes what the cat does, its weather brings
rain or snow, and its seed places every building, star, book and raindrop. The same
variation gives the same picture to the byte.

`build_scene` returns the still plus the pieces the motion loop animates (the glass the rain
shows through, the lamp's light, the tail), so the loop's first frame is the artwork.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import memory, png, weather as wx
from .paint import (Box, Layer, blur, circle, coverage, ellipse, hex_rgb, mix, polygon, rbox,
                    segment, smooth_union, smoothstep, value_noise)

memory.tune()  # big numpy buffers go back to the system when freed (see memory.py)

W, H = 1920, 1080
THUMB_W, THUMB_H = 1280, 720
THUMB_MAX_BYTES = 2 * 1024 * 1024

# The window: outer frame and glass.
WIN = (170, 70, 1190, 742)
GLASS = (198, 98, 1162, 714)
MULLION_X = 680
MULLION_Y = 330
DESK_Y = 812
DESK_DEPTH = 96
CAT_X = 1010


@dataclass
class Tail:
    """What the motion loop needs to redraw the tail at another swing angle."""

    box: Box
    under: np.ndarray           # lit image under the tail in box (before bloom / vignette / grain)
    finish_add: np.ndarray      # bloom in box
    vig: np.ndarray             # vignette in box
    grain: np.ndarray           # grain in box
    draw: Callable[[Layer, float], None] = field(repr=False)


@dataclass
class Scene:
    still: np.ndarray                  # (H, W, 3) uint8, the artwork
    base: np.ndarray                   # (H, W, 3) float32 final colour without rain, motes or tail swing
    glass_box: Box
    rain_gain: np.ndarray              # (h, w) in glass_box: how much precipitation shows through
    rain_color: np.ndarray
    precip: list[wx.PrecipLayer]
    lamp_box: Box
    lamp_contrib: np.ndarray           # (h, w, 3) in lamp_box: what the lamp adds (for its flicker)
    lamp_xy: tuple[float, float]
    lamp_color: np.ndarray
    tail: Tail | None
    tint: np.ndarray                   # the grade's tint (see grade())
    accent: np.ndarray
    cup_xy: tuple[float, float]        # where floating notes leave the headphones
    blink: tuple[Box, np.ndarray] | None  # closed-eye patch (final colour) for a blink
    steam_xy: tuple[float, float] | None
    notes: bool                        # float little music notes (eyes-closed poses)
    lights: list[tuple[float, float, np.ndarray, float]]  # twinkling points: x, y, colour, size
    seed: int
    weather: str
    active_box: Box | None = None      # where anything moves (None: the window, lamp and desk)


# ----------------------------------------------------------------------------- helpers

def _col(pal: dict[str, str], key: str) -> np.ndarray:
    return hex_rgb(pal[key])


def _shade(c: np.ndarray, k: float) -> np.ndarray:
    return np.clip(np.asarray(c, np.float32) * k, 0, 1).astype(np.float32)


def _rot(xs: np.ndarray, ys: np.ndarray, px: float, py: float, ang: float) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates rotated about (px, py): shapes drawn in them appear rotated by -ang."""
    if not ang:
        return xs, ys
    c, s = math.cos(ang), math.sin(ang)
    dx, dy = xs - px, ys - py
    return px + dx * c - dy * s, py + dx * s + dy * c


# ----------------------------------------------------------------------------- outside

def _sky(pal: dict[str, str], rng: np.random.Generator, weather: str) -> Layer:
    """The view is only ever seen through the glass, so it is painted on a glass-sized crop."""
    top, bottom = _col(pal, "sky"), _col(pal, "sky2")
    x0, y0, x1, y1 = GLASS
    h, w = y1 - y0, x1 - x0
    t = (np.arange(h, dtype=np.float32) / h)[:, None, None] ** 1.4
    img = np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).astype(np.float32)
    # Clouds: soft lighter blobs, denser when it rains.
    n = value_noise(rng, h // 4 + 1, w // 4 + 1, 60)
    n2 = value_noise(rng, h // 4 + 1, w // 4 + 1, 22)
    clouds = smoothstep(0.45 if weather == "rain" else 0.6, 0.95, 0.7 * n + 0.3 * n2)
    clouds = np.repeat(np.repeat(clouds, 4, 0), 4, 1)[:h, :w]
    img += clouds[..., None] * (mix(bottom, np.array([0.8, 0.8, 0.9]), 0.25) - img) * 0.35
    return Layer(img, np.ones((h, w), np.float32), x0, y0)


def _stars(img: Layer, rng: np.random.Generator, n: int, lights: list) -> None:
    x0, y0, x1, y1 = GLASS
    for _ in range(n):
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y0 + (y1 - y0) * 0.45)
        b = rng.uniform(0.25, 0.8)
        r = rng.uniform(0.6, 1.4)
        _dot(img, x, y, r, np.array([1.0, 0.97, 0.9]) * b)
        if rng.random() < 0.25:
            lights.append((x, y, np.array([1.0, 0.97, 0.9], np.float32) * b * 0.8, r + 0.6))


def _dot(img: Layer, x: float, y: float, r: float, color: np.ndarray) -> None:
    R = int(r * 3) + 2
    xs, ys, b = img.grid((int(x) - R, int(y) - R, int(x) + R + 1, int(y) + R + 1))
    d2 = (ys - y) ** 2 + (xs - x) ** 2
    img.rgb[b[1]:b[3], b[0]:b[2]] += np.exp(-d2 / (2 * r * r))[..., None] * color


def _moon(lay: Layer, x: float, y: float, r: float, hidden: float) -> None:
    img = lay.rgb
    xs, ys, b = lay.grid((x - r * 6, y - r * 6, x + r * 6, y + r * 6))
    d = np.hypot(xs - x, ys - y)
    glow = np.exp(-np.maximum(d - r, 0) / (r * 1.6)) * (0.35 if hidden else 0.22)
    img[b[1]:b[3], b[0]:b[2]] += glow[..., None] * np.array([0.9, 0.88, 0.8], np.float32)
    if hidden < 0.9:
        disc = coverage(circle(xs, ys, x, y, r), 1.5) * (1 - hidden)
        crater = 0.08 * coverage(circle(xs, ys, x - r * 0.3, y - r * 0.2, r * 0.28), 2) \
            + 0.06 * coverage(circle(xs, ys, x + r * 0.35, y + r * 0.3, r * 0.18), 2)
        moon = np.array([0.98, 0.95, 0.85], np.float32)
        lay.fill(b, disc, moon[None, None, :] * (1 - crater[..., None]))


def _buildings(lay: Layer, rng: np.random.Generator, pal: dict[str, str], *, base_y: float,
               hmin: float, hmax: float, color: np.ndarray, lit: float, wsize: float,
               roofs: bool = False, lights: list | None = None, xrange: tuple[float, float] | None = None) -> None:
    x0, _, x1, _ = GLASS
    x = (xrange or (x0 - 40, x1 + 40))[0]
    end = (xrange or (x0 - 40, x1 + 40))[1]
    lamp, accent = _col(pal, "lamp"), _col(pal, "accent")
    while x < end:
        bw = rng.uniform(70, 190)
        bh = rng.uniform(hmin, hmax)
        top = base_y - bh
        c = _shade(color, rng.uniform(0.85, 1.15))
        box = (x, top - 40, x + bw, base_y + 2)
        if roofs and rng.random() < 0.7:
            peak = rng.uniform(25, 60)
            pts = [(x - 4, top), (x + bw / 2, top - peak), (x + bw + 4, top), (x + bw + 4, base_y + 2),
                   (x - 4, base_y + 2)]
            lay.shape((x - 6, top - peak - 2, x + bw + 6, base_y + 2), lambda a, b, p=pts: polygon(a, b, p), c)
            if rng.random() < 0.6:
                cx = x + bw * rng.uniform(0.2, 0.7)
                lay.shape((cx - 12, top - peak - 20, cx + 12, top), lambda a, b, cx=cx, t=top, pk=peak:
                          rbox(a, b, cx, t - pk * 0.45, 9, pk * 0.45 + 8, 1), c)
        else:
            lay.shape(box, lambda a, b, x=x, bw=bw, top=top: rbox(a, b, x + bw / 2, (top + base_y) / 2,
                                                                   bw / 2, (base_y - top) / 2, 1.5), c)
            if rng.random() < 0.25:  # an antenna with a red light that blinks in the loop
                ax = x + bw * rng.uniform(0.3, 0.7)
                lay.shape((ax - 3, top - 60, ax + 3, top), lambda a, b, ax=ax, t=top: segment(a, b, ax, t, ax, t - 55, 1.2), c)
                if lights is not None:
                    lights.append((ax, top - 57, np.array([1.0, 0.25, 0.2], np.float32), 2.2))
        # Lit windows in a loose grid.
        cols = max(1, int((bw - 16) // (wsize * 2.2)))
        rows = max(1, int((bh - 24) // (wsize * 2.6)))
        gx = (bw - cols * wsize * 2.2) / 2 + wsize * 0.6
        for r in range(rows):
            for k in range(cols):
                if rng.random() > lit:
                    continue
                wxp = x + gx + k * wsize * 2.2
                wyp = top + 16 + r * wsize * 2.6
                wc = mix(lamp, accent, rng.random() * 0.5 if rng.random() < 0.3 else 0.0) * rng.uniform(0.35, 0.85)
                lay.shape((wxp - 2, wyp - 2, wxp + wsize + 2, wyp + wsize * 1.3 + 2),
                          lambda a, b, wxp=wxp, wyp=wyp: rbox(a, b, wxp + wsize / 2, wyp + wsize * 0.65, wsize / 2,
                                                             wsize * 0.65, 1), wc)
        x += bw + rng.uniform(-10, 18)


def _outside(pal: dict[str, str], scene: str, weather: str, rng: np.random.Generator,
             lights: list) -> Layer:
    img = _sky(pal, rng, weather)
    sky, sky2 = _col(pal, "sky"), _col(pal, "sky2")
    x0, y0, x1, y1 = GLASS
    _stars(img, rng, 40 if weather == "snow" else 14, lights)
    mx = rng.uniform(x0 + 120, x1 - 120)
    _moon(img, mx, rng.uniform(y0 + 70, y0 + 170), rng.uniform(34, 46), 1.0 if weather == "rain" else 0.0)
    far = mix(sky2, sky, 0.35) * 0.8
    near = mix(sky, _col(pal, "ink"), 0.55)
    ground = y1 + 4
    if scene == "train window":
        _hills(img, rng, y1 - 230, 80, mix(sky2, sky, 0.4) * 0.75)
        _hills(img, rng, y1 - 140, 60, mix(sky, _col(pal, "ink"), 0.35))
        _town_lights(img, rng, pal, y1 - 150, lights)
        _poles(img, rng, near)
    elif scene == "lighthouse study":
        _sea(img, rng, pal, y1 - 200)
        _lighthouse(img, rng, pal, lights)
    elif scene == "bookshop corner":
        _buildings(img, rng, pal, base_y=ground - 120, hmin=180, hmax=320, color=far, lit=0.35, wsize=9, lights=lights)
        _buildings(img, rng, pal, base_y=ground, hmin=260, hmax=420, color=near, lit=0.5, wsize=16, lights=lights)
        _street(img, pal, ground)
    elif scene in ("attic desk", "rooftop room"):
        _buildings(img, rng, pal, base_y=ground - 170, hmin=120, hmax=330, color=far, lit=0.3, wsize=8, lights=lights)
        _buildings(img, rng, pal, base_y=ground, hmin=90, hmax=200, color=near, lit=0.35, wsize=14, roofs=True,
                   lights=lights)
    else:  # city window
        _buildings(img, rng, pal, base_y=ground - 150, hmin=160, hmax=430, color=far, lit=0.3, wsize=8, lights=lights)
        _buildings(img, rng, pal, base_y=ground, hmin=120, hmax=300, color=near, lit=0.42, wsize=13, lights=lights)
    if weather == "snow":
        # Snow resting on the sill outside and a pale haze near the ground.
        t = np.clip((np.arange(y0, y1, dtype=np.float32) - (y1 - 200)) / 200, 0, 1)[:, None, None]
        img.rgb += t * 0.06
    return img


def _hills(img: Layer, rng: np.random.Generator, base: float, amp: float, color: np.ndarray) -> None:
    xs, ys, b = img.grid((0, 0, W, H))
    prof = base - amp * (0.5 + 0.3 * np.sin(xs / rng.uniform(140, 220) + rng.uniform(0, 6))
                         + 0.2 * np.sin(xs / rng.uniform(50, 80) + rng.uniform(0, 6)))
    a = np.clip(ys - prof + 0.5, 0, 1)
    img.rgb[:] = img.rgb * (1 - a[..., None]) + color * a[..., None]


def _town_lights(img: Layer, rng: np.random.Generator, pal: dict[str, str], y: float, lights: list) -> None:
    x0, _, x1, _ = GLASS
    lamp = _col(pal, "lamp")
    for _ in range(40):
        px, py = rng.uniform(x0, x1), y + rng.uniform(-10, 40)
        _dot(img, px, py, rng.uniform(0.8, 1.6), lamp * rng.uniform(0.3, 0.8))


def _poles(lay: Layer, rng: np.random.Generator, color: np.ndarray) -> None:
    x0, y0, x1, y1 = GLASS
    px = x0 + rng.uniform(60, 200)
    prev = None
    while px < x1 + 100:
        top = y1 - 360 + rng.uniform(-10, 10)
        lay.shape((px - 8, top - 5, px + 8, y1 + 5), lambda a, b, px=px, t=top: segment(a, b, px, t, px, y1 + 10, 3.5), color)
        lay.shape((px - 40, top + 8, px + 40, top + 20), lambda a, b, px=px, t=top: segment(a, b, px - 32, t + 14, px + 32, t + 14, 2.5), color)
        if prev is not None:
            qx, qt = prev
            for dy in (10, 14):
                xs, ys, b = lay.grid((qx, min(qt, top), px, max(qt, top) + 60))
                tt = (xs - qx) / (px - qx)
                sag = qt + dy + (top - qt) * tt + 40 * 4 * tt * (1 - tt)
                lay.fill(b, np.clip(1.2 - np.abs(ys - sag), 0, 1), color)
        prev = (px, top)
        px += rng.uniform(380, 460)


def _sea(img: Layer, rng: np.random.Generator, pal: dict[str, str], horizon: float) -> None:
    x0, y0, x1, y1 = GLASS
    sea = mix(_col(pal, "sky"), _col(pal, "ink"), 0.3)
    xs, ys, b = img.grid((0, 0, W, H))
    a = np.clip(ys - horizon, 0, 1) * np.ones_like(xs)
    img.rgb[:] = img.rgb * (1 - a[..., None]) + sea * a[..., None]
    # Moonlit glints on the water.
    glint = _col(pal, "accent") * 0.35
    for _ in range(160):
        gy = rng.uniform(horizon + 4, y1)
        gx = rng.normal((x0 + x1) / 2, 180)
        ln = rng.uniform(6, 26) * (0.6 + (gy - horizon) / 200)
        img.shape((gx - ln, gy - 2, gx + ln, gy + 2), lambda a, b, gx=gx, gy=gy, ln=ln: segment(a, b, gx - ln / 2, gy, gx + ln / 2, gy, 0.6),
                  glint * rng.uniform(0.3, 1), alpha=0.7)
    _hills(img, rng, horizon + 2, 40, mix(sea, _col(pal, "ink"), 0.5))


def _lighthouse(lay: Layer, rng: np.random.Generator, pal: dict[str, str], lights: list) -> None:
    x0, y0, x1, y1 = GLASS
    img = lay.rgb
    lx = x0 + rng.uniform(160, 320)
    base = y1 - 150
    ink = mix(_col(pal, "ink"), _col(pal, "sky"), 0.4)
    lay.shape((lx - 90, base - 40, lx + 90, y1), lambda a, b: ellipse(a, b, lx, base + 30, 95, 45), ink)
    lay.shape((lx - 30, base - 190, lx + 30, base), lambda a, b: polygon(a, b, [(lx - 16, base - 175), (lx + 16, base - 175), (lx + 24, base), (lx - 24, base)]),
              mix(ink, np.array([0.9, 0.9, 0.9]), 0.25))
    lay.shape((lx - 24, base - 215, lx + 24, base - 170), lambda a, b: rbox(a, b, lx, base - 190, 14, 16, 3), ink)
    lamp = _col(pal, "lamp")
    xs, ys, b = lay.grid((x0, base - 330, x1, base - 50))
    ang = np.arctan2(ys - (base - 192), xs - lx)
    beam = np.exp(-(ang / 0.07) ** 2) * np.exp(-np.hypot(xs - lx, ys - base + 192) / 700)
    img[b[1]:b[3], b[0]:b[2]] += beam[..., None] * lamp * 0.35
    lights.append((lx, base - 192, lamp * 0.9, 6.0))


def _street(img: Layer, pal: dict[str, str], ground: float) -> None:
    lamp = _col(pal, "lamp")
    x0, y0, x1, y1 = GLASS
    xs, ys, b = img.grid((x0, y1 - 120, x1, y1))
    glow = np.exp(-((xs - (x0 + x1) * 0.45) / 300) ** 2) * np.exp(-(ys - y1) ** 2 / 4000)
    img.rgb[b[1]:b[3], b[0]:b[2]] += glow[..., None] * lamp * 0.25


# ----------------------------------------------------------------------------- room

def _wall(room: Layer, pal: dict[str, str], rng: np.random.Generator, scene: str) -> None:
    wall = _col(pal, "wall")
    ys = np.arange(H, dtype=np.float32)[:, None]
    xs = np.arange(W, dtype=np.float32)[None, :]
    tex = value_noise(rng, H // 2, W // 2, 6)
    shade = np.repeat(np.repeat(tex, 2, 0), 2, 1)[:H, :W]
    del tex
    shade -= 0.5
    shade *= 0.1
    shade += 0.92 - 0.08 * (ys / H)
    if scene in ("attic desk", "bookshop corner", "lighthouse study"):
        shade += 0.025 * (np.sin(xs / 9.0) > 0.6)
    for c in range(3):  # channel by channel: no full-size (H, W, 3) temporaries
        np.multiply(shade, wall[c], out=room.rgb[..., c])
    room.alpha[:] = 1.0
    # Cut the glass out; the outside shows through.
    gx0, gy0, gx1, gy1 = GLASS
    room.rgb[gy0:gy1, gx0:gx1] = 0
    room.alpha[gy0:gy1, gx0:gx1] = 0


def _window(room: Layer, pal: dict[str, str], scene: str, weather: str, rng: np.random.Generator) -> None:
    frame = mix(_col(pal, "frame"), _col(pal, "wall"), 0.35)
    hi = _shade(mix(frame, _col(pal, "lamp"), 0.12), 1.5)
    ink = _col(pal, "ink")
    x0, y0, x1, y1 = WIN
    gx0, gy0, gx1, gy1 = GLASS
    outer = lambda a, b: rbox(a, b, (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 6)
    inner = lambda a, b: rbox(a, b, (gx0 + gx1) / 2, (gy0 + gy1) / 2, (gx1 - gx0) / 2, (gy1 - gy0) / 2, 2)
    ring = lambda a, b: np.maximum(outer(a, b), -inner(a, b))
    room.shape((x0 - 4, y0 - 4, x1 + 4, y1 + 4), ring, frame, outline=(ink, 2.0))
    # Bevel: a lighter inner edge catches the lamp.
    room.shape((gx0 - 8, gy0 - 8, gx1 + 8, gy1 + 8),
               lambda a, b: np.maximum(inner(a, b) - 6, -inner(a, b)), hi, alpha=0.35)
    # Mullions.
    mw = 11
    room.shape((MULLION_X - mw - 3, gy0, MULLION_X + mw + 3, gy1),
               lambda a, b: rbox(a, b, MULLION_X, (gy0 + gy1) / 2, mw, (gy1 - gy0) / 2, 1), frame, outline=(ink, 1.5))
    room.shape((gx0, MULLION_Y - mw - 3, gx1, MULLION_Y + mw + 3),
               lambda a, b: rbox(a, b, (gx0 + gx1) / 2, MULLION_Y, (gx1 - gx0) / 2, mw - 2, 1), frame, outline=(ink, 1.5))
    # The glass itself: a faint cool sheen and streaks of reflection.
    xs, ys, b = room.grid(GLASS)
    sheen = 0.05 + 0.05 * np.exp(-((xs - gx1 + 200 - (ys - gy0) * 0.5) / 60) ** 2)
    clear = room.alpha[b[1]:b[3], b[0]:b[2]] < 0.5
    room.fill(b, sheen * clear, np.array([0.75, 0.82, 0.95], np.float32))
    if weather == "rain":
        drops = np.zeros((b[3] - b[1], b[2] - b[0]), np.float32)
        for _ in range(260):
            dx, dy = rng.uniform(0, b[2] - b[0]), rng.uniform(0, b[3] - b[1])
            r = rng.uniform(1.5, 4.5)
            R = int(r) + 3
            yy = np.arange(max(0, int(dy) - R), min(drops.shape[0], int(dy) + R + 1))
            xx = np.arange(max(0, int(dx) - R), min(drops.shape[1], int(dx) + R + 1))
            d = np.hypot(yy[:, None] + 0.5 - dy, xx[None, :] + 0.5 - dx)
            ring_ = np.clip(1 - np.abs(d - r * 0.7) / 1.2, 0, 1) * 0.5 + np.clip(1 - np.hypot(yy[:, None] + 0.5 - dy + r * 0.4, xx[None, :] + 0.5 - dx + r * 0.3) / 1.2, 0, 1)
            drops[np.ix_(yy, xx)] = np.maximum(drops[np.ix_(yy, xx)], ring_)
        room.fill(b, drops * 0.35 * clear, np.array([0.85, 0.9, 1.0], np.float32))
    # Sill.
    sill = _shade(frame, 1.25)
    room.shape((x0 - 40, y1 - 6, x1 + 40, y1 + 34),
               lambda a, b: rbox(a, b, (x0 + x1) / 2, y1 + 14, (x1 - x0) / 2 + 34, 16, 4), sill, outline=(ink, 2.0))
    if weather == "snow":
        # Frost creeping in from the corners of the panes.
        xs, ys, b = room.grid(GLASS)
        n = 0.7 * value_noise(rng, b[3] - b[1], b[2] - b[0], 48) + 0.3 * value_noise(rng, b[3] - b[1], b[2] - b[0], 9)
        edge = np.minimum(np.minimum(np.minimum(xs - gx0, gx1 - xs), np.minimum(ys - gy0, gy1 - ys)),
                          np.minimum(np.abs(xs - MULLION_X), np.abs(ys - MULLION_Y)) * 1.2)
        frost = smoothstep(70, 0, edge + 70 * (n - 0.5)) ** 1.5 * 0.4
        clear = room.alpha[b[1]:b[3], b[0]:b[2]] < 0.5
        room.fill(b, frost * clear, np.array([0.85, 0.9, 1.0], np.float32))


def _curtain(room: Layer, pal: dict[str, str], rng: np.random.Generator) -> None:
    base = mix(_col(pal, "accent"), _col(pal, "wall"), 0.55)
    x0, y0, x1, y1 = WIN
    cx0, cx1 = x0 - 90, x0 + 95
    xs, ys, b = room.grid((cx0 - 10, y0 - 50, cx1 + 30, y1 + 60))
    # Gathered at the bottom: the free edge curves outwards.
    edge = cx1 - 40 * np.clip((ys - y0) / (y1 - y0), 0, 1) ** 2
    d = np.maximum(cx0 - xs, xs - edge)
    d = np.maximum(d, np.maximum(y0 - 40 - ys, ys - (y1 + 50)))
    folds = 0.82 + 0.18 * np.sin((xs - cx0) / 11.0 + 0.7 * np.sin(ys / 90.0))
    col = base * folds[..., None]
    room.fill(b, coverage(d, 1.2), col)
    # Rod.
    ink = _col(pal, "ink")
    room.shape((x0 - 130, y0 - 60, x1 + 60, y0 - 30), lambda a, b: segment(a, b, x0 - 120, y0 - 44, x1 + 40, y0 - 44, 5),
               _shade(_col(pal, "frame"), 1.6), outline=(ink, 1.5))


def _string_lights(room: Layer, pal: dict[str, str], rng: np.random.Generator, lights: list) -> None:
    x0, y0, x1, _ = WIN
    ink = _col(pal, "ink")
    n = 11
    xs_, ys_, b = room.grid((x0, y0 - 10, x1, y0 + 90))
    tt = (xs_ - x0) / (x1 - x0)
    sag = y0 + 6 + 60 * 4 * tt * (1 - tt)
    room.fill(b, np.clip(1.3 - np.abs(ys_ - sag), 0, 1), ink)
    cols = [_col(pal, "lamp"), _col(pal, "accent"), np.array([1.0, 0.85, 0.5], np.float32)]
    for i in range(1, n):
        t = i / n
        px, py = x0 + t * (x1 - x0), y0 + 6 + 60 * 4 * t * (1 - t) + 7
        c = cols[i % len(cols)]
        room.shape((px - 8, py - 8, px + 8, py + 10), lambda a, b, px=px, py=py: ellipse(a, b, px, py, 4.5, 6.5), c)
        lights.append((px, py, c * 0.6, 7.0))


def _shelf(room: Layer, pal: dict[str, str], rng: np.random.Generator, y: float, x0: float, x1: float) -> None:
    wood = mix(_col(pal, "frame"), np.array([0.45, 0.3, 0.2], np.float32), 0.45)
    ink = _col(pal, "ink")
    x = x0 + 14
    palette = [_col(pal, "accent"), _col(pal, "lamp"), _col(pal, "sky2"), mix(_col(pal, "accent"), _col(pal, "wall"), 0.5),
               np.array([0.75, 0.7, 0.62], np.float32), _shade(_col(pal, "sky2"), 1.4)]
    while x < x1 - 40:
        if rng.random() < 0.12:  # a small potted plant or a gap
            x += rng.uniform(30, 60)
            continue
        bw = rng.uniform(16, 30)
        bh = rng.uniform(70, 120)
        lean = rng.uniform(-0.12, 0.12) if rng.random() < 0.15 else 0.0
        c = _shade(palette[int(rng.integers(len(palette)))], rng.uniform(0.55, 0.85))
        pts = [(x, y), (x + bw, y), (x + bw + lean * bh, y - bh), (x + lean * bh, y - bh)]
        room.shape((x - 20, y - bh - 4, x + bw + 20, y + 1), lambda a, b, p=pts: polygon(a, b, p), c, outline=(ink, 1.5))
        room.shape((x, y - bh * 0.8, x + bw, y - bh * 0.7),
                   lambda a, b, x=x, bw=bw, bh=bh: rbox(a, b, x + bw / 2, y - bh * 0.75, bw * 0.3, 2, 1), _shade(c, 1.5), alpha=0.6)
        x += bw + rng.uniform(1, 4)
    room.shape((x0 - 4, y - 4, x1 + 4, y + 18), lambda a, b: rbox(a, b, (x0 + x1) / 2, y + 7, (x1 - x0) / 2, 8, 2), wood, outline=(ink, 1.5))


def _plant(room: Layer, pal: dict[str, str], rng: np.random.Generator, x: float, y: float, s: float) -> None:
    ink = _col(pal, "ink")
    pot = mix(np.array([0.7, 0.4, 0.3], np.float32), _col(pal, "accent"), 0.3) * 0.8
    leaf = mix(np.array([0.28, 0.5, 0.32], np.float32), _col(pal, "sky2"), 0.2)
    for i in range(9):
        ang = -math.pi / 2 + rng.uniform(-1.2, 1.2)
        ln = s * rng.uniform(0.9, 1.7)
        ex, ey = x + math.cos(ang) * ln, y - s * 0.6 + math.sin(ang) * ln
        mx_, my_ = (x + ex) / 2, (y - s * 0.6 + ey) / 2
        room.shape((min(x, ex) - s, min(y, ey) - s, max(x, ex) + s, max(y, ey) + s),
                   lambda a, b, mx_=mx_, my_=my_, ang=ang, ln=ln: ellipse(a, b, mx_, my_, ln / 2, s * 0.22, ang),
                   _shade(leaf, rng.uniform(0.8, 1.25)), outline=(ink, 1.2))
    room.shape((x - s, y - s * 0.8, x + s, y + s * 0.6),
               lambda a, b: polygon(a, b, [(x - s * 0.7, y - s * 0.7), (x + s * 0.7, y - s * 0.7), (x + s * 0.5, y + s * 0.5), (x - s * 0.5, y + s * 0.5)]),
               pot, outline=(ink, 1.5))


def _desk(room: Layer, pal: dict[str, str], rng: np.random.Generator) -> None:
    wood = mix(np.array([0.42, 0.28, 0.2], np.float32), _col(pal, "wall"), 0.35)
    ink = _col(pal, "ink")
    xs, ys, b = room.grid((0, DESK_Y, W, H))
    grain = value_noise(rng, 8, 400, 4)
    g = grain[np.clip(((ys - DESK_Y) / 40).astype(int), 0, 7), np.clip((xs / 5).astype(int), 0, 399)]
    top = (ys < DESK_Y + DESK_DEPTH)
    col = wood * (np.where(top, 1.0 + 0.12 * (ys - DESK_Y) / DESK_DEPTH, 0.6 - 0.12 * (ys - DESK_Y - DESK_DEPTH) / (H - DESK_Y))
                  * (0.93 + 0.14 * g))[..., None]
    room.fill(b, np.ones(xs.shape[0:1] + xs.shape[1:], np.float32) * np.ones_like(ys), col)
    room.shape((0, DESK_Y - 3, W, DESK_Y + 3), lambda a, b: np.abs(b - DESK_Y) - 1.2, ink)
    room.shape((0, DESK_Y + DESK_DEPTH - 3, W, DESK_Y + DESK_DEPTH + 3),
               lambda a, b: np.abs(b - DESK_Y - DESK_DEPTH) - 1.6, ink)
    # Drawers in the desk's front, with small brass knobs.
    front = DESK_Y + DESK_DEPTH
    knob = mix(np.array([0.75, 0.6, 0.35], np.float32), _col(pal, "lamp"), 0.3)
    for cx in (330, 1590):
        room.shape((cx - 250, front + 20, cx + 250, front + 150),
                   lambda a, b, cx=cx: np.abs(rbox(a, b, cx, front + 82, 230, 52, 6)) - 1.4, ink, alpha=0.55)
        room.shape((cx - 20, front + 70, cx + 20, front + 96), lambda a, b, cx=cx: ellipse(a, b, cx, front + 82, 13, 8),
                   knob, outline=(ink, 1.5))
    # A soft shadow line under the desk's lip.
    xs, ys, b = room.grid((0, DESK_Y + DESK_DEPTH, W, DESK_Y + DESK_DEPTH + 40))
    room.fill(b, 0.35 * np.exp(-(ys - DESK_Y - DESK_DEPTH) / 12) * np.ones_like(xs), ink)


def _lamp(room: Layer, pal: dict[str, str]) -> tuple[float, float]:
    body = mix(_col(pal, "accent"), _col(pal, "frame"), 0.45)
    ink = _col(pal, "ink")
    bx, by = 1590, DESK_Y + 22
    room.shape((bx - 80, by - 25, bx + 80, by + 25), lambda a, b: ellipse(a, b, bx, by, 70, 16), _shade(body, 0.9), outline=(ink, 2))
    j1 = (1640, 600)
    j2 = (1520, 455)
    room.shape((1500, 440, 1660, by), lambda a, b: segment(a, b, bx, by - 6, *j1, 7), body, outline=(ink, 2))
    room.shape((1500, 440, 1660, 620), lambda a, b: segment(a, b, *j1, *j2, 7), body, outline=(ink, 2))
    room.shape((1625, 585, 1655, 615), lambda a, b: circle(a, b, *j1, 10), _shade(body, 1.2), outline=(ink, 2))
    # The shade, a truncated cone tipped towards the desk.
    shade_pts = [(1490, 420), (1555, 450), (1480, 560), (1375, 505)]
    room.shape((1360, 400, 1570, 575), lambda a, b: polygon(a, b, shade_pts), body, outline=(ink, 2.2))
    room.shape((1360, 490, 1500, 575), lambda a, b: ellipse(a, b, 1428, 533, 60, 16, math.radians(27)),
               _shade(_col(pal, "lamp"), 1.1), outline=(ink, 1.5))
    return 1425.0, 545.0


def _mug(room: Layer, pal: dict[str, str], x: float, y: float, s: float = 1.0) -> tuple[float, float]:
    ink = _col(pal, "ink")
    c = mix(np.array([0.92, 0.88, 0.8], np.float32), _col(pal, "accent"), 0.35)
    room.shape((x + 20 * s, y - 50 * s, x + 60 * s, y - 5 * s),
               lambda a, b: np.abs(ellipse(a, b, x + 34 * s, y - 28 * s, 18 * s, 15 * s)) - 4.5 * s, c, outline=(ink, 1.8))
    room.shape((x - 40 * s, y - 70 * s, x + 40 * s, y + 4 * s),
               lambda a, b: rbox(a, b, x, y - 33 * s, 31 * s, 35 * s, 8 * s), c, outline=(ink, 2))
    room.shape((x - 36 * s, y - 76 * s, x + 36 * s, y - 58 * s), lambda a, b: ellipse(a, b, x, y - 67 * s, 29 * s, 6 * s),
               np.array([0.35, 0.22, 0.15], np.float32))
    room.shape((x - 30 * s, y - 50 * s, x + 30 * s, y - 30 * s), lambda a, b: rbox(a, b, x, y - 40 * s, 28 * s, 4 * s, 2),
               _col(pal, "accent"), alpha=0.8)
    return x, y - 75 * s


def _books(room: Layer, pal: dict[str, str], rng: np.random.Generator, x: float, y: float) -> None:
    ink = _col(pal, "ink")
    cols = [_col(pal, "accent"), mix(_col(pal, "lamp"), _col(pal, "frame"), 0.4), _col(pal, "sky2"),
            mix(_col(pal, "accent"), np.array([0.9, 0.9, 0.85], np.float32), 0.4)]
    yy = y
    for i in range(int(rng.integers(2, 5))):
        bw = rng.uniform(120, 170)
        bh = rng.uniform(18, 28)
        off = rng.uniform(-14, 14)
        c = _shade(cols[int(rng.integers(len(cols)))], rng.uniform(0.6, 0.9))
        room.shape((x + off - bw / 2 - 4, yy - bh - 4, x + off + bw / 2 + 4, yy + 4),
                   lambda a, b, o=off, bw=bw, bh=bh, yy=yy: rbox(a, b, x + o, yy - bh / 2, bw / 2, bh / 2, 3), c, outline=(ink, 1.6))
        room.shape((x + off - bw / 2 + 8, yy - bh * 0.75, x + off + bw / 2 - 2, yy - bh * 0.25),
                   lambda a, b, o=off, bw=bw, bh=bh, yy=yy: rbox(a, b, x + o + 3, yy - bh / 2, bw / 2 - 10, bh * 0.22, 1),
                   np.array([0.92, 0.9, 0.82], np.float32), alpha=0.85)
        yy -= bh


def _cassette(room: Layer, pal: dict[str, str], x: float, y: float) -> None:
    ink = _col(pal, "ink")
    c = mix(_col(pal, "sky2"), np.array([0.85, 0.85, 0.8], np.float32), 0.3)
    room.shape((x - 70, y - 50, x + 70, y + 4), lambda a, b: rbox(a, b, x, y - 23, 64, 22, 5), c, outline=(ink, 2))
    room.shape((x - 50, y - 40, x + 50, y - 10), lambda a, b: rbox(a, b, x, y - 26, 42, 11, 4), np.array([0.95, 0.9, 0.78], np.float32))
    for cx in (x - 22, x + 22):
        room.shape((cx - 9, y - 35, cx + 9, y - 17), lambda a, b, cx=cx: np.abs(circle(a, b, cx, y - 26, 6)) - 2, ink)


# ----------------------------------------------------------------------------- Porsuk

FUR = np.array([0.25, 0.25, 0.29], np.float32)
FUR_DARK = np.array([0.16, 0.16, 0.19], np.float32)
CREAM = np.array([0.93, 0.9, 0.84], np.float32)
PINK = np.array([0.93, 0.6, 0.64], np.float32)


def _fur_shader(cx: float, cy: float, rx: float, base: np.ndarray, lamp: np.ndarray, lamp_x: float) -> Callable:
    """Soft cartoon shading: lighter towards the lamp's side, with a warm rim along that edge."""
    side = 1.0 if lamp_x > cx else -1.0

    def shade(xs: np.ndarray, ys: np.ndarray, d: np.ndarray) -> np.ndarray:
        u = np.clip((xs - cx) / rx * side, -1, 1)
        k = 0.9 + 0.16 * u - 0.05 * np.clip((ys - cy) / rx, -1, 1)
        rim = np.exp(-np.abs(d) / 9.0) * np.clip(u, 0, 1) ** 2
        return base * k[..., None] + lamp * (0.35 * rim)[..., None]
    return shade


def _porsuk(room: Layer, pal: dict[str, str], pose: str, lamp_x: float) -> dict[str, Any]:
    ink = _col(pal, "ink")
    lamp = _col(pal, "lamp")
    accent = _col(pal, "accent")
    cx = CAT_X
    body_cy, body_rx, body_ry = 660.0, 178.0, 168.0
    head_cx, head_cy = cx, 448.0
    tilt = 0.0
    look = (0.0, 0.0)
    closed = pose in ("headphones on, eyes closed", "nodding to the beat", "sipping tea")
    if pose == "nodding to the beat":
        tilt = math.radians(-8)
    elif pose == "gazing out the window":
        tilt = math.radians(6)
        look = (-10.0, -4.0)
        head_cx -= 14
    elif pose in ("writing in a notebook", "reading a paperback"):
        look = (0.0, 9.0)
        tilt = math.radians(3)
    out: dict[str, Any] = {"closed": closed}

    # Body with a cream chest.
    body_shade = _fur_shader(cx, body_cy, body_rx, FUR, lamp, lamp_x)
    body_sdf = lambda a, b: smooth_union(
        smooth_union(ellipse(a, b, cx, body_cy, body_rx, body_ry), ellipse(a, b, cx, body_cy + 95, body_rx * 1.06, 85), 30),
        np.minimum(ellipse(a, b, cx - 150, DESK_Y - 40, 62, 66), ellipse(a, b, cx + 150, DESK_Y - 40, 62, 66)), 20)
    room.shape((cx - 230, body_cy - 190, cx + 230, DESK_Y + 40), body_sdf, body_shade, outline=(ink, 2.6))
    room.shape((cx - 90, body_cy - 120, cx + 90, body_cy + 120),
               lambda a, b: ellipse(a, b, cx, body_cy + 10, 72, 100), CREAM * 0.92, alpha=0.95)
    # Front paws on the desk.
    for px in (cx - 62, cx + 62):
        room.shape((px - 50, DESK_Y - 10, px + 50, DESK_Y + 40),
                   lambda a, b, px=px: ellipse(a, b, px, DESK_Y + 16, 42, 22), CREAM, outline=(ink, 2.2))
        for tx in (-14, 0, 14):
            room.shape((px + tx - 3, DESK_Y + 20, px + tx + 3, DESK_Y + 38),
                       lambda a, b, px=px, tx=tx: segment(a, b, px + tx, DESK_Y + 26, px + tx, DESK_Y + 36, 0.6), ink, alpha=0.7)

    pivot = (head_cx, head_cy + 110)

    def hs(f: Callable) -> Callable:
        """Head-space: every head shape is drawn in coordinates rotated by the tilt."""
        return lambda a, b: f(*_rot(a, b, pivot[0], pivot[1], tilt))

    hx, hy = head_cx, head_cy
    band_col = mix(accent, ink, 0.35)
    cup_col = accent
    # Headband behind the ears.
    room.shape((hx - 200, hy - 200, hx + 200, hy + 40),
               hs(lambda a, b: np.maximum(np.abs(ellipse(a, b, hx, hy + 10, 183, 178)) - 11, b - hy - 10)),
               band_col, outline=(ink, 2.4))
    # Ears.
    for sgn in (-1, 1):
        tip = (hx + sgn * 112, hy - 168)
        pts = [(hx + sgn * 150, hy - 40), tip, (hx + sgn * 28, hy - 110)]
        inner = [(hx + sgn * 128, hy - 62), (hx + sgn * 108, hy - 140), (hx + sgn * 52, hy - 102)]
        room.shape((hx + min(sgn * 170, sgn * 10) - 20, hy - 200, hx + max(sgn * 170, sgn * 10) + 20, hy - 20),
                   hs(lambda a, b, p=pts: polygon(a, b, p) - 9), FUR_DARK, outline=(ink, 2.6))
        room.shape((hx + min(sgn * 150, sgn * 30) - 10, hy - 160, hx + max(sgn * 150, sgn * 30) + 10, hy - 50),
                   hs(lambda a, b, p=inner: polygon(a, b, p) - 5), mix(PINK, FUR, 0.35))
    # Head.
    head_shade = _fur_shader(hx, hy, 160, FUR, lamp, lamp_x)
    head_sdf = lambda a, b: smooth_union(ellipse(a, b, hx, hy, 160, 128), ellipse(a, b, hx, hy + 60, 118, 72), 40)
    room.shape((hx - 190, hy - 160, hx + 190, hy + 160), hs(head_sdf), head_shade, outline=(ink, 2.6))
    # Badger blaze (porsuk is Turkish for badger): a white stripe from brow to muzzle.
    room.shape((hx - 60, hy - 140, hx + 60, hy + 40),
               hs(lambda a, b: smooth_union(ellipse(a, b, hx, hy - 60, 20, 72), ellipse(a, b, hx, hy + 20, 30, 30), 18)),
               CREAM, alpha=0.96)
    room.shape((hx - 110, hy + 10, hx + 110, hy + 110),
               hs(lambda a, b: smooth_union(ellipse(a, b, hx - 34, hy + 56, 46, 34), ellipse(a, b, hx + 34, hy + 56, 46, 34), 14)),
               CREAM, alpha=0.98)
    # Cheeks.
    for sgn in (-1, 1):
        room.shape((hx + sgn * 88 - 34, hy + 30, hx + sgn * 88 + 34, hy + 80),
                   hs(lambda a, b, s=sgn: ellipse(a, b, hx + s * 88, hy + 55, 26, 15)), PINK, alpha=0.45, aa=6)
    # Eyes.
    eye_y = hy + 2
    eye_box = (int(hx - 120), int(hy - 50), int(hx + 120), int(hy + 52))
    eyes_open_fn = []
    for sgn in (-1, 1):
        ex = hx + sgn * 60
        if closed:
            room.shape((ex - 36, eye_y - 20, ex + 36, eye_y + 30),
                       hs(lambda a, b, ex=ex: np.maximum(np.abs(circle(a, b, ex, eye_y - 6, 24)) - 2.6, eye_y + 2 - b)),
                       ink)
        else:
            iris = mix(np.array([0.98, 0.78, 0.28], np.float32), accent, 0.2)
            room.shape((ex - 40, eye_y - 40, ex + 40, eye_y + 40), hs(lambda a, b, ex=ex: circle(a, b, ex, eye_y, 31)),
                       lambda a, b, d, ex=ex: iris * (0.8 + 0.3 * np.clip((b - eye_y + 20) / 50, 0, 1))[..., None],
                       outline=(ink, 3.0))
            room.shape((ex - 30, eye_y - 35, ex + 30, eye_y + 35),
                       hs(lambda a, b, ex=ex: ellipse(a, b, ex + look[0], eye_y + look[1], 13, 25)), ink)
            room.shape((ex - 30, eye_y - 35, ex + 30, eye_y + 35),
                       hs(lambda a, b, ex=ex: circle(a, b, ex - 10 + look[0] * 0.5, eye_y - 12 + look[1] * 0.5, 7.5)),
                       np.array([1.0, 1.0, 1.0], np.float32))
            room.shape((ex - 30, eye_y - 35, ex + 30, eye_y + 35),
                       hs(lambda a, b, ex=ex: circle(a, b, ex + 9 + look[0] * 0.5, eye_y + 10 + look[1] * 0.5, 3.5)),
                       np.array([1.0, 1.0, 1.0], np.float32), alpha=0.8)
            eyes_open_fn.append(ex)
    # Nose, mouth, whiskers.
    ny = hy + 38
    room.shape((hx - 20, ny - 14, hx + 20, ny + 16), hs(lambda a, b: polygon(a, b, [(hx - 13, ny - 6), (hx + 13, ny - 6), (hx, ny + 8)]) - 3),
               PINK, outline=(ink, 1.8))
    for sgn in (-1, 1):
        room.shape((hx + sgn * 13 - 20, ny + 2, hx + sgn * 13 + 20, ny + 30),
                   hs(lambda a, b, s=sgn: np.maximum(np.abs(circle(a, b, hx + s * 12, ny + 10, 12)) - 1.5, ny + 10 - b)), ink)
    whisk = np.array([0.85, 0.84, 0.8], np.float32)
    for sgn in (-1, 1):
        for k, dy in enumerate((-6, 6, 18)):
            x1 = hx + sgn * 62
            x2 = hx + sgn * (178 - k * 6)
            room.shape((min(x1, x2) - 4, ny + dy - 20, max(x1, x2) + 4, ny + dy + 24),
                       hs(lambda a, b, x1=x1, x2=x2, dy=dy, k=k: segment(a, b, x1, ny + dy, x2, ny + dy - 14 + k * 12, 0.9)),
                       whisk, alpha=0.8)
    # Headphone cups over the sides of the head.
    for sgn in (-1, 1):
        ccx = hx + sgn * 168
        room.shape((ccx - 50, hy - 80, ccx + 50, hy + 90),
                   hs(lambda a, b, c=ccx: rbox(a, b, c, hy + 8, 34, 64, 28)), cup_col * 0.9, outline=(ink, 2.6))
        room.shape((ccx - 50, hy - 80, ccx + 50, hy + 90),
                   hs(lambda a, b, c=ccx, s=sgn: rbox(a, b, c - s * 22, hy + 8, 12, 54, 10)), mix(ink, FUR, 0.5))
        room.shape((ccx - 50, hy - 80, ccx + 50, hy + 90),
                   hs(lambda a, b, c=ccx, s=sgn: ellipse(a, b, c + s * 8, hy - 16, 9, 18)),
                   np.array([1.0, 1.0, 1.0], np.float32), alpha=0.25, aa=3)
    out["cup_light"] = _rot(np.float32(hx + 168 + 14), np.float32(hy + 44), pivot[0], pivot[1], -tilt)
    out["eye_box"] = eye_box
    out["eyes"] = eyes_open_fn
    out["eye_y"] = eye_y
    out["head"] = (hx, hy, pivot, tilt)
    return out


def _porsuk_prop(room: Layer, pal: dict[str, str], pose: str, rng: np.random.Generator) -> tuple[float, float] | None:
    """What Porsuk holds or works on; returns where steam rises from, if anything steams."""
    ink = _col(pal, "ink")
    cx = CAT_X
    paper = np.array([0.95, 0.92, 0.84], np.float32)
    if pose == "sipping tea":
        x, top = _mug(room, pal, cx, DESK_Y - 62, 1.65)
        for px in (cx - 62, cx + 62):
            room.shape((px - 40, DESK_Y - 150, px + 40, DESK_Y - 70),
                       lambda a, b, px=px: ellipse(a, b, px, DESK_Y - 108, 28, 24), CREAM, outline=(ink, 2.2))
        return x, top
    if pose == "writing in a notebook":
        pts = [(cx - 150, DESK_Y + 44), (cx + 150, DESK_Y + 44), (cx + 130, DESK_Y + 4), (cx - 130, DESK_Y + 4)]
        room.shape((cx - 160, DESK_Y, cx + 160, DESK_Y + 50), lambda a, b: polygon(a, b, pts) - 2, paper, outline=(ink, 2))
        room.shape((cx - 2, DESK_Y, cx + 2, DESK_Y + 50), lambda a, b: segment(a, b, cx, DESK_Y + 6, cx, DESK_Y + 42, 0.8), ink)
        for k in range(4):
            yy = DESK_Y + 13 + k * 8
            room.shape((cx - 130, yy - 2, cx + 130, yy + 2), lambda a, b, yy=yy: segment(a, b, cx - 118 + k * 3, yy, cx - 14, yy, 0.6), ink, alpha=0.5)
        room.shape((cx + 20, DESK_Y - 40, cx + 130, DESK_Y + 40),
                   lambda a, b: segment(a, b, cx + 40, DESK_Y + 30, cx + 120, DESK_Y - 30, 5), _col(pal, "lamp"), outline=(ink, 1.5))
        room.shape((cx + 40, DESK_Y + 10, cx + 80, DESK_Y + 40),
                   lambda a, b: ellipse(a, b, cx + 60, DESK_Y + 22, 30, 18), CREAM, outline=(ink, 2.2))
        return None
    if pose == "reading a paperback":
        cover = _shade(_col(pal, "accent"), 0.8)
        for sgn in (-1, 1):
            outer_pts = [(cx, DESK_Y - 20), (cx + sgn * 130, DESK_Y - 40), (cx + sgn * 126, DESK_Y - 190), (cx, DESK_Y - 165)]
            room.shape((cx - 150, DESK_Y - 200, cx + 150, DESK_Y - 10), lambda a, b, p=outer_pts: polygon(a, b, p) - 3, cover, outline=(ink, 2))
            page_pts = [(cx, DESK_Y - 26), (cx + sgn * 120, DESK_Y - 45), (cx + sgn * 117, DESK_Y - 184), (cx, DESK_Y - 170)]
            room.shape((cx - 150, DESK_Y - 200, cx + 150, DESK_Y - 10), lambda a, b, p=page_pts: polygon(a, b, p), paper)
            for k in range(9):
                y0 = DESK_Y - 160 + k * 13
                room.shape((cx - 130, y0 - 25, cx + 130, y0 + 15),
                           lambda a, b, s=sgn, y0=y0: segment(a, b, cx + s * 14, y0 + 4, cx + s * 100, y0 - 10, 0.7), ink, alpha=0.35)
        for px in (cx - 128, cx + 128):
            room.shape((px - 36, DESK_Y - 140, px + 36, DESK_Y - 70),
                       lambda a, b, px=px: ellipse(a, b, px, DESK_Y - 104, 26, 22), CREAM, outline=(ink, 2.2))
        return None
    return None


def _tail_drawer(pal: dict[str, str]) -> Callable[[Layer, float], None]:
    ink = _col(pal, "ink")
    lamp = _col(pal, "lamp")
    root = (CAT_X + 130, DESK_Y + 22)

    def points(swing: float) -> list[tuple[float, float]]:
        # A curve that lies on the desk and curls upwards at the end; swing (-1..1) changes
        # how far it curls, which is the loop's tail flick.
        n = 16
        pts = []
        x, y = root
        for i in range(n + 1):
            pts.append((x, y))
            u = (i + 0.5) / n
            ang = -(0.05 + (2.1 + 0.35 * swing) * u ** 2.2)
            x += math.cos(ang) * 15.5
            y += math.sin(ang) * 15.5
        return pts

    def draw(layer: Layer, swing: float) -> None:
        pts = points(swing)
        n = len(pts) - 1
        xs_all = [p[0] for p in pts]
        ys_all = [p[1] for p in pts]
        box = (min(xs_all) - 40, min(ys_all) - 40, max(xs_all) + 40, max(ys_all) + 40)
        xs, ys, b = layer.grid(box)
        d = np.full((ys.shape[0], xs.shape[1]), 1e4, np.float32)
        # Each capsule only within its own bounds: the tail is redrawn every loop frame.
        for i in range(n):
            r0 = 21 - 8 * i / n
            r1 = 21 - 8 * (i + 1) / n
            (ax, ay), (bx, by) = pts[i], pts[i + 1]
            c0 = max(0, int(min(ax, bx) - r0 - 4 - xs[0, 0] + 0.5))
            c1 = min(d.shape[1], int(max(ax, bx) + r0 + 5 - xs[0, 0] + 0.5))
            q0 = max(0, int(min(ay, by) - r0 - 4 - ys[0, 0] + 0.5))
            q1 = min(d.shape[0], int(max(ay, by) + r0 + 5 - ys[0, 0] + 0.5))
            if c1 <= c0 or q1 <= q0:
                continue
            sub = d[q0:q1, c0:c1]
            np.minimum(sub, segment(xs[:, c0:c1], ys[q0:q1], ax, ay, bx, by, (r0, r1)), out=sub)
        shade = FUR * (0.95 + 0.2 * np.clip((xs - root[0]) / 200, 0, 1))[..., None]
        rim = np.exp(-np.abs(d) / 8.0) * np.clip((xs - root[0]) / 150, 0, 1)
        col = shade + lamp * 0.3 * rim[..., None]
        # A cream tip, as on the chest.
        tip = np.clip(1.3 - np.hypot(xs - pts[-1][0], ys - pts[-1][1]) / 24, 0, 1)
        col = col * (1 - tip[..., None]) + CREAM * tip[..., None]
        layer.fill(b, coverage(d - 2.6, 1.2), ink)
        layer.fill(b, coverage(d, 1.2), col)
    def bounds() -> Box:
        """A box (even coordinates) holding the tail at every swing."""
        pts = points(-1.0) + points(1.0) + points(0.0)
        x0 = int(min(p[0] for p in pts) - 30) & ~1
        y0 = int(min(p[1] for p in pts) - 30) & ~1
        x1 = (int(max(p[0] for p in pts) + 32) + 1) & ~1
        y1 = (int(max(p[1] for p in pts) + 32) + 1) & ~1
        return (x0, y0, x1, y1)

    draw.bounds = bounds  # type: ignore[attr-defined]
    return draw


# ----------------------------------------------------------------------------- lighting

def _light_map(lamp_xy: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """How much lamp light falls on the room, and the bulb's own glow: two (H, W) maps.

    Both are scalars times the lamp's colour; keeping them scalar saves two full-size
    colour images.
    """
    lx, ly = lamp_xy
    ys = np.arange(H, dtype=np.float32)[:, None] - np.float32(ly)
    xs = np.arange(W, dtype=np.float32)[None, :] - np.float32(lx)
    r2 = xs * xs + ys * ys
    warm = np.exp(r2 * np.float32(-1 / (2 * 430.0 ** 2))) * np.float32(0.95)
    # A cone of light below the shade, pooling on the desk.
    cone = np.arctan2(ys, xs)
    cone -= np.float32(math.radians(118))
    cone /= np.float32(0.55)
    np.square(cone, out=cone)
    np.negative(cone, out=cone)
    np.exp(cone, out=cone)
    r = np.sqrt(r2)
    cone *= np.exp(r * np.float32(-1 / 900)) * (ys > 0)
    warm += np.float32(0.55) * cone
    del cone
    glow = np.exp(r * np.float32(-1 / 55.0)) * np.float32(0.8)
    glow += np.exp(r2 * np.float32(-1 / (2 * 160.0 ** 2))) * np.float32(0.18)
    return warm, glow


AMBIENT = 0.5
LAMP_GAIN = 1.05


def _vignette() -> np.ndarray:
    ys = (np.arange(H, dtype=np.float32)[:, None] - H / 2) / (H / 2)
    xs = (np.arange(W, dtype=np.float32)[None, :] - W / 2) / (W / 2)
    r = np.sqrt(xs * xs * np.float32(0.8) + ys * ys)
    r -= np.float32(0.45)
    r *= np.float32(1 / 1.0)
    np.clip(r, 0, 1, out=r)
    v = r * r
    v *= 3 - 2 * r
    v *= np.float32(-0.38)
    v += np.float32(1.0)
    return v


def _bloom_small(img: np.ndarray) -> np.ndarray:
    """Bloom at quarter resolution (it is a blur; full resolution would only cost memory)."""
    small = img[::4, ::4]
    lum = small @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    bright = small * smoothstep(0.55, 1.1, lum)[..., None]
    return (blur(bright, 14) * 0.55).astype(np.float32)


def _add_upsampled(dst: np.ndarray, small: np.ndarray, f: int = 4) -> None:
    """dst += small scaled up f times (nearest), without a full-size temporary."""
    h, w = dst.shape[:2]
    for dy in range(f):
        for dx in range(f):
            part = dst[dy::f, dx::f]
            part += small[:part.shape[0], :part.shape[1]]


def _upsampled_crop(small: np.ndarray, sl: tuple[slice, slice], f: int = 4) -> np.ndarray:
    ys = np.arange(sl[0].start, sl[0].stop) // f
    xs = np.arange(sl[1].start, sl[1].stop) // f
    return small[ys][:, xs]


def grade(img: np.ndarray, tint: np.ndarray) -> np.ndarray:
    """The lofi finish, in place: lifted blacks, soft highlights, a tint from the palette's sky."""
    for c in range(3):
        ch = img[..., c]
        ch /= 1 + 0.35 * np.maximum(ch - 0.75, 0)  # roll off highlights
        ch *= 0.93
        ch += 0.028 + float(tint[c]) * 0.03
    return img


# ----------------------------------------------------------------------------- build

def palette_of(variation: dict[str, Any]) -> dict[str, str]:
    """The variation's palette, or the default one when it lacks a colour the painter needs."""
    pal = variation.get("palette") or {}
    required = ("sky", "sky2", "wall", "frame", "lamp", "accent", "ink")
    if any(k not in pal for k in required):
        from ..variation import PALETTES  # noqa: PLC0415

        pal = PALETTES["midnight plum"]
    return pal


def tail_drawer(variation: dict[str, Any]) -> Callable[[Layer, float], None]:
    """The tail's drawer for this variation (scenefile rebuilds it: a closure is not stored)."""
    return _tail_drawer(palette_of(variation))


def build_scene(variation: dict[str, Any]) -> Scene:
    pal = palette_of(variation)
    seed = int(variation.get("seed", 0)) & 0xFFFFFFFF
    scene = str(variation.get("scene", "city window"))
    pose = str(variation.get("pose", "headphones on, eyes closed"))
    weather = "snow" if variation.get("weather") == "snow" else "rain"
    rng = np.random.default_rng(seed)
    lights: list = []

    outside = _outside(pal, scene, weather, np.random.default_rng([seed, 1]), lights)
    room = Layer.empty(W, H)
    _wall(room, pal, np.random.default_rng([seed, 2]), scene)
    _window(room, pal, scene, weather, np.random.default_rng([seed, 3]))
    if scene in ("rooftop room", "attic desk", "train window") or rng.random() < 0.3:
        _string_lights(room, pal, rng, lights)
    _curtain(room, pal, rng)
    shelves = [(300, 1330, 1880)] if scene != "bookshop corner" else [(210, 1300, 1900), (400, 1650, 1900)]
    for sy, sx0, sx1 in shelves:
        _shelf(room, pal, np.random.default_rng([seed, 4, sy]), sy, sx0, sx1)
    _plant(room, pal, np.random.default_rng([seed, 5]), WIN[0] + 110, WIN[3] - 4, 44)
    if scene == "lighthouse study":
        _plant(room, pal, np.random.default_rng([seed, 6]), 1780, 286, 34)
    _desk(room, pal, np.random.default_rng([seed, 7]))
    lamp_xy = _lamp(room, pal)
    tail_draw = _tail_drawer(pal)
    cat = _porsuk(room, pal, pose, lamp_xy[0])
    steam = _porsuk_prop(room, pal, pose, rng)
    # Desk clutter on the left, away from the cat.
    _books(room, pal, np.random.default_rng([seed, 8]), 420, DESK_Y + 36)
    if steam is None:
        steam = _mug(room, pal, 660, DESK_Y + 36)
    else:
        _cassette(room, pal, 650, DESK_Y + 36)
    lamp_col = _col(pal, "lamp")
    tint = _col(pal, "sky2")
    warm, glow = _light_map((lamp_xy[0], lamp_xy[1]))
    vig = _vignette()
    grain = np.random.default_rng([seed, 9]).normal(0, 0.012, (H, W)).astype(np.float32)

    def light(sl: tuple[slice, slice]) -> np.ndarray:
        return AMBIENT + LAMP_GAIN * warm[sl][..., None] * lamp_col

    # Arrays are reused in place from here on: an hour-long session runs this next to the
    # music synthesis, and every full-size float colour image is 25 MB.
    blink_src = None
    if not cat["closed"] and cat["eyes"]:
        eb = cat["eye_box"]
        sl = (slice(eb[1], eb[3]), slice(eb[0], eb[2]))
        patch_room = Layer(room.rgb[sl].copy(), room.alpha[sl].copy(), eb[0], eb[1])
        _closed_eyes(patch_room, pal, cat, lamp_xy[0])
        blink_src = (eb, sl, _view_of(outside, eb) * (1 - patch_room.alpha[..., None]) + patch_room.rgb * light(sl))
    lb = (max(0, int(lamp_xy[0] - 700)), max(0, int(lamp_xy[1] - 600)), W, H)
    lsl = (slice(lb[1], lb[3]), slice(lb[0], lb[2]))
    lamp_lit = room.rgb[lsl] * (LAMP_GAIN * warm[lsl][..., None] * lamp_col)  # the lamp's share of lit surfaces
    tb = tail_draw.bounds()  # type: ignore[attr-defined]
    tsl = (slice(tb[1], tb[3]), slice(tb[0], tb[2]))

    lit = room.rgb
    for c in range(3):
        lit[..., c] *= AMBIENT + (LAMP_GAIN * float(lamp_col[c])) * warm
    del warm
    gx0, gy0, gx1, gy1 = GLASS
    gsl = (slice(gy0, gy1), slice(gx0, gx1))
    lit[gsl] += outside.rgb * (1 - room.alpha[gsl])[..., None]
    rain_gain = ((1 - room.alpha[gsl]) * vig[gsl] * 0.93).astype(np.float32)
    del outside, room

    tail = Tail(box=tb, under=lit[tsl].copy(), finish_add=np.empty(0), vig=vig[tsl].copy(),
                grain=grain[tsl].copy(), draw=tail_draw)
    tail_draw(Layer(lit[tsl], np.ones(lit[tsl].shape[:2], np.float32), tb[0], tb[1]), 0.0)
    for c in range(3):
        lit[..., c] += glow * float(lamp_col[c])
    bloom = _bloom_small(lit)
    _add_upsampled(lit, bloom)
    tail.finish_add = glow[tsl][..., None] * lamp_col + _upsampled_crop(bloom, tsl)
    lamp_contrib = ((lamp_lit + glow[lsl][..., None] * lamp_col) * vig[lsl][..., None] * 0.93).astype(np.float32)
    del lamp_lit
    blink = None
    if blink_src is not None:
        eb, sl, plit = blink_src
        patch = plit + glow[sl][..., None] * lamp_col + _upsampled_crop(bloom, sl)
        patch *= vig[sl][..., None]
        patch = grade(patch, tint) + grain[sl][..., None]
        blink = (eb, np.clip(patch, 0, 1).astype(np.float32))
    del glow, bloom
    base = lit
    for c in range(3):
        base[..., c] *= vig
    grade(base, tint)
    for c in range(3):
        base[..., c] += grain
    np.clip(base, 0, 1, out=base)
    del grain

    # Precipitation behind the glass; the artwork shows it at t = 0.
    gw, gh = gx1 - gx0, gy1 - gy0
    precip = wx.make_layers(weather, gw, gh, seed ^ 0x5EED)
    rain_color = (np.array([0.78, 0.84, 0.95], np.float32) if weather == "rain"
                  else np.array([0.95, 0.96, 1.0], np.float32))
    still = to_u8(base)
    p0 = wx.composite(precip, 0.0)
    still[gy0:gy1, gx0:gx1] = to_u8(base[gy0:gy1, gx0:gx1] + (p0 * rain_gain)[..., None] * rain_color)

    return Scene(still=still, base=base, glass_box=GLASS,
                 rain_gain=rain_gain, rain_color=rain_color, precip=precip, lamp_box=lb,
                 lamp_contrib=lamp_contrib, lamp_xy=lamp_xy, lamp_color=lamp_col, tail=tail, blink=blink,
                 tint=tint, accent=_col(pal, "accent"), cup_xy=(float(cat["cup_light"][0]), float(cat["cup_light"][1])),
                 steam_xy=steam, notes=bool(cat["closed"]), lights=lights, seed=seed, weather=weather)


def _closed_eyes(patch: Layer, pal: dict[str, str], cat: dict[str, Any], lamp_x: float) -> None:
    """Lids over the open eyes, drawn into a patch layer cropped around them."""
    ink = _col(pal, "ink")
    hx, hy, pivot, tilt = cat["head"]
    xs, ys, b = patch.grid((patch.ox, patch.oy, patch.ox + patch.w, patch.oy + patch.h))
    rx, ry = _rot(xs, ys, pivot[0], pivot[1], tilt)
    shade = _fur_shader(hx, hy, 160, FUR, _col(pal, "lamp"), lamp_x)
    eye_y = cat["eye_y"]
    for ex in cat["eyes"]:
        d = circle(rx, ry, ex, eye_y, 34.5)
        patch.fill(b, coverage(d, 1.2), shade(rx, ry, d))
        arc = np.maximum(np.abs(circle(rx, ry, ex, eye_y - 10, 26)) - 2.6, eye_y - 2 - ry)
        patch.fill(b, coverage(arc, 1.2), ink)


def _view_of(layer: Layer, box: Box) -> np.ndarray:
    """layer's pixels over a canvas box, zero where the (cropped) layer does not reach."""
    x0, y0, x1, y1 = box
    out = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
    ax0, ay0 = max(x0, layer.ox), max(y0, layer.oy)
    ax1, ay1 = min(x1, layer.ox + layer.w), min(y1, layer.oy + layer.h)
    if ax1 > ax0 and ay1 > ay0:
        out[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] = layer.rgb[ay0 - layer.oy:ay1 - layer.oy, ax0 - layer.ox:ax1 - layer.ox]
    return out


def to_u8(img: np.ndarray) -> np.ndarray:
    out = np.empty(img.shape, np.uint8)
    for r in range(0, img.shape[0], 128):  # in bands: no full-size float temporaries
        band = np.clip(img[r:r + 128], 0.0, 1.0) * 255.0 + 0.5
        out[r:r + 128] = band
    return out


# ----------------------------------------------------------------------------- files

MODEL = "procedural-v1"


def scene_key(variation: dict[str, Any]) -> str:
    """What identifies a painted scene; stored in the PNG so the motion step can tell that an
    artwork is one this painter made (and can rebuild its layers) rather than a paid one."""
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    parts = {k: variation.get(k) for k in ("seed", "palette", "scene", "pose", "weather")}
    blob = json.dumps([MODEL, parts], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def make_artwork(variation: dict[str, Any], out_png: Path) -> Scene:
    scene = build_scene(variation)
    png.write_png(Path(out_png), scene.still, text={"Software": f"badger-tape {MODEL}",
                                                 "Scene": scene_key(variation)})
    return scene


def make_thumbnail(src_png: Path, out_jpg: Path) -> None:
    """A 1280x720 JPEG under 2 MB from any cover (cropped to 16:9 if it is not)."""
    from . import ffmpeg  # noqa: PLC0415

    src_png, out_jpg = Path(src_png), Path(out_jpg)
    ffmpeg.check_input(src_png, "image")
    tmp = out_jpg.with_name(f".{out_jpg.stem}.tmp.jpg")
    for q in (2, 4, 7, 12, 20):
        ffmpeg.run_sync(["-y", "-v", "error", "-i", str(src_png), "-vf",
                         f"scale={THUMB_W}:{THUMB_H}:force_original_aspect_ratio=increase:flags=lanczos,"
                         f"crop={THUMB_W}:{THUMB_H},format=yuvj420p",
                         "-frames:v", "1", "-q:v", str(q), str(tmp)], timeout=60)
        if tmp.stat().st_size < THUMB_MAX_BYTES:
            tmp.replace(out_jpg)
            return
    tmp.unlink(missing_ok=True)
    raise RuntimeError(f"could not make a thumbnail under 2 MB from {src_png}")
