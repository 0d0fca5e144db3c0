"""Porsuk, the headphone-wearing night-owl cat: the channel's mascot, drawn from shapes.

The figure is drawn in its own coordinates (sitting on a surface at y = SURFACE_Y, centred on
x = CX, about 460 px wide) and placed on the canvas through a paint.Placement, so the same cat
sits at a desk, on a rooftop ledge or by a train window at any scale. Whatever the scene, the
character is the same: dark grey fur, a cream badger blaze from brow to muzzle (porsuk is
Turkish for badger), cream chest and paws, amber eyes, headphones in the palette's accent.

`draw` paints the whole figure in the order the parts overlap; `lids` (0 open, 1 shut) and
`page` (a turning page's angle) let the motion loop repaint the same figure with its eyes
half or fully closed or a page mid-turn, so a blink or a page turn is the figure itself at
another moment, never a patch painted over it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .. import scenes
from .paint import (Layer, Placement, PlacedLayer, circle, coverage, ellipse, hex_rgb, mix, polygon, rbox,
                    rotated, segment, shade, smooth_union)

CX = 1010.0          # the figure's centre line
SURFACE_Y = 812.0    # the top of what it sits on (desk, ledge, seat)
HEAD_Y = 448.0
# The figure's own extent, paws and headphones included (tail and props excepted).
BOUNDS = (CX - 250.0, HEAD_Y - 210.0, CX + 250.0, SURFACE_Y + 45.0)

FUR = np.array([0.25, 0.25, 0.29], np.float32)
FUR_DARK = np.array([0.16, 0.16, 0.19], np.float32)
CREAM = np.array([0.93, 0.9, 0.84], np.float32)
PINK = np.array([0.93, 0.6, 0.64], np.float32)
PAPER = np.array([0.95, 0.92, 0.84], np.float32)

POSES = scenes.POSES
EYES_CLOSED = ("headphones on, eyes closed", "nodding to the beat", "sipping tea")


@dataclass
class Head:
    """Where the head is and how it is turned; shapes in head space follow its tilt."""

    x: float
    y: float
    tilt: float
    look: tuple[float, float]
    closed: bool

    @property
    def pivot(self) -> tuple[float, float]:
        return (self.x, self.y + 110)

    @property
    def eye_y(self) -> float:
        return self.y + 2

    def eyes_x(self) -> tuple[float, float]:
        return (self.x - 60, self.x + 60)

    def space(self, f: Callable) -> Callable:
        """f(x, y) drawn in coordinates rotated by the tilt about the neck."""
        px, py = self.pivot
        return lambda a, b: f(*rotated(a, b, px, py, self.tilt))


@dataclass
class Figure:
    """What the scene and the loop need to know about the painted figure (figure coordinates)."""

    head: Head
    steam: tuple[float, float] | None      # where steam leaves a cup, if Porsuk holds one
    book: tuple[float, float, float, float] | None  # the open book's box, for a page turn
    eye_box: tuple[float, float, float, float]
    cup_light: tuple[float, float]          # the right headphone cup, where notes float from


@dataclass
class Look:
    """Colours and light the figure is painted with."""

    ink: np.ndarray
    lamp: np.ndarray
    accent: np.ndarray
    lamp_x: float          # the key light's x in figure coordinates (the lit side of the fur)
    scarf: bool = False    # winter: a knitted scarf in the accent colour


def look_for(pal: dict[str, str], lamp_x: float, scarf: bool = False) -> Look:
    return Look(hex_rgb(pal["ink"]), hex_rgb(pal["lamp"]), hex_rgb(pal["accent"]), lamp_x, scarf)


def head_for(pose: str) -> Head:
    """The head's position and turn for a pose."""
    x, tilt, look = CX, 0.0, (0.0, 0.0)
    if pose == "nodding to the beat":
        tilt = math.radians(-8)
    elif pose == "gazing out the window":
        tilt, look, x = math.radians(6), (-10.0, -4.0), CX - 14
    elif pose in ("writing in a notebook", "reading a paperback"):
        tilt, look = math.radians(3), (0.0, 9.0)
    return Head(x, HEAD_Y, tilt, look, pose in EYES_CLOSED)


def fur_shader(cx: float, cy: float, rx: float, base: np.ndarray, look: Look) -> Callable:
    """Soft cartoon shading: lighter towards the key light's side, with a warm rim along that edge."""
    side = 1.0 if look.lamp_x > cx else -1.0
    lamp = look.lamp

    def shader(xs: np.ndarray, ys: np.ndarray, d: np.ndarray) -> np.ndarray:
        u = np.clip((xs - cx) / rx * side, -1, 1)
        k = 0.9 + 0.16 * u - 0.05 * np.clip((ys - cy) / rx, -1, 1)
        rim = np.exp(-np.abs(d) / 9.0) * np.clip(u, 0, 1) ** 2
        return base * k[..., None] + lamp * (0.35 * rim)[..., None]
    return shader


# ----------------------------------------------------------------------------- the figure

def draw(layer: Layer, place: Placement, look: Look, pose: str, *, lids: float = 0.0,
         page: float | None = None) -> Figure:
    """Paint Porsuk in pose onto layer; lids > 0 closes open eyes, page turns a book's page (0..pi)."""
    fig = PlacedLayer(layer, place)
    head = head_for(pose)
    _body(fig, look)
    if look.scarf:
        _scarf(fig, look)
    _headband_and_ears(fig, look, head)
    _face(fig, look, head)
    _eyes(fig, look, head, 1.0 if head.closed else lids)
    _muzzle(fig, look, head)
    _headphones(fig, look, head)
    steam, book = _prop(fig, look, pose, page)
    eye_box = (head.x - 125, head.y - 50, head.x + 125, head.y + 52)
    cup = rotated(np.float32(head.x + 168 + 14), np.float32(head.y + 44), *head.pivot, -head.tilt)
    return Figure(head, steam, book, eye_box, (float(cup[0]), float(cup[1])))


def _body(fig: PlacedLayer, look: Look) -> None:
    """Body with a cream chest, and the front paws resting on the surface."""
    cx, cy, rx, ry, y = CX, 660.0, 178.0, 168.0, SURFACE_Y
    body = lambda a, b: smooth_union(
        smooth_union(ellipse(a, b, cx, cy, rx, ry), ellipse(a, b, cx, cy + 95, rx * 1.06, 85), 30),
        np.minimum(ellipse(a, b, cx - 150, y - 40, 62, 66), ellipse(a, b, cx + 150, y - 40, 62, 66)), 20)
    fig.shape((cx - 230, cy - 190, cx + 230, y + 40), body, fur_shader(cx, cy, rx, FUR, look), outline=(look.ink, 2.6))
    fig.shape((cx - 90, cy - 120, cx + 90, cy + 120), lambda a, b: ellipse(a, b, cx, cy + 10, 72, 100),
              CREAM * 0.92, alpha=0.95)
    for px in (cx - 62, cx + 62):
        fig.shape((px - 50, y - 10, px + 50, y + 40), lambda a, b, px=px: ellipse(a, b, px, y + 16, 42, 22), CREAM,
                  outline=(look.ink, 2.2))
        for tx in (-14, 0, 14):
            fig.shape((px + tx - 3, y + 20, px + tx + 3, y + 38),
                      lambda a, b, px=px, tx=tx: segment(a, b, px + tx, y + 26, px + tx, y + 36, 0.6), look.ink, alpha=0.7)


def _scarf(fig: PlacedLayer, look: Look) -> None:
    """A knitted scarf at the neck, its stripes in the accent colour (winter)."""
    cx, y = CX, HEAD_Y + 128
    wool = mix(look.accent, np.array([0.9, 0.88, 0.85], np.float32), 0.15)

    def knit(xs: np.ndarray, ys: np.ndarray, d: np.ndarray) -> np.ndarray:
        stripe = (np.sin((xs - cx) / 9.0) > 0.55).astype(np.float32)
        return wool * (0.85 + 0.15 * stripe)[..., None] * (0.9 + 0.1 * np.clip((ys - y) / 30, -1, 1))[..., None]
    fig.shape((cx - 170, y - 40, cx + 170, y + 50), lambda a, b: ellipse(a, b, cx, y, 150, 34), knit,
              outline=(look.ink, 2.4))
    tail = [(cx + 40, y + 10), (cx + 92, y + 18), (cx + 82, y + 150), (cx + 38, y + 140)]
    fig.shape((cx + 20, y, cx + 110, y + 160), lambda a, b: polygon(a, b, tail) - 4, knit, outline=(look.ink, 2.2))
    for k in range(4):
        fx = cx + 46 + k * 11
        fig.shape((fx - 4, y + 138, fx + 4, y + 168), lambda a, b, fx=fx: segment(a, b, fx, y + 142, fx - 1, y + 160, 2.2),
                  wool * 0.9)


def _headband_and_ears(fig: PlacedLayer, look: Look, head: Head) -> None:
    hx, hy = head.x, head.y
    band = mix(look.accent, look.ink, 0.35)
    fig.shape((hx - 200, hy - 200, hx + 200, hy + 40),
              head.space(lambda a, b: np.maximum(np.abs(ellipse(a, b, hx, hy + 10, 183, 178)) - 11, b - hy - 10)),
              band, outline=(look.ink, 2.4))
    for sgn in (-1, 1):
        tip = (hx + sgn * 112, hy - 168)
        outer = [(hx + sgn * 150, hy - 40), tip, (hx + sgn * 28, hy - 110)]
        inner = [(hx + sgn * 128, hy - 62), (hx + sgn * 108, hy - 140), (hx + sgn * 52, hy - 102)]
        fig.shape((hx + min(sgn * 170, sgn * 10) - 20, hy - 200, hx + max(sgn * 170, sgn * 10) + 20, hy - 20),
                  head.space(lambda a, b, p=outer: polygon(a, b, p) - 9), FUR_DARK, outline=(look.ink, 2.6))
        fig.shape((hx + min(sgn * 150, sgn * 30) - 10, hy - 160, hx + max(sgn * 150, sgn * 30) + 10, hy - 50),
                  head.space(lambda a, b, p=inner: polygon(a, b, p) - 5), mix(PINK, FUR, 0.35))


def _face(fig: PlacedLayer, look: Look, head: Head) -> None:
    """Head, the badger blaze, the cream muzzle and pink cheeks."""
    hx, hy = head.x, head.y
    head_sdf = lambda a, b: smooth_union(ellipse(a, b, hx, hy, 160, 128), ellipse(a, b, hx, hy + 60, 118, 72), 40)
    fig.shape((hx - 190, hy - 160, hx + 190, hy + 160), head.space(head_sdf), fur_shader(hx, hy, 160, FUR, look),
              outline=(look.ink, 2.6))
    fig.shape((hx - 60, hy - 140, hx + 60, hy + 40),
              head.space(lambda a, b: smooth_union(ellipse(a, b, hx, hy - 60, 20, 72), ellipse(a, b, hx, hy + 20, 30, 30), 18)),
              CREAM, alpha=0.96)
    fig.shape((hx - 110, hy + 10, hx + 110, hy + 110),
              head.space(lambda a, b: smooth_union(ellipse(a, b, hx - 34, hy + 56, 46, 34),
                                                   ellipse(a, b, hx + 34, hy + 56, 46, 34), 14)),
              CREAM, alpha=0.98)
    for sgn in (-1, 1):
        fig.shape((hx + sgn * 88 - 34, hy + 30, hx + sgn * 88 + 34, hy + 80),
                  head.space(lambda a, b, s=sgn: ellipse(a, b, hx + s * 88, hy + 55, 26, 15)), PINK, alpha=0.45, aa=6)


def _eyes(fig: PlacedLayer, look: Look, head: Head, lids: float) -> None:
    """Amber eyes; lids (0..1) lower the upper lid over them, 1 draws closed, content arcs.

    A lowered lid hides the part of the eye above it, so the face painted before the eyes
    shows there: fur, blaze and muzzle stay as they were.
    """
    ey = head.eye_y
    lx, ly = head.look
    iris = mix(np.array([0.98, 0.78, 0.28], np.float32), look.accent, 0.2)
    for ex in head.eyes_x():
        box = (ex - 40, ey - 40, ex + 40, ey + 40)
        if lids >= 0.99:
            fig.shape((ex - 36, ey - 20, ex + 36, ey + 30),
                      head.space(lambda a, b, ex=ex: np.maximum(np.abs(circle(a, b, ex, ey - 6, 24)) - 2.6, ey + 2 - b)),
                      look.ink)
            continue
        lid_y = ey - 31 + 62 * lids  # the lid's edge, straight across the eye
        cut = (lambda a, b: lid_y - b) if lids > 0 else (lambda a, b: np.full_like(b * a, -1e3))
        eye = lambda a, b, ex=ex: np.maximum(circle(a, b, ex, ey, 31), cut(a, b))
        fig.shape(box, head.space(eye), lambda a, b, d: iris * (0.8 + 0.3 * np.clip((b - ey + 20) / 50, 0, 1))[..., None],
                  outline=(look.ink, 3.0))
        fig.shape(box, head.space(lambda a, b, ex=ex: np.maximum(ellipse(a, b, ex + lx, ey + ly, 13, 25), cut(a, b))),
                  look.ink)
        fig.shape(box, head.space(lambda a, b, ex=ex: np.maximum(circle(a, b, ex - 10 + lx * 0.5, ey - 12 + ly * 0.5, 7.5),
                                                                  cut(a, b))),
                  np.array([1.0, 1.0, 1.0], np.float32))
        fig.shape(box, head.space(lambda a, b, ex=ex: np.maximum(circle(a, b, ex + 9 + lx * 0.5, ey + 10 + ly * 0.5, 3.5),
                                                                  cut(a, b))),
                  np.array([1.0, 1.0, 1.0], np.float32), alpha=0.8)
        if lids > 0:
            # The lid's edge: a dark line across the eye, slightly curved like the closed arc.
            fig.shape(box, head.space(lambda a, b, ex=ex: np.maximum(
                np.abs(b - lid_y - 0.004 * (a - ex) ** 2) - 2.4, circle(a, b, ex, ey, 33.5))), look.ink)


def _muzzle(fig: PlacedLayer, look: Look, head: Head) -> None:
    """Nose, mouth and whiskers."""
    hx, ny = head.x, head.y + 38
    fig.shape((hx - 20, ny - 14, hx + 20, ny + 16),
              head.space(lambda a, b: polygon(a, b, [(hx - 13, ny - 6), (hx + 13, ny - 6), (hx, ny + 8)]) - 3),
              PINK, outline=(look.ink, 1.8))
    for sgn in (-1, 1):
        fig.shape((hx + sgn * 13 - 20, ny + 2, hx + sgn * 13 + 20, ny + 30),
                  head.space(lambda a, b, s=sgn: np.maximum(np.abs(circle(a, b, hx + s * 12, ny + 10, 12)) - 1.5,
                                                            ny + 10 - b)), look.ink)
    whisk = np.array([0.85, 0.84, 0.8], np.float32)
    for sgn in (-1, 1):
        for k, dy in enumerate((-6, 6, 18)):
            x1, x2 = hx + sgn * 62, hx + sgn * (178 - k * 6)
            fig.shape((min(x1, x2) - 4, ny + dy - 20, max(x1, x2) + 4, ny + dy + 24),
                      head.space(lambda a, b, x1=x1, x2=x2, dy=dy, k=k: segment(a, b, x1, ny + dy, x2, ny + dy - 14 + k * 12, 0.9)),
                      whisk, alpha=0.8)


def _headphones(fig: PlacedLayer, look: Look, head: Head) -> None:
    """The cups over the sides of the head (the band was drawn behind the ears)."""
    hx, hy = head.x, head.y
    for sgn in (-1, 1):
        c = hx + sgn * 168
        box = (c - 50, hy - 80, c + 50, hy + 90)
        fig.shape(box, head.space(lambda a, b, c=c: rbox(a, b, c, hy + 8, 34, 64, 28)), look.accent * 0.9,
                  outline=(look.ink, 2.6))
        fig.shape(box, head.space(lambda a, b, c=c, s=sgn: rbox(a, b, c - s * 22, hy + 8, 12, 54, 10)), mix(look.ink, FUR, 0.5))
        fig.shape(box, head.space(lambda a, b, c=c, s=sgn: ellipse(a, b, c + s * 8, hy - 16, 9, 18)),
                  np.array([1.0, 1.0, 1.0], np.float32), alpha=0.25, aa=3)


# ----------------------------------------------------------------------------- what it holds

def _prop(fig: PlacedLayer, look: Look, pose: str, page: float | None
          ) -> tuple[tuple[float, float] | None, tuple[float, float, float, float] | None]:
    """What Porsuk holds or works on: (where steam rises, the open book's box)."""
    if pose == "sipping tea":
        return _held_mug(fig, look), None
    if pose == "writing in a notebook":
        _notebook(fig, look)
    elif pose == "reading a paperback":
        return None, _paperback(fig, look, page)
    return None, None


def mug(fig: Any, ink: np.ndarray, accent: np.ndarray, x: float, y: float, s: float = 1.0,
        coffee: bool = False) -> tuple[float, float]:
    """A mug standing at (x, y) (its base); returns where its steam rises. fig: a Layer or PlacedLayer."""
    c = mix(np.array([0.92, 0.88, 0.8], np.float32), accent, 0.35)
    fig.shape((x + 20 * s, y - 50 * s, x + 60 * s, y - 5 * s),
              lambda a, b: np.abs(ellipse(a, b, x + 34 * s, y - 28 * s, 18 * s, 15 * s)) - 4.5 * s, c, outline=(ink, 1.8))
    fig.shape((x - 40 * s, y - 70 * s, x + 40 * s, y + 4 * s),
              lambda a, b: rbox(a, b, x, y - 33 * s, 31 * s, 35 * s, 8 * s), c, outline=(ink, 2))
    drink = np.array([0.3, 0.18, 0.1], np.float32) if coffee else np.array([0.35, 0.22, 0.15], np.float32)
    fig.shape((x - 36 * s, y - 76 * s, x + 36 * s, y - 58 * s), lambda a, b: ellipse(a, b, x, y - 67 * s, 29 * s, 6 * s),
              drink)
    fig.shape((x - 30 * s, y - 50 * s, x + 30 * s, y - 30 * s), lambda a, b: rbox(a, b, x, y - 40 * s, 28 * s, 4 * s, 2),
              accent, alpha=0.8)
    return x, y - 75 * s


def _held_mug(fig: PlacedLayer, look: Look) -> tuple[float, float]:
    cx, y = CX, SURFACE_Y
    steam = mug(fig, look.ink, look.accent, cx, y - 62, 1.65)
    for px in (cx - 62, cx + 62):
        fig.shape((px - 40, y - 150, px + 40, y - 70), lambda a, b, px=px: ellipse(a, b, px, y - 108, 28, 24), CREAM,
                  outline=(look.ink, 2.2))
    return steam


def _notebook(fig: PlacedLayer, look: Look) -> None:
    cx, y, ink = CX, SURFACE_Y, look.ink
    pts = [(cx - 150, y + 44), (cx + 150, y + 44), (cx + 130, y + 4), (cx - 130, y + 4)]
    fig.shape((cx - 160, y, cx + 160, y + 50), lambda a, b: polygon(a, b, pts) - 2, PAPER, outline=(ink, 2))
    fig.shape((cx - 2, y, cx + 2, y + 50), lambda a, b: segment(a, b, cx, y + 6, cx, y + 42, 0.8), ink)
    for k in range(4):
        yy = y + 13 + k * 8
        fig.shape((cx - 130, yy - 2, cx + 130, yy + 2), lambda a, b, yy=yy, k=k: segment(a, b, cx - 118 + k * 3, yy, cx - 14, yy, 0.6),
                  ink, alpha=0.5)
    fig.shape((cx + 20, y - 40, cx + 130, y + 40), lambda a, b: segment(a, b, cx + 40, y + 30, cx + 120, y - 30, 5),
              look.lamp, outline=(ink, 1.5))
    fig.shape((cx + 40, y + 10, cx + 80, y + 40), lambda a, b: ellipse(a, b, cx + 60, y + 22, 30, 18), CREAM,
              outline=(ink, 2.2))


def _page_lines(fig: PlacedLayer, ink: np.ndarray, sgn: int, edge: float = 1.0) -> None:
    cx, y = CX, SURFACE_Y
    for k in range(9):
        y0 = y - 160 + k * 13
        fig.shape((cx - 130, y0 - 25, cx + 130, y0 + 15),
                  lambda a, b, y0=y0: segment(a, b, cx + sgn * 14 * edge, y0 + 4, cx + sgn * 100 * edge, y0 - 10, 0.7),
                  ink, alpha=0.35)


def _paperback(fig: PlacedLayer, look: Look, page: float | None) -> tuple[float, float, float, float]:
    cx, y, ink = CX, SURFACE_Y, look.ink
    cover = shade(look.accent, 0.8)
    for sgn in (-1, 1):
        outer = [(cx, y - 20), (cx + sgn * 130, y - 40), (cx + sgn * 126, y - 190), (cx, y - 165)]
        fig.shape((cx - 150, y - 200, cx + 150, y - 10), lambda a, b, p=outer: polygon(a, b, p) - 3, cover, outline=(ink, 2))
        pages = [(cx, y - 26), (cx + sgn * 120, y - 45), (cx + sgn * 117, y - 184), (cx, y - 170)]
        fig.shape((cx - 150, y - 200, cx + 150, y - 10), lambda a, b, p=pages: polygon(a, b, p), PAPER)
        _page_lines(fig, ink, sgn)
    if page is not None and 0 < page < math.pi:
        # A page lifting from the right and laying itself down on the left: its free edge
        # swings about the spine, foreshortened by cos(page), and rises as it stands up.
        reach = 120 * math.cos(page)
        lift = 28 * math.sin(page)
        pts = [(cx, y - 26), (cx + reach, y - 45 - lift), (cx + reach * 0.975, y - 184 - lift), (cx, y - 170)]
        shade_k = 0.82 + 0.18 * abs(math.cos(page))
        fig.shape((cx - 150, y - 230, cx + 150, y - 10), lambda a, b: polygon(a, b, pts) - 0.5, PAPER * shade_k,
                  outline=(ink, 1.4))
    for px in (cx - 128, cx + 128):
        fig.shape((px - 36, y - 140, px + 36, y - 70), lambda a, b, px=px: ellipse(a, b, px, y - 104, 26, 22), CREAM,
                  outline=(ink, 2.2))
    return (cx - 150, y - 235, cx + 150, y - 10)


# ----------------------------------------------------------------------------- the tail

class Tail:
    """The tail lying on the surface and curling up; swing (-1..1) changes how far it curls.

    Drawn straight onto the canvas (no PlacedLayer): the loop redraws it during a flick, so it
    computes each capsule only over that capsule's own pixels.
    """

    def __init__(self, place: Placement, look: Look):
        self.place, self.look = place, look
        self.root = (CX + 130, SURFACE_Y + 22)

    def points(self, swing: float) -> list[tuple[float, float]]:
        n, pts = 16, []
        x, y = self.root
        for i in range(n + 1):
            pts.append(self.place.to_canvas(x, y))
            u = (i + 0.5) / n
            ang = -(0.05 + (2.1 + 0.35 * swing) * u ** 2.2)
            x += math.cos(ang) * 15.5
            y += math.sin(ang) * 15.5
        return pts

    def bounds(self) -> tuple[int, int, int, int]:
        """A box (even coordinates) holding the tail at every swing."""
        pts = self.points(-1.0) + self.points(1.0) + self.points(0.0)
        pad = 30 * self.place.scale
        x0 = int(min(p[0] for p in pts) - pad) & ~1
        y0 = int(min(p[1] for p in pts) - pad) & ~1
        x1 = (int(max(p[0] for p in pts) + pad + 2) + 1) & ~1
        y1 = (int(max(p[1] for p in pts) + pad + 2) + 1) & ~1
        return (x0, y0, x1, y1)

    def draw(self, layer: Layer, swing: float) -> None:
        pts = self.points(swing)
        s = self.place.scale
        n = len(pts) - 1
        box = (min(p[0] for p in pts) - 40 * s, min(p[1] for p in pts) - 40 * s,
               max(p[0] for p in pts) + 40 * s, max(p[1] for p in pts) + 40 * s)
        xs, ys, b = layer.grid(box)
        if b[2] <= b[0] or b[3] <= b[1]:
            return
        d = np.full((ys.shape[0], xs.shape[1]), 1e4, np.float32)
        for i in range(n):
            r0, r1 = (21 - 8 * i / n) * s, (21 - 8 * (i + 1) / n) * s
            (ax, ay), (bx, by) = pts[i], pts[i + 1]
            c0 = max(0, int(min(ax, bx) - r0 - 4 - xs[0, 0] + 0.5))
            c1 = min(d.shape[1], int(max(ax, bx) + r0 + 5 - xs[0, 0] + 0.5))
            q0 = max(0, int(min(ay, by) - r0 - 4 - ys[0, 0] + 0.5))
            q1 = min(d.shape[0], int(max(ay, by) + r0 + 5 - ys[0, 0] + 0.5))
            if c1 <= c0 or q1 <= q0:
                continue
            sub = d[q0:q1, c0:c1]
            np.minimum(sub, segment(xs[:, c0:c1], ys[q0:q1], ax, ay, bx, by, (r0, r1)), out=sub)
        rx = pts[0][0]
        away = (xs - rx) * (-1 if self.place.flip else 1)
        col = FUR * (0.95 + 0.2 * np.clip(away / (200 * s), 0, 1))[..., None]
        col = col + self.look.lamp * 0.3 * (np.exp(-np.abs(d) / (8.0 * s)) * np.clip(away / (150 * s), 0, 1))[..., None]
        tip = np.clip(1.3 - np.hypot(xs - pts[-1][0], ys - pts[-1][1]) / (24 * s), 0, 1)
        col = col * (1 - tip[..., None]) + CREAM * tip[..., None]
        layer.fill(b, coverage(d - 2.6 * s, 1.2), self.look.ink)
        layer.fill(b, coverage(d, 1.2), col)
