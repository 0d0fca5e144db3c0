"""The motion loop: sixteen seconds of video that repeat by stream copy without a visible seam.

Local loops are made from the artwork's own layers: weather behind the glass, the key light's
breathing, the tail, the eyes and a book's page repainted by the painter itself, dust in the
lamp light, steam, floating notes, flames, a turning record, passing lights. What happens
when comes from loop_events.py: blinks and flicks at uneven moments, so the loop breathes
rather than ticks. Every motion is periodic in the loop length, so frame N would equal frame
0; the file holds frames 0..N-1 and its last frame flows into its first.

Frames are built in YUV 4:2:0 directly, touching only the rectangles that change (each
frame restores last frame's rectangles and repaints this frame's), and piped to one x264
encode with a single closed GOP per loop, no B-frames, and a constant frame rate that is
also written into the stream (x264 `force-cfr=1`), which is what `-stream_loop -1 -c:v copy`
needs to repeat it for an hour.

Paid clips are not seamless: `loop_from_clip` crossfades a clip's tail into its head once
and re-encodes it to the same spec.
"""

from __future__ import annotations

import asyncio
import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from . import art, ffmpeg, flames, loop_events, memory
from . import weather as wx
from .paint import Layer, coverage, ellipse, segment

FPS = 24
LOOP_SECONDS = art.LOOP_SECONDS
FRAMES = int(FPS * LOOP_SECONDS)
W, H = art.W, art.H
CRF = 23
PAN_PX = 8        # how far the view wanders over a picture the painter did not make (loop_from_image)
PRESET = "veryfast"

# BT.709, limited range: what H.264 players assume for HD.
KY = np.array([0.2126, 0.7152, 0.0722], np.float32)
KU = np.array([-0.1146, -0.3854, 0.5], np.float32)
KV = np.array([0.5, -0.4542, -0.0458], np.float32)

Rect = tuple[int, int, int, int]
# The clip ufunc itself: np.clip's Python wrapper costs more than clipping a small sprite.
try:
    from numpy._core.umath import clip as _clip  # type: ignore[attr-defined]  # numpy 2
except ImportError:  # numpy 1.x
    from numpy.core.umath import clip as _clip  # type: ignore[attr-defined,no-redef]


# For the painted loop, whose motion moves by whole pixels (rain and flames scroll by whole
# rows, leaves and petals are drawn at whole pixels) or is no motion at all (a light breathing,
# a sweep): x264 may skip the sub-pixel search (subme=0), the smaller partitions of P-frames
# and the wider search pattern (me=dia). Measured on 384 raw frames of two scenes, medians of
# four: x264 CPU 5.60 -> 3.57 s (cabin by the fire in rain) and 5.27 -> 3.29 s (rooftop in rain),
# 5-6 % more bytes, PSNR within 0.25 dB, the frames indistinguishable by eye at 2x.
WHOLE_PIXEL_X264 = "partitions=none:me=dia:subme=0"


def encoder_args(fps: int, frames: int, whole_pixel: bool = False) -> list[str]:
    """x264 settings shared by every loop: one closed GOP per loop, no B-frames, CFR (in the
    input rate and, with force-cfr=1, in the stream's own timing). whole_pixel: the frames move
    by whole pixels only (the painted loop), so the cheaper analysis of WHOLE_PIXEL_X264 codes
    them as well; a clip or a panned picture moves by fractions of a pixel and keeps the preset's."""
    x264 = "open-gop=0:scenecut=0:bframes=0:force-cfr=1" + (":" + WHOLE_PIXEL_X264 if whole_pixel else "")
    return [
        "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-tune", "animation",
        "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", str(frames), "-keyint_min", str(frames), "-sc_threshold", "0", "-bf", "0",
        "-x264-params", x264,
        "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv",
        # CFR comes from the input: raw frames at a fixed -r, or the fps filter for clips.
        "-r", str(fps), "-movflags", "+faststart", "-an",
    ]


def half2(a: np.ndarray) -> np.ndarray:
    """2x2 box average (chroma subsampling); slicing beats a reshape-mean several times over."""
    out = a[0::2, 0::2] + a[1::2, 0::2]
    out += a[0::2, 1::2]
    out += a[1::2, 1::2]
    out *= 0.25
    return out


def rgb_to_yuv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float RGB (h, w, 3), h and w even -> float Y (h, w), U and V (h/2, w/2), in code values."""
    y = rgb @ (KY * 219.0)
    y += 16.0
    half = half2(rgb)
    u = half @ (KU * 224.0)
    u += 128.0
    v = half @ (KV * 224.0)
    v += 128.0
    return y.astype(np.float32), u.astype(np.float32), v.astype(np.float32)


def yuv_of(color: np.ndarray) -> tuple[float, float, float]:
    """The Y, U, V code-value offsets a colour adds (no +16/+128: for additive light)."""
    return float(color @ KY * 219.0), float(color @ KU * 224.0), float(color @ KV * 224.0)


# ----------------------------------------------------------------------------- sprites

@dataclass
class Sprite:
    """A small additive patch in Y (and U/V at half size), placed at even x0/y0."""

    x0: int
    y0: int
    y: np.ndarray
    u: np.ndarray | None = None
    v: np.ndarray | None = None


def _even(v: float) -> int:
    return int(v) & ~1


@functools.lru_cache(maxsize=4096)
def _unit_dot(r: float, fx: float, fy: float) -> tuple[np.ndarray, np.ndarray]:
    """A unit Gaussian dot of radius r offset (fx, fy) from an even pixel corner, and its half."""
    R = int(math.ceil(r * 3)) + 2
    n = (2 * R + 4) & ~1
    ys = np.arange(n, dtype=np.float32)[:, None] + np.float32(0.5 - R - fy)
    xs = np.arange(n, dtype=np.float32)[None, :] + np.float32(0.5 - R - fx)
    g = np.exp((xs * xs + ys * ys) * np.float32(-1 / (2 * r * r)))
    return g, half2(g)


def _dot_sprite(x: float, y: float, r: float, amount: float, color: np.ndarray, chroma: bool = True) -> Sprite:
    """A soft round dot; chroma=False for near-white dots, where colour is not worth the time.

    Shapes come from a cache keyed by radius and quarter-pixel position: dots are drawn by
    the dozen in every frame.
    """
    R = int(math.ceil(r * 3)) + 2
    x0, y0 = _even(x - R), _even(y - R)
    fx, fy = round((x - R - x0) * 4) / 4, round((y - R - y0) * 4) / 4
    g, half = _unit_dot(round(r, 1), fx, fy)
    cy, cu, cv = yuv_of(color)
    a = np.float32(amount)
    if not chroma:
        return Sprite(x0, y0, g * (a * np.float32(cy)))
    return Sprite(x0, y0, g * (a * np.float32(cy)), half * (a * np.float32(cu)), half * (a * np.float32(cv)))


def _note_sprite(x: float, y: float, size: float, amount: float, color: np.ndarray, kind: int) -> Sprite:
    """A little eighth note (or two beamed ones) drawn from shapes."""
    bw, bh = int(size * 2.2) & ~1, int(size * 2.6) & ~1
    x0, y0 = _even(x - bw / 2), _even(y - bh / 2)
    lay = Layer(np.zeros((bh, bw, 3), np.float32), np.zeros((bh, bw), np.float32), x0, y0)
    s = size
    cx, cy = x0 + bw * 0.35, y0 + bh * 0.75
    xs, ys, b = lay.grid((x0, y0, x0 + bw, y0 + bh))
    d = ellipse(xs, ys, cx, cy, s * 0.32, s * 0.24, -0.4)
    d = np.minimum(d, segment(xs, ys, cx + s * 0.28, cy - s * 0.05, cx + s * 0.28, cy - s * 1.3, s * 0.06))
    if kind:
        cx2 = cx + s * 0.9
        d = np.minimum(d, ellipse(xs, ys, cx2, cy - s * 0.15, s * 0.32, s * 0.24, -0.4))
        d = np.minimum(d, segment(xs, ys, cx2 + s * 0.28, cy - s * 0.2, cx2 + s * 0.28, cy - s * 1.45, s * 0.06))
        d = np.minimum(d, segment(xs, ys, cx + s * 0.28, cy - s * 1.3, cx2 + s * 0.28, cy - s * 1.45, s * 0.12))
    else:
        d = np.minimum(d, segment(xs, ys, cx + s * 0.28, cy - s * 1.3, cx + s * 0.75, cy - s * 0.85, s * 0.08))
    cov = coverage(d, 1.2) * amount
    rgb = cov[..., None] * color
    half = half2(rgb)
    return Sprite(x0, y0, rgb @ (KY * 219.0), half @ (KU * 224.0), half @ (KV * 224.0))


def _delta(patch: np.ndarray, base: np.ndarray, box: tuple[int, int, int, int]) -> Sprite:
    """A repainted patch as an additive sprite: its difference from the base in YUV."""
    x0, y0, x1, y1 = box
    py, pu, pv = rgb_to_yuv(patch)
    qy, qu, qv = rgb_to_yuv(base[y0:y1, x0:x1])
    return Sprite(x0, y0, py - qy, pu - qu, pv - qv)


# ----------------------------------------------------------------------------- the loop

class LoopBuilder:
    """Builds the frames of the local loop from a Scene.

    Every moving thing adds itself to a float workspace inside a rectangle; the workspace and
    the 8-bit frame are restored from the base only inside last frame's rectangles, so the
    cost of a frame follows what moves in it, not the frame's size. Workspaces hold code
    value + 0.5, so clipping and truncating to 8 bits rounds, and clipping twice is harmless.
    """

    def __init__(self, scene: art.Scene, frames: int = FRAMES, fps: int = FPS):
        s = self.s = scene
        self.n = frames
        rng = np.random.default_rng([scene.seed, 77])
        by, bu, bv = rgb_to_yuv(scene.base)
        for a in (by, bu, bv):
            a += 0.5
        self.base = (by, bu, bv)
        self.work = (by.copy(), bu.copy(), bv.copy())
        self.out = tuple(np.clip(a, 0, 255).astype(np.uint8) for a in self.base)
        self.base8 = tuple(a.copy() for a in self.out)
        self.prev: list[tuple[Rect, bool]] = []

        # Weather behind the glass: luma only (grey-white precipitation keeps chroma).
        gx0, gy0, gx1, gy1 = self.glass = scene.glass_box
        self.precip = art.precip_layers(scene, frames / fps)
        self.rain_y = scene.rain_gain * np.float32(float(scene.rain_color @ KY) * 219.0 * wx.LEVEL)
        self.p_buf = np.empty((gy1 - gy0, gx1 - gx0), np.float32)
        self.drifters = wx.make_drifters(scene.drift[0], self.glass, scene.drift[1], frames / fps)

        eyes = scene.blink is not None
        self.tl = loop_events.plan(scene.seed, frames, fps, eyes=eyes, page=scene.page is not None,
                                   sweep=scene.sweep is not None, poles=scene.poles,
                                   plane=scene.dark_sky and scene.glass_box[3] - scene.glass_box[1] > 300,
                                   cups=len(scene.steam_xy), notes=scene.notes, fire=scene.fire is not None,
                                   page_frames=len(scene.page.frames) if scene.page else 12)
        self._key_light(scene)
        self.tail = scene.tail
        if self.tail is not None:
            tb = self.tail.box
            self.t_base = rgb_to_yuv(scene.base[tb[1]:tb[3], tb[0]:tb[2]])
        self.blink = [_delta(p, scene.base, scene.blink.box) for p in scene.blink.frames] if scene.blink else []
        self.page = [_delta(p, scene.base, scene.page.box) for p in scene.page.frames] if scene.page else []
        self.flames = flames.Flames(scene.fire.box, scene.fire.seed) if scene.fire is not None else None
        if scene.fire is not None:
            self.fire_yuv = yuv_of(scene.fire.color)
        if scene.sweep is not None and scene.albedo_y is not None:
            self.sweep_y = scene.albedo_y * np.float32(219.0 * scene.sweep_gain)

        # Dust motes drifting in the lamp light, on closed (Lissajous) paths.
        lx, ly = scene.lamp_xy
        self.motes = []
        for _ in range(26 if scene.fire is None and not scene.outdoors else 0):
            self.motes.append((lx - 120 + rng.normal(0, 120), ly + 160 + rng.normal(0, 90),
                               rng.uniform(30, 120), rng.uniform(20, 90), int(rng.integers(1, 4)), int(rng.integers(1, 4)),
                               rng.random(), rng.random(), rng.uniform(1.0, 2.2), rng.uniform(0.25, 0.6)))
        # About two in three lights twinkle (all of them would read as a flicker, and cost more).
        self.lights = [(x, y, c, r, int(rng.integers(2, 7)), rng.random()) for x, y, c, r in scene.lights
                       if 20 < x < W - 20 and 20 < y < H - 20 and rng.random() < 0.65]
        # A picture to pan over (a person's own, art.image_scene): its planes, padded by pan.
        self.pan = scene.pan
        self.big = None
        if scene.pan_source is not None and scene.pan:
            self.big = tuple(a + np.float32(0.5) for a in rgb_to_yuv(scene.pan_source))
            scene.pan_source = None
        # The artwork's base image is no longer needed; keep memory low for the hour-long runs.
        scene.base = None  # type: ignore[assignment]
        del by, bu, bv

    def _key_light(self, scene: art.Scene) -> None:
        """The key light's breathing: luma only, over the scene's lamp box, fading to nothing
        at the box's edge so it has no visible border."""
        self.lamp_rect = None
        lb, lc = scene.lamp_box, scene.lamp_contrib
        if lc is None or lc.shape[0] <= 2 or lc.shape[1] <= 2:
            return
        lx, ly = scene.lamp_xy
        x0, y0, x1, y1 = lb
        reach = max(x1 - x0, y1 - y0) / 2
        ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(ly)
        xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(lx)
        fade = np.clip((reach - np.sqrt(xs * xs + ys * ys)) / np.float32(0.4 * reach), 0, 1)
        self.lamp_y = ((lc @ (KY * 219.0)) * fade * fade * (3 - 2 * fade) * np.float32(scene.flicker)).astype(np.float32)
        self.lamp_rect = lb
        scene.lamp_contrib = None  # type: ignore[assignment]
        # The light is part of the base (self.lit_f of it), changed only on the frames the
        # schedule moves it: base and 8-bit base of the lamp box are repainted then, and every
        # restore brings the light back with it.
        peak = float(np.abs(self.lamp_y).max())
        self.lamp_f = held([self.tl.flicker(i / self.n) for i in range(self.n)], LAMP_STEP / peak if peak > 0 else math.inf)
        self.lamp_base = self.base[0][y0:y1, x0:x1].copy()
        self.lamp_tmp = np.empty_like(self.lamp_y)
        self.lit_f = 0.0

    def _light(self, i: int) -> None:
        """Bring the base (float and 8-bit) and the 8-bit frame to frame i's key light."""
        if self.lamp_rect is None:
            return
        f = self.lamp_f[i % self.n]
        if f == self.lit_f:
            return
        x0, y0, x1, y1 = self.lamp_rect
        by, b8y, tmp = self.base[0][y0:y1, x0:x1], self.base8[0][y0:y1, x0:x1], self.lamp_tmp
        np.multiply(self.lamp_y, np.float32(f), out=tmp)
        np.add(self.lamp_base, tmp, out=by)
        _clip(by, 0.0, 255.49, out=tmp)
        b8y[...] = tmp
        self.out[0][y0:y1, x0:x1] = b8y
        self.lit_f = f

    # -- per frame ------------------------------------------------------------------------

    def frame(self, i: int) -> bytes:
        """Frame i as raw yuv420p bytes (a copy: the builder's planes change with the next frame)."""
        return b"".join(p.data for p in self.planes(i))

    def planes(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame i's Y, U and V planes (uint8; the builder's own, valid until the next call)."""
        t = (i % self.n) / self.n
        todo: list[tuple[Rect, bool, Callable[[], None]]] = []  # (rect, luma only, paint)
        self._plan_frame(i, t, todo)
        self._light(i)
        wy, wu, wv = self.work
        by, bu, bv = self.base
        oy, ou, ov = self.out
        b8y, b8u, b8v = self.base8
        now = {r for r, _, _ in todo}
        # Last frame's rectangles that nothing repaints now go back to the base, 8-bit frame too.
        for r, luma in self.prev:
            if r in now:
                continue
            x0, y0, x1, y1 = r
            wy[y0:y1, x0:x1] = by[y0:y1, x0:x1]
            oy[y0:y1, x0:x1] = b8y[y0:y1, x0:x1]
            if not luma:
                c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
                wu[c], wv[c], ou[c], ov[c] = bu[c], bv[c], b8u[c], b8v[c]
        # This frame's rectangles start from the base (the first paint of the weather writes
        # base + rain itself, see _plan_frame).
        for (x0, y0, x1, y1), luma, paint in todo:
            if paint is self._rain:
                continue
            wy[y0:y1, x0:x1] = by[y0:y1, x0:x1]
            if not luma:
                c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
                wu[c], wv[c] = bu[c], bv[c]
        for _, _, paint in todo:
            paint()
        for (x0, y0, x1, y1), luma, _ in todo:
            r = wy[y0:y1, x0:x1]
            _clip(r, 0.0, 255.49, out=r)
            oy[y0:y1, x0:x1] = r
            if not luma:
                c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
                for w, o in ((wu, ou), (wv, ov)):
                    r = w[c]
                    _clip(r, 0.0, 255.49, out=r)
                    o[c] = r
        self.prev = [(r, luma) for r, luma, _ in todo]
        return oy, ou, ov

    def _pan_to(self, t: float, todo: list) -> None:
        """Move the base to this frame's view of the bigger picture (a Lissajous path of one turn
        per loop, so frame N would be frame 0), and repaint the whole frame from it."""
        assert self.big is not None
        p = self.pan
        x = p + p * math.sin(2 * math.pi * t)
        y = p + 0.5 * p * math.sin(4 * math.pi * t)
        self.base = (_shifted(self.big[0], x, y, H, W), _shifted(self.big[1], x / 2, y / 2, H // 2, W // 2),
                     _shifted(self.big[2], x / 2, y / 2, H // 2, W // 2))
        todo.append(((0, 0, W, H), False, _nothing))

    def _plan_frame(self, i: int, t: float, todo: list) -> None:
        """What moves in frame i, as (rectangle, luma only, paint) entries."""
        wy, wu, wv = self.work
        tl = self.tl
        if self.big is not None:
            self._pan_to(t, todo)
        gx0, gy0, gx1, gy1 = self.glass
        if self.precip:
            self._t = t
            todo.append((self.glass, True, self._rain))
        if self.tail is not None:
            sw = round(tl.swing(t), 3)
            if sw:
                self._sprite(todo, self._tail_sprite(sw))
        k = tl.blink_patch(i)
        if k is not None and self.blink:
            self._sprite(todo, self.blink[k])
        k = tl.page_frame(i, len(self.page))
        if k is not None:
            self._sprite(todo, self.page[k])
        if self.flames is not None:
            self._fire(todo, t)
        for e in tl.sweeps:
            u = e.progress(t)
            if u is not None:
                self._sweep(todo, u)
        for e in tl.poles:
            u = e.progress(t)
            if u is not None:
                self._pole(todo, u)
        for d in self.drifters:
            self._drifter(todo, d, t)
        for spr in self._sprites(t):
            self._sprite(todo, spr)

    def _rain(self) -> None:
        """Base plus the weather over the glass (written whole: no restore needed first)."""
        gx0, gy0, gx1, gy1 = self.glass
        p = wx.composite(self.precip, self._t, out=self.p_buf)
        p *= self.rain_y
        np.add(self.base[0][gy0:gy1, gx0:gx1], p, out=self.work[0][gy0:gy1, gx0:gx1])

    def _sprite(self, todo: list, s: Sprite) -> None:
        h, w = s.y.shape
        x0, y0 = s.x0, s.y0
        if x0 < 0 or y0 < 0 or x0 + w > W or y0 + h > H:
            return
        wy, wu, wv = self.work

        def paint() -> None:
            wy[y0:y0 + h, x0:x0 + w] += s.y
            if s.u is not None:
                c = (slice(y0 // 2, y0 // 2 + h // 2), slice(x0 // 2, x0 // 2 + w // 2))
                wu[c] += s.u
                wv[c] += s.v
        todo.append(((x0, y0, x0 + w, y0 + h), s.u is None, paint))

    def _tail_sprite(self, swing: float) -> Sprite:
        """The tail redrawn at swing, as a sprite."""
        tail = self.tail
        assert tail is not None
        tb = tail.box
        lay = Layer(tail.under.copy(), np.ones(tail.under.shape[:2], np.float32), tb[0], tb[1])
        tail.draw(lay, swing)
        img = lay.rgb
        img += tail.finish_add
        img *= tail.vig[..., None]
        art.grade(img, self.s.tint)
        img += tail.grain[..., None]
        np.clip(img, 0, 1, out=img)
        ty, tu, tv = rgb_to_yuv(img)
        by, bu, bv = self.t_base
        return Sprite(tb[0], tb[1], ty - by, tu - bu, tv - bv)

    def _fire(self, todo: list, t: float) -> None:
        assert self.flames is not None and self.s.fire is not None
        x0, y0, x1, y1 = self.s.fire.box  # even (art._even_box)
        cy, cu, cv = self.fire_yuv
        wy, wu, wv = self.work
        fl = self.flames

        def paint() -> None:
            f = fl.at(t)
            wy[y0:y1, x0:x1] += f * np.float32(cy)
            h = half2(f)
            c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
            wu[c] += h * np.float32(cu)
            wv[c] += h * np.float32(cv)
        todo.append(((x0, y0, x1, y1), False, paint))

    def _sweep(self, todo: list, u: float) -> None:
        """A passing light: a soft diagonal band crossing the sweep box, on lit surfaces only."""
        sx0, sy0, sx1, sy1 = self.s.sweep  # type: ignore[misc]
        width = 90.0
        pos = sx0 - 400 + (sx1 - sx0 + 800) * u
        k = 0.45  # the band leans: x + k y = pos
        x0 = max(sx0, _even(pos - k * sy1 - 3 * width))
        x1 = min(sx1, _even(pos - k * sy0 + 3 * width) + 2)
        if x1 - x0 < 2:
            return
        amp = np.float32(math.sin(math.pi * u) ** 2)
        wy = self.work[0]
        alb = self.sweep_y

        def paint() -> None:
            xs = np.arange(x0, x1, dtype=np.float32)[None, :]
            ys = np.arange(sy0, sy1, dtype=np.float32)[:, None]
            band = xs + np.float32(k) * ys
            band -= np.float32(pos)
            band *= np.float32(1 / width)
            np.square(band, out=band)
            np.negative(band, out=band)
            np.exp(band, out=band)
            band *= alb[:, x0 - sx0:x1 - sx0]
            band *= amp
            wy[sy0:sy1, x0:x1] += band
        todo.append(((x0, sy0 & ~1, x1, sy1 & ~1), True, paint))

    def _pole(self, todo: list, u: float) -> None:
        """A telegraph pole flicking past the train window, right to left, dark against the view."""
        gx0, gy0, gx1, gy1 = self.glass
        half_w = 34
        x = gx1 + half_w - (gx1 - gx0 + 2 * half_w) * u
        x0, x1 = max(gx0 & ~1, _even(x - half_w)), min(gx1 & ~1, _even(x + half_w))
        if x1 - x0 < 2:
            return
        wy = self.work[0]
        gain = self.s.rain_gain

        def paint() -> None:
            xs = np.arange(x0, x1, dtype=np.float32)[None, :]
            a = np.clip(1.0 - np.abs(xs - x) / half_w, 0, 1) ** 0.5 * gain[:, x0 - gx0:x1 - gx0] * np.float32(0.85)
            r = wy[gy0:gy1, x0:x1]
            r -= (r - np.float32(20.0)) * a
        todo.append(((x0, gy0 & ~1, x1, gy1 & ~1), True, paint))

    def _drifter(self, todo: list, d: wx.Drifter, t: float) -> None:
        """A falling leaf or petal, seen only through the glass."""
        gx0, gy0, gx1, gy1 = self.glass
        x, y, ang = d.at(t, self.glass)
        px, py, a = wx.drifter_patch(d, x, y, ang)
        h, w = a.shape
        x0, y0, x1, y1 = max(px, gx0 + 1 & ~1), max(py, gy0 + 1 & ~1), min(px + w, gx1 & ~1), min(py + h, gy1 & ~1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        a = a[y0 - py:y1 - py, x0 - px:x1 - px] * self.s.rain_gain[y0 - gy0:y1 - gy0, x0 - gx0:x1 - gx0]
        cy, cu, cv = rgb_to_yuv(d.color[None, None, :] * np.ones((2, 2, 1), np.float32) * np.float32(0.9))
        wy, wu, wv = self.work

        def paint() -> None:
            r = wy[y0:y1, x0:x1]
            r += (np.float32(cy[0, 0] + 0.5) - r) * a
            ah = half2(a)
            c = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
            for wch, val in ((wu, cu[0, 0]), (wv, cv[0, 0])):
                rc = wch[c]
                rc += (np.float32(val + 0.5) - rc) * ah
        todo.append(((x0, y0, x1, y1), False, paint))

    def _sprites(self, t: float) -> list[Sprite]:
        out: list[Sprite] = []
        two_pi = 2 * math.pi
        s = self.s
        lx, ly = s.lamp_xy
        for cx, cy, ax, ay, kx, ky, px, py, r, b in self.motes:
            x = cx + ax * math.sin(two_pi * (kx * t + px))
            yy = cy + ay * math.sin(two_pi * (ky * t + py))
            # Brightest in the cone of light, fading out of it.
            lit = math.exp(-((x - lx + 60) ** 2 + (yy - ly - 180) ** 2) / (2 * 200.0 ** 2))
            tw = 0.6 + 0.4 * math.sin(two_pi * (3 * t + px + py))
            if b * lit * tw > 0.02:
                out.append(_dot_sprite(x, yy, r, b * lit * tw, s.lamp_color * 0.8 + 0.2, chroma=False))
        for x, yy, c, r, k, ph in self.lights:
            # Twinkle: a soft extra glow that comes and goes (never darker than painted).
            amt = 0.5 - 0.5 * math.cos(two_pi * (k * t + ph))
            if amt > 0.03:
                out.append(_dot_sprite(x, yy, r * 1.2, amt * 0.45, c))
        size = float(s.scale)
        for (sx, sy), puffs in zip(s.steam_xy, self.tl.puffs):
            for e in puffs:
                u = e.progress(t)
                if u is None:
                    continue
                for j in range(4):
                    uj = u - j * 0.06
                    if uj <= 0:
                        continue
                    x = sx + 12 * size * math.sin(two_pi * (uj * 1.1 + e.start)) + j * 2
                    yy = sy - 8 - 150 * size * uj
                    a = 0.11 * math.sin(math.pi * uj) * (1 - j * 0.2)
                    out.append(_dot_sprite(x, yy, (6 + 13 * uj) * size, a, np.array([0.9, 0.88, 0.85], np.float32), chroma=False))
        if s.notes:
            cx, cy = s.cup_xy
            for e in self.tl.notes:
                u = e.progress(t)
                if u is None:
                    continue
                x = cx + (30 + 40 * u + 12 * math.sin(two_pi * (u * 1.5 + e.start))) * size
                yy = cy - (40 + 170 * u) * size
                a = 0.55 * math.sin(math.pi * u) ** 1.5
                if a > 0.01:
                    out.append(_note_sprite(x, yy, (26 + 8 * e.sign) * size, a, s.accent * 0.6 + 0.4, int(e.sign)))
        if s.record is not None:
            rx, ry, rr = s.record
            ang = two_pi * round(LOOP_SECONDS * 0.555) * t  # 33 1/3 rpm, whole turns per loop
            out.append(_dot_sprite(rx + 24 * math.cos(ang), ry + 6 * math.sin(ang), 2.4, 0.8, np.array([1.0, 0.96, 0.9], np.float32)))
            out.append(_dot_sprite(rx + (rr - 20) * math.cos(ang + 2.0), ry + (rr - 20) * 0.23 * math.sin(ang + 2.0), 6.0,
                                   0.12, np.array([0.9, 0.9, 1.0], np.float32), chroma=False))
        for e in self.tl.planes:
            u = e.progress(t)
            if u is None:
                continue
            gx0, gy0, gx1, gy1 = self.glass
            x = gx1 + 30 - (gx1 - gx0 + 60) * u
            yy = gy0 + (gy1 - gy0) * (0.14 + 0.05 * u)
            on = (u * e.length * LOOP_SECONDS) % 1.2 < 0.15  # a strobe every 1.2 s
            out.append(_dot_sprite(x, yy, 1.6, 0.7, np.array([1.0, 0.3, 0.25], np.float32)))
            if on:
                out.append(_dot_sprite(x + 6, yy + 1, 2.2, 1.0, np.array([1.0, 1.0, 1.0], np.float32), chroma=False))
        return out


def _nothing() -> None:
    pass


# The key light moves in steps of at most this many code values at its brightest pixel (and
# less everywhere else): 8-bit video shows a slow change as such steps anyway, and between
# them the lit region is not repainted (nor re-coded by x264). A fire moves it most frames, a
# lamp's slow breathing one frame in two to twenty.
LAMP_STEP = 1.0


def held(values: list[float], step: float) -> list[float]:
    """values held until they move by step or more from the value held; the first is kept."""
    out: list[float] = []
    cur = values[0] if values else 0.0
    for v in values:
        if abs(v - cur) >= step:
            cur = v
        out.append(cur)
    return out


def _shifted(plane: np.ndarray, x: float, y: float, h: int, w: int) -> np.ndarray:
    """The h x w window of plane whose top-left corner is at (x, y), bilinear between pixels."""
    ix, iy = min(int(x), plane.shape[1] - w - 1), min(int(y), plane.shape[0] - h - 1)  # at the far edge: weight 1
    fx, fy = np.float32(x - ix), np.float32(y - iy)
    top = plane[iy:iy + h, ix:ix + w] * (1 - fx) + plane[iy:iy + h, ix + 1:ix + w + 1] * fx
    low = plane[iy + 1:iy + h + 1, ix:ix + w] * (1 - fx) + plane[iy + 1:iy + h + 1, ix + 1:ix + w + 1] * fx
    top *= 1 - fy
    low *= fy
    top += low
    return top


async def make_loop(scene: art.Scene, out_mp4: Path, *, frames: int = FRAMES, fps: int = FPS,
                    on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Encode the local loop for scene to out_mp4 (written under a temporary name, then renamed)."""
    out_mp4 = Path(out_mp4)
    builder = await asyncio.to_thread(LoopBuilder, scene, frames, fps)
    tmp = out_mp4.with_name(f".{out_mp4.stem}.tmp.mp4")
    args = ["-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", str(fps),
            "-i", "pipe:0", *encoder_args(fps, frames, whole_pixel=not scene.pan), str(tmp)]
    loop = asyncio.get_running_loop()

    def planes() -> Iterator[np.ndarray]:
        # Runs in Pipe.feed's worker thread: each frame is built there and written straight
        # from the builder's planes (no copy, no event-loop wake per 64 KiB, measured: about
        # 0.7 s less of the runner's CPU per loop than a thread hop and write() per frame).
        for i in range(frames):
            yield from builder.planes(i)
            if on_progress is not None and i % 12 == 0:
                loop.call_soon_threadsafe(on_progress, 100.0 * i / frames)

    try:
        # The loop is needed only when the render starts, after the music: at a lower CPU
        # priority its encoder takes what the music's synthesis and AAC encoder leave idle
        # (measured, a keyless hour on two quiet cores: 43.1 s against 44.8 s at equal priority).
        async with ffmpeg.Pipe(args, background=True) as pipe:
            await pipe.feed(planes())
        tmp.replace(out_mp4)
    finally:
        tmp.unlink(missing_ok=True)
        del builder
        memory.trim()
    if on_progress is not None:
        on_progress(100.0)
    return {"file": out_mp4, "seconds": frames / fps, "fps": fps, "frames": frames}


async def make_local_loop(variation: dict[str, Any], out_mp4: Path, *,
                          on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    scene = await asyncio.to_thread(art.build_scene, variation)
    return await make_loop(scene, out_mp4, on_progress=on_progress)


# ----------------------------------------------------------------------------- any image

async def loop_from_image(image: Path, out_mp4: Path, *, weather: str = "rain", seed: int = 0, drift: str = "",
                          on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """A loop from any still (e.g. paid artwork or a person's picture): weather over the whole frame.

    weather: 'rain', 'snow' or 'clear'; drift: 'leaves', 'petals' or ''. Used when the artwork
    is not one the local painter made, so its layers are unknown: light layers of weather and
    anything drifting fall across the whole picture, and the view wanders PAN_PX over it on a
    closed path, so the picture moves under the weather (a subtle parallax).
    """
    ffmpeg.check_input(Path(image), "image")
    p = PAN_PX  # a margin to pan over: the picture is shown 0.8 % larger than it is
    bw, bh = W + 2 * p, H + 2 * p
    raw = await ffmpeg.run_capture(["-v", "error", "-i", str(image), "-vf",
                                    f"scale={bw}:{bh}:force_original_aspect_ratio=increase:flags=lanczos,crop={bw}:{bh}",
                                    "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
    rgb = np.frombuffer(raw, np.uint8).reshape(bh, bw, 3).astype(np.float32) / 255.0
    scene = art.image_scene(rgb, weather=weather, seed=seed, drift=drift, pan=p)
    return await make_loop(scene, out_mp4, on_progress=on_progress)


# ----------------------------------------------------------------------------- paid clips

async def loop_from_clip(clip: Path, out_mp4: Path, *, fps: int = FPS, crossfade_s: float = 1.0,
                         frame_filter: str | None = None,
                         on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Make a paid clip (or a person's own, --loop) loop: its last crossfade_s seconds fade into its first, once.

    Output: D - crossfade seconds (D = the clip's length), same spec as the local loop. The
    first frame shows the clip at D - crossfade; the last frame shows it just before that
    moment, so the repeat is continuous. frame_filter: the ffmpeg filters that bring a frame
    to 1920x1080 (default: cover and centre-crop; runner/media/picture.py fit_filter).
    """
    clip, out_mp4 = Path(clip), Path(out_mp4)
    ffmpeg.check_input(clip, "video")
    info = await ffmpeg.aprobe(clip)
    dur = float((info.get("video") or {}).get("duration") or info["duration"])
    total = int(math.floor(dur * fps + 1e-6))
    x = max(2, min(int(round(crossfade_s * fps)), total // 3))
    n = total - x  # frames in the loop
    if n < fps:
        raise ffmpeg.MediaError(f"video clip is too short to loop ({dur:.2f} s): {clip}")
    tmp = out_mp4.with_name(f".{out_mp4.stem}.tmp.mp4")
    scale = frame_filter or f"scale={W}:{H}:force_original_aspect_ratio=increase:flags=bicubic,crop={W}:{H},setsar=1"
    graph = (
        f"[0:v]fps={fps},{scale},"
        f"format=yuv420p,trim=end_frame={total},split=3[a][b][c];"
        f"[a]trim=start_frame={n}:end_frame={total},setpts=PTS-STARTPTS[tail];"
        f"[b]trim=start_frame=0:end_frame={x},setpts=PTS-STARTPTS[head];"
        f"[c]trim=start_frame={x}:end_frame={n},setpts=PTS-STARTPTS[mid];"
        f"[tail][head]xfade=transition=fade:duration={x / fps:.6f}:offset=0[xf];"
        f"[xf][mid]concat=n=2:v=1:a=0,trim=end_frame={n},setpts=N/({fps}*TB)[out]"
    )
    args = ["-y", "-v", "error", "-i", str(clip), "-filter_complex", graph, "-map", "[out]",
            *encoder_args(fps, n), "-frames:v", str(n), str(tmp)]
    try:
        await ffmpeg.run(args, duration_s=n / fps, on_progress=on_progress)
        tmp.replace(out_mp4)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": out_mp4, "seconds": n / fps, "fps": fps, "frames": n}
