"""What the window shows: sky, sun or moon, and a view (city, rooftops, hills, forest, sea, street).

A view is painted on a crop the size of the glass (or of the open sky, on a rooftop): it is
only ever seen through it. The time of day sets the sky and the lit windows, the weather
clouds it over, and the season dresses it: blossom in spring, full green in summer, gold and
red in autumn, bare branches and snow lying on roofs in winter. Falling rain, snow, leaves or
petals are not painted here: they are weather.py's layers, which the motion loop moves.

Every painter appends twinkling points (a lit window's antenna light, a star, a lighthouse)
to `View.lights`, which the loop animates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import scenes
from . import light
from .paint import (Box, Layer, circle, coverage, ellipse, hex_rgb, mix, polygon, rbox, segment, shade,
                    smoothstep, value_noise)

VIEWS = scenes.VIEWS
SNOW = np.array([0.93, 0.95, 1.0], np.float32)

# Foliage by season: (leaf colours, blossom colour or None).
FOLIAGE: dict[str, tuple[tuple[str, ...], str | None]] = {
    "spring": (("#6fae5a", "#8cc46a", "#5a9a4e"), "#f6b8c8"),
    "summer": (("#2f7a3c", "#3f8f45", "#276b34"), None),
    "autumn": (("#d9792b", "#c4472c", "#e6a93a", "#a8532a"), None),
    "winter": ((), None),
}


@dataclass
class View:
    """One painted view and what it is painted with."""

    box: Box
    pal: dict[str, str]
    time: str
    season: str
    weather: str
    rng: np.random.Generator
    layer: Layer = field(init=False)
    top: np.ndarray = field(init=False)
    bottom: np.ndarray = field(init=False)
    lights: list = field(default_factory=list)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        self.layer = Layer(np.zeros((y1 - y0, x1 - x0, 3), np.float32), np.ones((y1 - y0, x1 - x0), np.float32), x0, y0)
        self.top, self.bottom = light.sky_colours(self.pal, self.time, self.weather)

    @property
    def day(self) -> light.Daylight:
        return light.daylight(self.time)

    def ink(self) -> np.ndarray:
        return hex_rgb(self.pal["ink"])

    def far(self) -> np.ndarray:
        """Distant things: close to the horizon's colour (aerial perspective)."""
        return mix(self.bottom, self.top, 0.35) * 0.8 + mix(self.ink(), self.bottom, 0.5) * 0.15

    def near(self) -> np.ndarray:
        return mix(mix(self.top, self.bottom, 0.5), self.ink(), 0.55)


def paint(kind: str, view: View) -> Layer:
    """The whole view of kind (one of VIEWS) painted into view.layer."""
    sky(view)
    x0, y0, x1, y1 = view.box
    ground = y1 + 4
    if kind == "hills":
        hills(view, y1 - 230, 80, view.far() * 0.95)
        trees(view, y1 - 150, 7, 0.45, far=True)
        hills(view, y1 - 140, 60, mix(view.near(), view.far(), 0.35))
        town_lights(view, y1 - 150)
        poles(view)
    elif kind == "forest":
        hills(view, y1 - 260, 60, view.far())
        pines(view, y1 - 170, 26, 0.6, mix(view.far(), view.near(), 0.4))
        pines(view, y1 - 40, 11, 1.25, view.near())
        trees(view, y1 + 10, 3, 1.3)
    elif kind == "sea":
        sea(view, y1 - 200)
        lighthouse(view)
    elif kind == "street":
        buildings(view, base_y=ground - 120, hmin=180, hmax=320, color=view.far(), wsize=9)
        buildings(view, base_y=ground, hmin=260, hmax=420, color=view.near(), wsize=16, shops=True)
        trees(view, ground + 30, 2, 1.2)
        street_glow(view, ground)
    elif kind == "rooftops":
        buildings(view, base_y=ground - 170, hmin=120, hmax=330, color=view.far(), wsize=8)
        buildings(view, base_y=ground, hmin=90, hmax=200, color=view.near(), wsize=14, roofs=True)
        trees(view, ground + 20, 3, 0.9)
    else:  # city
        buildings(view, base_y=ground - 150, hmin=160, hmax=430, color=view.far(), wsize=8)
        buildings(view, base_y=ground, hmin=120, hmax=300, color=view.near(), wsize=13)
        trees(view, ground + 40, 2, 1.0)
    if view.season == "winter":
        # A pale haze near the ground, where snow lies.
        t = np.clip((np.arange(y0, y1, dtype=np.float32) - (y1 - 200)) / 200, 0, 1)[:, None, None]
        view.layer.rgb += t * 0.06
    return view.layer


# ----------------------------------------------------------------------------- sky

def sky(view: View) -> None:
    x0, y0, x1, y1 = view.box
    h, w = y1 - y0, x1 - x0
    top, bottom = view.top, view.bottom
    t = (np.arange(h, dtype=np.float32) / h)[:, None, None] ** 1.4
    img = view.layer.rgb
    img[:] = top * (1 - t) + bottom * t
    rng, day = view.rng, view.day
    if day.sun_y is not None and view.weather == "clear":
        sun(view, rng.uniform(x0 + w * 0.2, x1 - w * 0.2), y0 + h * day.sun_y, hex_rgb(day.sun))
    # Clouds: soft lighter blobs, denser when it rains or snows.
    n = value_noise(rng, h // 4 + 1, w // 4 + 1, 60)
    n2 = value_noise(rng, h // 4 + 1, w // 4 + 1, 22)
    lo = {"rain": 0.4, "snow": 0.42}.get(view.weather, 0.6)
    clouds = upsample4(smoothstep(lo, 0.95, 0.7 * n + 0.3 * n2), h, w)
    lit = day.sun_y is not None or view.time == "dusk"
    cloud = mix(bottom, np.array([1.0, 0.97, 0.95]) if lit else np.array([0.8, 0.8, 0.9]), 0.5 if lit else 0.25)
    img += clouds[..., None] * (cloud - img) * (0.55 if lit else 0.35)
    if day.stars and view.weather != "rain":
        stars(view, int(40 * day.stars) if view.weather == "snow" else int(18 * day.stars) + 4)
    if day.moon:
        moon(view, rng.uniform(x0 + w * 0.12, x1 - w * 0.12), rng.uniform(y0 + 70, y0 + min(170, h * 0.3)),
             rng.uniform(34, 46), 1.0 if view.weather == "rain" else 0.0)


def upsample4(small: np.ndarray, h: int, w: int) -> np.ndarray:
    """A quarter-size map scaled up 4x by linear interpolation (nearest would show blocks)."""
    ys = np.clip((np.arange(h, dtype=np.float32) + 0.5) / 4 - 0.5, 0, small.shape[0] - 1)
    xs = np.clip((np.arange(w, dtype=np.float32) + 0.5) / 4 - 0.5, 0, small.shape[1] - 1)
    y0, x0 = ys.astype(int), xs.astype(int)
    y1, x1 = np.minimum(y0 + 1, small.shape[0] - 1), np.minimum(x0 + 1, small.shape[1] - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    rows = small[y0] * (1 - fy) + small[y1] * fy
    return rows[:, x0] * (1 - fx) + rows[:, x1] * fx


def dot(lay: Layer, x: float, y: float, r: float, color: np.ndarray) -> None:
    R = int(r * 3) + 2
    xs, ys, b = lay.grid((int(x) - R, int(y) - R, int(x) + R + 1, int(y) + R + 1))
    d2 = (ys - y) ** 2 + (xs - x) ** 2
    lay.rgb[b[1]:b[3], b[0]:b[2]] += np.exp(-d2 / (2 * r * r))[..., None] * color


def stars(view: View, n: int) -> None:
    x0, y0, x1, y1 = view.box
    white = np.array([1.0, 0.97, 0.9], np.float32)
    for _ in range(n):
        x, y = view.rng.uniform(x0, x1), view.rng.uniform(y0, y0 + (y1 - y0) * 0.45)
        b, r = view.rng.uniform(0.25, 0.8), view.rng.uniform(0.6, 1.4)
        dot(view.layer, x, y, r, white * b)
        if view.rng.random() < 0.25:
            view.lights.append((x, y, white * b * 0.8, r + 0.6))


def moon(view: View, x: float, y: float, r: float, hidden: float) -> None:
    lay = view.layer
    xs, ys, b = lay.grid((x - r * 9, y - r * 9, x + r * 9, y + r * 9))  # wide enough that the glow fades out
    d = np.hypot(xs - x, ys - y)
    glow = np.exp(-np.maximum(d - r, 0) / (r * 1.6)) * (0.35 if hidden else 0.22)
    lay.rgb[b[1]:b[3], b[0]:b[2]] += glow[..., None] * np.array([0.9, 0.88, 0.8], np.float32)
    if hidden < 0.9:
        disc = coverage(circle(xs, ys, x, y, r), 1.5) * (1 - hidden)
        crater = 0.08 * coverage(circle(xs, ys, x - r * 0.3, y - r * 0.2, r * 0.28), 2) \
            + 0.06 * coverage(circle(xs, ys, x + r * 0.35, y + r * 0.3, r * 0.18), 2)
        lay.fill(b, disc, np.array([0.98, 0.95, 0.85], np.float32)[None, None, :] * (1 - crater[..., None]))


def sun(view: View, x: float, y: float, color: np.ndarray) -> None:
    """A soft sun: a bright disc in a wide halo (low suns are bigger and warmer)."""
    lay = view.layer
    r = 46 if view.time in ("dawn", "golden hour") else 34
    xs, ys, b = lay.grid(view.box)  # the wide halo reaches every corner of the sky: no edge to it
    d = np.hypot(xs - x, ys - y)
    halo = np.exp(-np.maximum(d - r, 0) / (r * 2.5)) * 0.45 + np.exp(-d / (r * 9)) * 0.2
    lay.rgb[b[1]:b[3], b[0]:b[2]] += halo[..., None] * color
    lay.fill(b, coverage(d - r, 1.5), np.clip(color * 0.3 + 0.78, 0, 1))


# ----------------------------------------------------------------------------- land and water

def hills(view: View, base: float, amp: float, color: np.ndarray) -> None:
    lay, rng = view.layer, view.rng
    xs, ys, b = lay.grid(view.box)
    prof = base - amp * (0.5 + 0.3 * np.sin(xs / rng.uniform(140, 220) + rng.uniform(0, 6))
                         + 0.2 * np.sin(xs / rng.uniform(50, 80) + rng.uniform(0, 6)))
    a = np.clip(ys - prof + 0.5, 0, 1)
    col = np.broadcast_to(color, a.shape + (3,))
    if view.season == "winter":
        # Snow lying on the slopes, whiter at the crest.
        bright = 1.0 if view.day.lamp < 0.6 else 0.5
        col = mix(color, SNOW * bright, 0.55) * (1 - 0.2 * np.clip((ys - prof) / 80, 0, 1))[..., None]
    lay.rgb[:] = lay.rgb * (1 - a[..., None]) + col * a[..., None]


def sea(view: View, horizon: float) -> None:
    lay, rng = view.layer, view.rng
    x0, y0, x1, y1 = view.box
    water = mix(mix(view.top, view.bottom, 0.3), view.ink(), 0.3)
    xs, ys, b = lay.grid(view.box)
    a = np.clip(ys - horizon, 0, 1) * np.ones_like(xs)
    lay.rgb[:] = lay.rgb * (1 - a[..., None]) + water * a[..., None]
    # Glints of the sun or the moon on the water.
    glint = mix(hex_rgb(view.pal["accent"]), view.bottom, 0.5) * (0.5 if view.day.sun_y is not None else 0.35)
    for _ in range(160):
        gy = rng.uniform(horizon + 4, y1)
        gx = rng.normal((x0 + x1) / 2, 180)
        ln = rng.uniform(6, 26) * (0.6 + (gy - horizon) / 200)
        lay.shape((gx - ln, gy - 2, gx + ln, gy + 2), lambda a, b, gx=gx, gy=gy, ln=ln: segment(a, b, gx - ln / 2, gy, gx + ln / 2, gy, 0.6),
                  glint * rng.uniform(0.3, 1), alpha=0.7)
    hills(view, horizon + 2, 40, mix(water, view.ink(), 0.5))


def lighthouse(view: View) -> None:
    lay, rng = view.layer, view.rng
    x0, y0, x1, y1 = view.box
    lx, base = x0 + rng.uniform(160, 320), y1 - 150
    rock = mix(view.ink(), view.top, 0.4)
    lay.shape((lx - 90, base - 40, lx + 90, y1), lambda a, b: ellipse(a, b, lx, base + 30, 95, 45), rock)
    tower = [(lx - 16, base - 175), (lx + 16, base - 175), (lx + 24, base), (lx - 24, base)]
    lay.shape((lx - 30, base - 190, lx + 30, base), lambda a, b: polygon(a, b, tower), mix(rock, np.array([0.9, 0.9, 0.9]), 0.35))
    lay.shape((lx - 24, base - 215, lx + 24, base - 170), lambda a, b: rbox(a, b, lx, base - 190, 14, 16, 3), rock)
    lamp = hex_rgb(view.pal["lamp"])
    if view.day.lamp >= 0.5:  # the beam shows from dusk to dawn
        xs, ys, b = lay.grid((x0, base - 330, x1, base - 50))
        ang = np.arctan2(ys - (base - 192), xs - lx)
        beam = np.exp(-(ang / 0.07) ** 2) * np.exp(-np.hypot(xs - lx, ys - base + 192) / 700)
        lay.rgb[b[1]:b[3], b[0]:b[2]] += beam[..., None] * lamp * 0.35
        view.lights.append((lx, base - 192, lamp * 0.9, 6.0))


def town_lights(view: View, y: float) -> None:
    if view.day.lit_windows < 0.1:
        return
    x0, _, x1, _ = view.box
    lamp = hex_rgb(view.pal["lamp"])
    for _ in range(40):
        dot(view.layer, view.rng.uniform(x0, x1), y + view.rng.uniform(-10, 40), view.rng.uniform(0.8, 1.6),
            lamp * view.rng.uniform(0.3, 0.8))


def poles(view: View) -> None:
    """Telegraph poles and their sagging wires along a railway."""
    lay, rng = view.layer, view.rng
    x0, y0, x1, y1 = view.box
    color = view.near()
    px, prev = x0 + rng.uniform(60, 200), None
    while px < x1 + 100:
        top = y1 - 360 + rng.uniform(-10, 10)
        lay.shape((px - 8, top - 5, px + 8, y1 + 5), lambda a, b, px=px, t=top: segment(a, b, px, t, px, y1 + 10, 3.5), color)
        lay.shape((px - 40, top + 8, px + 40, top + 20),
                  lambda a, b, px=px, t=top: segment(a, b, px - 32, t + 14, px + 32, t + 14, 2.5), color)
        if prev is not None:
            qx, qt = prev
            for dy in (10, 14):
                xs, ys, b = lay.grid((qx, min(qt, top), px, max(qt, top) + 60))
                tt = (xs - qx) / (px - qx)
                sag = qt + dy + (top - qt) * tt + 40 * 4 * tt * (1 - tt)
                lay.fill(b, np.clip(1.2 - np.abs(ys - sag), 0, 1), color)
        prev = (px, top)
        px += rng.uniform(380, 460)


def street_glow(view: View, ground: float) -> None:
    if view.day.lamp < 0.5:
        return
    x0, y0, x1, y1 = view.box
    lay = view.layer
    xs, ys, b = lay.grid((x0, y1 - 120, x1, y1))
    glow = np.exp(-((xs - (x0 + x1) * 0.45) / 300) ** 2) * np.exp(-(ys - y1) ** 2 / 4000)
    lay.rgb[b[1]:b[3], b[0]:b[2]] += glow[..., None] * hex_rgb(view.pal["lamp"]) * 0.25


# ----------------------------------------------------------------------------- buildings

def buildings(view: View, *, base_y: float, hmin: float, hmax: float, color: np.ndarray, wsize: float,
              roofs: bool = False, shops: bool = False) -> None:
    lay, rng, pal = view.layer, view.rng, view.pal
    x0, _, x1, _ = view.box
    lamp, accent = hex_rgb(pal["lamp"]), hex_rgb(pal["accent"])
    lit = view.day.lit_windows
    snow = view.season == "winter"
    x = float(x0 - 40)
    while x < x1 + 40:
        bw, bh = rng.uniform(70, 190), rng.uniform(hmin, hmax)
        top = base_y - bh
        c = shade(color, rng.uniform(0.85, 1.15))
        if roofs and rng.random() < 0.7:
            peak = rng.uniform(25, 60)
            pts = [(x - 4, top), (x + bw / 2, top - peak), (x + bw + 4, top), (x + bw + 4, base_y + 2), (x - 4, base_y + 2)]
            lay.shape((x - 6, top - peak - 2, x + bw + 6, base_y + 2), lambda a, b, p=pts: polygon(a, b, p), c)
            if snow:
                cap = [(x - 6, top + 2), (x + bw / 2, top - peak - 3), (x + bw + 6, top + 2), (x + bw / 2, top - peak + 14)]
                lay.shape((x - 8, top - peak - 6, x + bw + 8, top + 6), lambda a, b, p=cap: polygon(a, b, p), SNOW * 0.8)
            if rng.random() < 0.6:
                cx = x + bw * rng.uniform(0.2, 0.7)
                lay.shape((cx - 12, top - peak - 20, cx + 12, top),
                          lambda a, b, cx=cx, t=top, pk=peak: rbox(a, b, cx, t - pk * 0.45, 9, pk * 0.45 + 8, 1), c)
        else:
            lay.shape((x, top - 40, x + bw, base_y + 2),
                      lambda a, b, x=x, bw=bw, top=top: rbox(a, b, x + bw / 2, (top + base_y) / 2, bw / 2, (base_y - top) / 2, 1.5), c)
            if snow:
                lay.shape((x - 3, top - 8, x + bw + 3, top + 8),
                          lambda a, b, x=x, bw=bw, top=top: rbox(a, b, x + bw / 2, top - 1, bw / 2 + 2, 5, 4), SNOW * 0.8)
            if rng.random() < 0.25:  # an antenna with a red light that blinks in the loop
                ax = x + bw * rng.uniform(0.3, 0.7)
                lay.shape((ax - 3, top - 60, ax + 3, top), lambda a, b, ax=ax, t=top: segment(a, b, ax, t, ax, t - 55, 1.2), c)
                if lit > 0.1:
                    view.lights.append((ax, top - 57, np.array([1.0, 0.25, 0.2], np.float32), 2.2))
        _windows(view, x, top, bw, bh, base_y, wsize, c, lamp, accent, lit)
        if shops and bw > 110:
            _shopfront(view, x, bw, base_y, c)
        x += bw + rng.uniform(-10, 18)


def _windows(view: View, x: float, top: float, bw: float, bh: float, base_y: float, wsize: float,
             wall: np.ndarray, lamp: np.ndarray, accent: np.ndarray, lit: float) -> None:
    """Windows in a loose grid: lit ones glow, dark ones are a shade of the wall."""
    lay, rng = view.layer, view.rng
    cols = max(1, int((bw - 16) // (wsize * 2.2)))
    rows = max(1, int((bh - 24) // (wsize * 2.6)))
    gx = (bw - cols * wsize * 2.2) / 2 + wsize * 0.6
    pane = mix(wall, view.top, 0.35) * 0.8
    for r in range(rows):
        for k in range(cols):
            on = rng.random() < max(lit, 0.02)
            if not on and lit > 0.1 and rng.random() < 0.7:
                continue
            wxp, wyp = x + gx + k * wsize * 2.2, top + 16 + r * wsize * 2.6
            if on and lit > 0.0:
                wc = mix(lamp, accent, rng.random() * 0.5 if rng.random() < 0.3 else 0.0) * rng.uniform(0.35, 0.85)
            else:
                wc = pane * rng.uniform(0.8, 1.1)
            lay.shape((wxp - 2, wyp - 2, wxp + wsize + 2, wyp + wsize * 1.3 + 2),
                      lambda a, b, wxp=wxp, wyp=wyp: rbox(a, b, wxp + wsize / 2, wyp + wsize * 0.65, wsize / 2, wsize * 0.65, 1), wc)


def _shopfront(view: View, x: float, bw: float, base_y: float, wall: np.ndarray) -> None:
    """A shop window with a striped awning at street level."""
    lay = view.layer
    accent, lamp = hex_rgb(view.pal["accent"]), hex_rgb(view.pal["lamp"])
    y = base_y - 110
    glass = mix(lamp, view.bottom, 0.4) * (0.9 if view.day.lamp >= 0.5 else 0.55)
    lay.shape((x + 10, y, x + bw - 10, base_y), lambda a, b: rbox(a, b, x + bw / 2, y + 55, bw / 2 - 16, 50, 2), glass)
    awning = (x + 4, y - 34, x + bw - 4, y + 4)

    def stripes(xs: np.ndarray, ys: np.ndarray, d: np.ndarray) -> np.ndarray:
        s = (np.sin((xs - x) / 7.0) > 0).astype(np.float32)[..., None]
        return accent * 0.85 * s + np.array([0.9, 0.88, 0.82], np.float32) * (1 - s)
    lay.shape(awning, lambda a, b: polygon(a, b, [(x + 2, y + 2), (x + bw - 2, y + 2), (x + bw - 12, y - 30), (x + 12, y - 30)]),
              stripes)


# ----------------------------------------------------------------------------- trees

def trees(view: View, base_y: float, n: int, scale: float, far: bool = False) -> None:
    """Round-crowned trees dressed for the season, spread across the view."""
    lay, rng = view.layer, view.rng
    x0, _, x1, _ = view.box
    leaves, blossom = FOLIAGE.get(view.season, FOLIAGE["summer"])
    trunk = mix(np.array([0.3, 0.2, 0.14], np.float32), view.near(), 0.5)
    for i in range(n):
        tx = x0 + (i + rng.uniform(0.15, 0.85)) * (x1 - x0) / n
        s = scale * rng.uniform(0.8, 1.2)
        h = 150 * s
        lay.shape((tx - 12 * s, base_y - h, tx + 12 * s, base_y + 5),
                  lambda a, b, tx=tx, s=s, h=h: segment(a, b, tx, base_y, tx, base_y - h * 0.8, (9 * s, 5 * s)), trunk)
        cy = base_y - h
        if not leaves:
            # Bare branches, with a line of snow along the upper ones.
            for k in range(5):
                ang = -math.pi / 2 + (k - 2) * 0.45 + rng.uniform(-0.1, 0.1)
                bx, by = tx + math.cos(ang) * 70 * s, cy + 30 * s + math.sin(ang) * 70 * s
                lay.shape((min(tx, bx) - 6, min(cy, by) - 6, max(tx, bx) + 6, base_y - h * 0.5 + 6),
                          lambda a, b, bx=bx, by=by, tx=tx, s=s, h=h: segment(a, b, tx, base_y - h * 0.55, bx, by, (4 * s, 1.2 * s)),
                          trunk)
                lay.shape((min(tx, bx) - 6, min(cy, by) - 8, max(tx, bx) + 6, base_y - h * 0.5),
                          lambda a, b, bx=bx, by=by, tx=tx, s=s, h=h: segment(a, b, tx, base_y - h * 0.55 - 3 * s, bx, by - 2 * s, 1.2 * s),
                          SNOW * 0.75, alpha=0.8)
            continue
        for k in range(7):
            bx, by = tx + rng.uniform(-55, 55) * s, cy + rng.uniform(-30, 35) * s
            r = rng.uniform(32, 50) * s
            leaf = hex_rgb(leaves[int(rng.integers(len(leaves)))])
            col = mix(leaf, view.far() if far else view.near(), 0.45 if far else 0.3)
            col = col * (0.55 + 0.6 * (1 - light.daylight(view.time).lamp / 1.05))
            lay.shape((bx - r - 2, by - r - 2, bx + r + 2, by + r + 2), lambda a, b, bx=bx, by=by, r=r: circle(a, b, bx, by, r),
                      np.clip(col, 0, 1))
        if blossom is not None and not far:
            pink = hex_rgb(blossom) * (0.6 + 0.4 * (1 - light.daylight(view.time).lamp / 1.05))
            for k in range(26):
                bx, by = tx + rng.normal(0, 45) * s, cy + rng.normal(0, 30) * s
                r = rng.uniform(4, 8) * s
                lay.shape((bx - r - 2, by - r - 2, bx + r + 2, by + r + 2), lambda a, b, bx=bx, by=by, r=r: circle(a, b, bx, by, r),
                          pink)


def pines(view: View, base_y: float, n: int, scale: float, color: np.ndarray) -> None:
    """A row of pines; snow on their tiers in winter, a touch of season green otherwise."""
    lay, rng = view.layer, view.rng
    x0, _, x1, _ = view.box
    green = hex_rgb("#2e5a3a")
    col0 = mix(color, green, 0.25 if view.season != "winter" else 0.1)
    for i in range(n):
        px = x0 - 30 + (i + rng.uniform(0.1, 0.9)) * (x1 - x0 + 60) / n
        s = scale * rng.uniform(0.75, 1.3)
        h = 230 * s
        c = shade(col0, rng.uniform(0.85, 1.15))
        for k in range(4):
            ty = base_y - h + k * h * 0.2
            hw = (34 + k * 22) * s
            tri = [(px, ty), (px + hw, ty + h * 0.32), (px - hw, ty + h * 0.32)]
            lay.shape((px - hw - 2, ty - 2, px + hw + 2, ty + h * 0.32 + 2), lambda a, b, p=tri: polygon(a, b, p), c)
            if view.season == "winter":
                cap = [(px, ty + 1), (px + hw * 0.55, ty + h * 0.18), (px, ty + h * 0.12), (px - hw * 0.55, ty + h * 0.18)]
                lay.shape((px - hw, ty - 2, px + hw, ty + h * 0.2), lambda a, b, p=cap: polygon(a, b, p), SNOW * 0.78)
        lay.shape((px - 6 * s, base_y - h * 0.2, px + 6 * s, base_y + 4),
                  lambda a, b, px=px, s=s: rbox(a, b, px, base_y - 10 * s, 5 * s, 14 * s, 1), shade(c, 0.7))
