"""Light for the local artwork: the time of day, the key light's pool, the finish.

A scene is lit by three things: the ambient light of its time of day (dim and cool at night,
bright at noon, warm at golden hour), a key light (a desk lamp, a pendant, a lantern or a
fire) whose pool falls off with distance and pools below a shade, and daylight coming through
the window glass as a soft, slanted patch. The finish then adds the bulb's glow and a bloom,
darkens the corners and grades the picture (lifted blacks, soft highlights, a tint).

Numbers are by eye, tuned on the covers in docs/contact-sheet.png; sky colours follow the
usual look of each hour (blue hour top, warm horizon at golden hour and dawn).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import scenes
from .paint import blur, hex_rgb, mix, smoothstep

TIMES = scenes.TIMES


@dataclass(frozen=True)
class Daylight:
    """How one time of day looks."""

    sky_top: str            # zenith colour ("" = the palette's own night sky)
    sky_bottom: str         # horizon colour
    ambient: tuple[float, float, float]  # multiplies the room's colours (1 = as painted)
    lamp: float             # gain of the key light (lamps are on at night, barely at noon)
    window: float           # strength of daylight through the glass
    sun: str                # colour of that daylight
    lift: float             # how far room colours move towards their light tint (0 at night)
    lit_windows: float      # share of lit windows in the buildings outside
    stars: float            # how many stars show (0..1)
    sun_y: float | None     # sun height in the sky box, 0 top .. 1 horizon; None: no sun
    moon: bool


DAYLIGHT: dict[str, Daylight] = {
    "dawn": Daylight("#3a4a7e", "#f4b7a0", (0.95, 0.84, 0.88), 0.55, 0.45, "#ffd2b0", 0.22, 0.12, 0.25, 0.9, False),
    "day": Daylight("#4a8ad0", "#c4e2f2", (1.1, 1.1, 1.15), 0.25, 0.28, "#fff4dc", 0.42, 0.0, 0.0, 0.25, False),
    "golden hour": Daylight("#4d6aa6", "#ffc47c", (1.08, 0.94, 0.78), 0.45, 0.45, "#ffb860", 0.3, 0.08, 0.0, 0.78, False),
    "dusk": Daylight("#241e4c", "#e3836c", (0.78, 0.68, 0.86), 0.85, 0.25, "#ff9a7a", 0.1, 0.4, 0.5, None, True),
    "night": Daylight("", "", (0.5, 0.5, 0.5), 1.05, 0.08, "#9fb4ff", 0.0, 0.42, 1.0, None, True),
}


def daylight(time_of_day: str) -> Daylight:
    return DAYLIGHT.get(time_of_day, DAYLIGHT["night"])


def sky_colours(pal: dict[str, str], time_of_day: str, weather: str) -> tuple[np.ndarray, np.ndarray]:
    """(zenith, horizon) for the time and weather, nudged by the palette so no two skies match."""
    d = daylight(time_of_day)
    top0, bottom0 = hex_rgb(pal["sky"]), hex_rgb(pal["sky2"])
    if d.sky_top:
        top, bottom = mix(hex_rgb(d.sky_top), top0, 0.18), mix(hex_rgb(d.sky_bottom), bottom0, 0.15)
    else:
        top, bottom = top0, bottom0
    if weather in ("rain", "snow"):
        # Overcast: towards grey, a little darker for rain, paler for snow.
        for c in (top, bottom):
            grey = float(c @ np.array([0.3, 0.55, 0.15], np.float32))
            c[:] = mix(c, np.full(3, grey, np.float32), 0.55) * (0.85 if weather == "rain" else 1.05)
    return np.clip(top, 0, 1), np.clip(bottom, 0, 1)


def room_colour(c: np.ndarray, time_of_day: str) -> np.ndarray:
    """A palette colour as it reads in this light: night palettes lift towards a light tint by day."""
    k = daylight(time_of_day).lift
    if not k:
        return np.asarray(c, np.float32)
    c = np.asarray(c, np.float32)
    tint = 0.55 + 0.45 * c / max(float(c.max()), 1e-3)  # same hue, light
    return mix(c, tint * 0.62, k)


# ----------------------------------------------------------------------------- the key light

@dataclass(frozen=True)
class KeyLight:
    """The scene's main light: where it is, its colour, and how it spreads."""

    x: float
    y: float
    color: np.ndarray
    reach: float = 430.0        # radius of the soft pool (px)
    cone: float | None = 118.0  # direction of the cone below a shade (degrees, y down); None: no shade
    glow: float = 0.8           # brightness of the bulb itself


def light_map(key: KeyLight, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """How much key light falls on the room, and the bulb's own glow: two (h, w) maps.

    Both are scalars times the light's colour; keeping them scalar saves two full-size
    colour images.
    """
    ys = np.arange(h, dtype=np.float32)[:, None] - np.float32(key.y)
    xs = np.arange(w, dtype=np.float32)[None, :] - np.float32(key.x)
    r2 = xs * xs + ys * ys
    warm = np.exp(r2 * np.float32(-1 / (2 * key.reach ** 2))) * np.float32(0.95)
    r = np.sqrt(r2)
    if key.cone is not None:
        # A cone of light below the shade, pooling on the surface under it.
        cone = np.arctan2(ys, xs)
        cone -= np.float32(math.radians(key.cone))
        cone /= np.float32(0.55)
        np.square(cone, out=cone)
        np.negative(cone, out=cone)
        np.exp(cone, out=cone)
        cone *= np.exp(r * np.float32(-1 / 900)) * (ys > 0)
        warm += np.float32(0.55) * cone
        del cone
    glow = np.exp(r * np.float32(-1 / 55.0)) * np.float32(key.glow)
    glow += np.exp(r2 * np.float32(-1 / (2 * 160.0 ** 2))) * np.float32(key.glow * 0.225)
    return warm, glow


def window_light(clear: np.ndarray, box: tuple[int, int, int, int], w: int, h: int,
                 slant: tuple[float, float]) -> np.ndarray:
    """Daylight through the glass as an (h, w) map: the glass's shape cast at slant (dx, dy px).

    clear: (gh, gw) how clear the glass is over box. Computed at 1/8 size: it is all soft.
    """
    f = 8
    small = np.zeros((h // f + 1, w // f + 1), np.float32)
    x0, y0, x1, y1 = box
    sub = clear[::f, ::f]
    sy, sx = y0 // f, x0 // f
    small[sy:sy + sub.shape[0], sx:sx + sub.shape[1]] = sub[:small.shape[0] - sy, :small.shape[1] - sx]
    out = np.zeros_like(small)
    for k in range(1, 7):  # a smeared cast: the patch fades as it travels from the glass
        dx, dy = int(slant[0] * k / 6 / f), int(slant[1] * k / 6 / f)
        shifted = np.roll(np.roll(small, dy, 0), dx, 1)
        np.maximum(out, shifted * (1 - k / 8), out=out)
    out = blur(out, 4)
    return np.repeat(np.repeat(out, f, 0), f, 1)[:h, :w]


# ----------------------------------------------------------------------------- the finish

def vignette(w: int, h: int) -> np.ndarray:
    ys = (np.arange(h, dtype=np.float32)[:, None] - h / 2) / (h / 2)
    xs = (np.arange(w, dtype=np.float32)[None, :] - w / 2) / (w / 2)
    r = np.sqrt(xs * xs * np.float32(0.8) + ys * ys)
    r -= np.float32(0.45)
    np.clip(r, 0, 1, out=r)
    v = r * r
    v *= 3 - 2 * r
    v *= np.float32(-0.38)
    v += np.float32(1.0)
    return v


def bloom_small(img: np.ndarray) -> np.ndarray:
    """Bloom at quarter resolution (it is a blur; full resolution would only cost memory)."""
    small = img[::4, ::4]
    lum = small @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    bright = small * smoothstep(0.55, 1.1, lum)[..., None]
    return (blur(bright, 14) * 0.55).astype(np.float32)


def add_upsampled(dst: np.ndarray, small: np.ndarray, f: int = 4) -> None:
    """dst += small scaled up f times (nearest), without a full-size temporary."""
    for dy in range(f):
        for dx in range(f):
            part = dst[dy::f, dx::f]
            part += small[:part.shape[0], :part.shape[1]]


def upsampled_crop(small: np.ndarray, sl: tuple[slice, slice], f: int = 4) -> np.ndarray:
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
