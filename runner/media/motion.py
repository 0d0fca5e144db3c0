"""The motion loop: a few seconds of video that repeat by stream copy without a visible seam.

Local loops are made from the artwork's own layers (rain behind the glass, the lamp's light,
the tail, dust in the lamp light, steam, floating notes). Every motion is periodic in the
loop length, so frame N would equal frame 0; the file holds frames 0..N-1 and its last frame
flows into its first. Frames are built in YUV 4:2:0 directly (only the regions that move)
and piped to one x264 encode with a single closed GOP per loop, no B-frames and a constant
frame rate, which is what `-stream_loop -1 -c:v copy` needs to repeat it for an hour.

Paid clips are not seamless: `loop_from_clip` crossfades a clip's tail into its head once
and re-encodes it to the same spec.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import art, ffmpeg, memory
from . import weather as wx
from .paint import Layer, coverage, ellipse, segment

FPS = 24
LOOP_SECONDS = 8.0
FRAMES = int(FPS * LOOP_SECONDS)
W, H = art.W, art.H
CRF = 23
PRESET = "veryfast"

# BT.709, limited range: what H.264 players assume for HD.
KY = np.array([0.2126, 0.7152, 0.0722], np.float32)
KU = np.array([-0.1146, -0.3854, 0.5], np.float32)
KV = np.array([0.5, -0.4542, -0.0458], np.float32)


def encoder_args(fps: int, frames: int) -> list[str]:
    """x264 settings shared by every loop: one closed GOP per loop, no B-frames, CFR."""
    return [
        "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-tune", "animation",
        "-profile:v", "high", "-pix_fmt", "yuv420p",
        "-g", str(frames), "-keyint_min", str(frames), "-sc_threshold", "0", "-bf", "0",
        "-x264-params", "open-gop=0:scenecut=0:bframes=0",
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


# ----------------------------------------------------------------------------- timing

def flicker(t: float) -> float:
    """The lamp's slow breathing: zero at t = 0 so the first frame is the artwork."""
    return 0.09 * math.sin(2 * math.pi * t) + 0.04 * math.sin(2 * math.pi * 3 * t) \
        + 0.015 * math.sin(2 * math.pi * 7 * t)


def tail_swing(t: float) -> float:
    return 0.75 * math.sin(2 * math.pi * t) ** 3 + 0.25 * math.sin(2 * math.pi * 2 * t)


def blinking(t: float) -> bool:
    return 0.62 <= t < 0.62 + 3.5 / FRAMES


# ----------------------------------------------------------------------------- sprites

@dataclass
class Sprite:
    """A small additive or replacing patch in Y (and U/V at half size), placed at even x0/y0."""

    x0: int
    y0: int
    y: np.ndarray
    u: np.ndarray | None = None
    v: np.ndarray | None = None


def _even(v: float) -> int:
    return int(v) & ~1


def _dot_sprite(x: float, y: float, r: float, amount: float, color: np.ndarray, chroma: bool = True) -> Sprite:
    """A soft round dot; chroma=False for near-white dots, where colour is not worth the time."""
    R = int(math.ceil(r * 3)) + 2
    x0, y0 = _even(x - R), _even(y - R)
    n = (2 * R + 4) & ~1
    ys = np.arange(y0, y0 + n, dtype=np.float32)[:, None] + (0.5 - y)
    xs = np.arange(x0, x0 + n, dtype=np.float32)[None, :] + (0.5 - x)
    g = np.exp((xs * xs + ys * ys) * (-1 / (2 * r * r)))
    g *= amount
    if not chroma:
        return Sprite(x0, y0, g * float(color @ KY * 219.0))
    half = half2(g)
    return Sprite(x0, y0, g * float(color @ KY * 219.0), half * float(color @ KU * 224.0),
                  half * float(color @ KV * 224.0))


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


# ----------------------------------------------------------------------------- the loop

class LoopBuilder:
    """Builds frames of the local loop from a Scene, touching only the regions that move."""

    def __init__(self, scene: art.Scene, frames: int = FRAMES):
        self.s = scene
        self.n = frames
        rng = np.random.default_rng([scene.seed, 77])
        base = scene.base
        by, bu, bv = rgb_to_yuv(base)
        self.frame_y = np.clip(by + 0.5, 0, 255).astype(np.uint8)
        self.frame_u = np.clip(bu + 0.5, 0, 255).astype(np.uint8)
        self.frame_v = np.clip(bv + 0.5, 0, 255).astype(np.uint8)
        gx0, gy0, gx1, gy1 = scene.glass_box
        lx, ly = scene.lamp_xy
        # The active box: everything that moves lives inside it.
        if scene.active_box is not None:
            self.ax0, self.ay0, self.ax1, self.ay1 = (_even(v) for v in scene.active_box)
        else:
            self.ax0, self.ay0 = _even(gx0), _even(gy0)
            self.ax1, self.ay1 = min(W, _even(lx + 430)), min(H, _even(art.DESK_Y + 120))
        a = (slice(self.ay0, self.ay1), slice(self.ax0, self.ax1))
        ah = (slice(self.ay0 // 2, self.ay1 // 2), slice(self.ax0 // 2, self.ax1 // 2))
        self.by, self.bu, self.bv = by[a].copy(), bu[ah].copy(), bv[ah].copy()
        del by, bu, bv

        # Rain or snow behind the glass: luma only (grey-white precipitation keeps chroma).
        self.precip = scene.precip
        self.rain_y = scene.rain_gain * float(scene.rain_color @ KY) * 219.0
        self.g_off = (gy0 - self.ay0, gx0 - self.ax0)

        # The lamp's breathing, cropped to where it changes anything visible.
        lb = scene.lamp_box
        lc = scene.lamp_contrib
        cy = lc @ (KY * 219.0)
        mask = np.abs(cy) * 0.14 > 0.35
        if not mask.any():
            mask[:2, :2] = True
        rows, cols = np.where(mask.any(1))[0], np.where(mask.any(0))[0]
        ly0, ly1 = _even(rows[0] + lb[1]), min(self.ay1, _even(rows[-1] + lb[1] + 2))
        lx0, lx1 = max(self.ax0, _even(cols[0] + lb[0])), min(self.ax1, _even(cols[-1] + lb[0] + 2))
        ly0 = max(ly0, self.ay0)
        crop = lc[ly0 - lb[1]:ly1 - lb[1], lx0 - lb[0]:lx1 - lb[0]]
        self.lamp_y = crop @ (KY * 219.0)
        half = half2(crop)
        self.lamp_u = half @ (KU * 224.0)
        self.lamp_v = half @ (KV * 224.0)
        self.lamp_off = (ly0 - self.ay0, lx0 - self.ax0)
        del scene.lamp_contrib

        # Tail: the final colour of its box is recomputed per frame.
        self.tail = scene.tail
        if self.tail is not None:
            tb = self.tail.box
            self.t_off = (tb[1] - self.ay0, tb[0] - self.ax0)
            ty, tu, tv = rgb_to_yuv(scene.base[tb[1]:tb[3], tb[0]:tb[2]])
            self.t_base = (ty, tu, tv)
        # Blink: a precomputed patch, as a delta.
        self.blink = None
        if scene.blink is not None:
            eb, patch = scene.blink
            x0, y0 = _even(eb[0]), _even(eb[1])
            x1, y1 = x0 + ((eb[2] - x0) & ~1), y0 + ((eb[3] - y0) & ~1)
            patch = patch[y0 - eb[1]:y1 - eb[1], x0 - eb[0]:x1 - eb[0]]
            py, pu, pv = rgb_to_yuv(patch)
            qy, qu, qv = rgb_to_yuv(scene.base[y0:y1, x0:x1])
            self.blink = Sprite(x0, y0, py - qy, pu - qu, pv - qv)

        # Dust motes drifting in the lamp light, on closed (Lissajous) paths.
        self.motes = []
        for _ in range(26):
            self.motes.append((
                lx - 120 + rng.normal(0, 120), ly + 160 + rng.normal(0, 90),  # centre
                rng.uniform(30, 120), rng.uniform(20, 90),                   # amplitudes
                int(rng.integers(1, 3)), int(rng.integers(1, 3)),            # cycles per loop
                rng.random(), rng.random(), rng.uniform(1.0, 2.2), rng.uniform(0.25, 0.6),
            ))
        self.lamp_col = scene.lamp_color
        self.lights = [(x, y, c, r, int(rng.integers(1, 4)), rng.random()) for x, y, c, r in scene.lights
                       if self.ax0 + 20 < x < self.ax1 - 20 and self.ay0 + 20 < y < self.ay1 - 20]
        self.steam = scene.steam_xy
        self.notes = scene.notes
        self.cup = scene.cup_xy
        self.accent = scene.accent
        # The artwork's base image is no longer needed; keep memory low for the hour-long runs.
        scene.base = None  # type: ignore[assignment]

    # -- per frame ------------------------------------------------------------------------

    def frame(self, i: int) -> bytes:
        t = (i % self.n) / self.n
        # Work buffers are reused: a fresh 5 MB array per frame costs page faults, not just copies.
        if not hasattr(self, "_wy"):
            self._wy, self._wu, self._wv = np.empty_like(self.by), np.empty_like(self.bu), np.empty_like(self.bv)
        y, u, v = self._wy, self._wu, self._wv
        np.copyto(y, self.by)
        np.copyto(u, self.bu)
        np.copyto(v, self.bv)
        # Precipitation.
        p = wx.composite(self.precip, t)
        gy, gx = self.g_off
        y[gy:gy + p.shape[0], gx:gx + p.shape[1]] += p * self.rain_y
        # Lamp.
        f = flicker(t) if self.lamp_y.size > 4 else 0.0
        if f:
            oy, ox = self.lamp_off
            h, w = self.lamp_y.shape
            y[oy:oy + h, ox:ox + w] += f * self.lamp_y
            u[oy // 2:oy // 2 + h // 2, ox // 2:ox // 2 + w // 2] += f * self.lamp_u
            v[oy // 2:oy // 2 + h // 2, ox // 2:ox // 2 + w // 2] += f * self.lamp_v
        # Tail.
        if self.tail is not None:
            sw = tail_swing(t)
            if sw:
                ty, tu, tv = self._tail_yuv(sw)
                by, bu, bv = self.t_base
                self._add(y, u, v, Sprite(self.tail.box[0], self.tail.box[1], ty - by, tu - bu, tv - bv))
        if self.blink is not None and blinking(t):
            self._add(y, u, v, self.blink)
        for spr in self._sprites(t):
            self._add(y, u, v, spr)
        fy, fu, fv = self.frame_y, self.frame_u, self.frame_v
        a = (slice(self.ay0, self.ay1), slice(self.ax0, self.ax1))
        ah = (slice(self.ay0 // 2, self.ay1 // 2), slice(self.ax0 // 2, self.ax1 // 2))
        np.clip(y, 0, 255, out=y)
        np.clip(u, 0, 255, out=u)
        np.clip(v, 0, 255, out=v)
        y += 0.5
        u += 0.5
        v += 0.5
        fy[a] = y
        fu[ah] = u
        fv[ah] = v
        return b"".join((fy.data, fu.data, fv.data))

    def _add(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, s: Sprite) -> None:
        oy, ox = s.y0 - self.ay0, s.x0 - self.ax0
        h, w = s.y.shape
        if oy < 0 or ox < 0 or oy + h > y.shape[0] or ox + w > y.shape[1]:
            return
        y[oy:oy + h, ox:ox + w] += s.y
        if s.u is not None:
            u[oy // 2:oy // 2 + h // 2, ox // 2:ox // 2 + w // 2] += s.u
            v[oy // 2:oy // 2 + h // 2, ox // 2:ox // 2 + w // 2] += s.v

    def _tail_yuv(self, swing: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        return rgb_to_yuv(img)

    def _sprites(self, t: float) -> list[Sprite]:
        out: list[Sprite] = []
        two_pi = 2 * math.pi
        lx, ly = self.s.lamp_xy
        for cx, cy, ax, ay, kx, ky, px, py, r, b in self.motes:
            x = cx + ax * math.sin(two_pi * (kx * t + px))
            yy = cy + ay * math.sin(two_pi * (ky * t + py))
            # Brightest in the cone of light, fading out of it.
            lit = math.exp(-((x - lx + 60) ** 2 + (yy - ly - 180) ** 2) / (2 * 200.0 ** 2))
            tw = 0.6 + 0.4 * math.sin(two_pi * (3 * t + px + py))
            if b * lit * tw > 0.02:
                out.append(_dot_sprite(x, yy, r, b * lit * tw, self.lamp_col * 0.8 + 0.2, chroma=False))
        for x, yy, c, r, k, ph in self.lights:
            # Twinkle: a soft extra glow that comes and goes (never darker than painted).
            amt = 0.5 - 0.5 * math.cos(two_pi * (k * t + ph))
            if amt > 0.03:
                out.append(_dot_sprite(x, yy, r * 1.2, amt * 0.45, c))
        if self.steam is not None:
            sx, sy = self.steam
            for k in range(3):
                u = (t * 2 + k / 3) % 1.0
                for j in range(4):
                    uj = u - j * 0.05
                    if uj <= 0:
                        continue
                    x = sx + 10 * math.sin(two_pi * (uj * 1.3 + k * 0.3)) + j * 2
                    yy = sy - 8 - 130 * uj
                    a = 0.10 * math.sin(math.pi * uj) * (1 - j * 0.2)
                    out.append(_dot_sprite(x, yy, 6 + 12 * uj, a, np.array([0.9, 0.88, 0.85], np.float32), chroma=False))
        if self.notes:
            cx, cy = self.cup
            for k in range(2):
                u = (t + k * 0.5) % 1.0
                x = cx + 30 + 40 * u + 12 * math.sin(two_pi * (u * 1.5 + k * 0.25))
                yy = cy - 40 - 170 * u
                a = 0.55 * math.sin(math.pi * u) ** 1.5
                if a > 0.01:
                    out.append(_note_sprite(x, yy, 26 + 8 * k, a, self.accent * 0.6 + 0.4, k))
        return out


async def make_loop(scene: art.Scene, out_mp4: Path, *, frames: int = FRAMES, fps: int = FPS,
                    on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Encode the local loop for scene to out_mp4 (written under a temporary name, then renamed)."""
    out_mp4 = Path(out_mp4)
    builder = await asyncio.to_thread(LoopBuilder, scene, frames)
    tmp = out_mp4.with_name(f".{out_mp4.stem}.tmp.mp4")
    args = ["-y", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{W}x{H}", "-r", str(fps),
            "-i", "pipe:0", *encoder_args(fps, frames), str(tmp)]
    try:
        async with ffmpeg.Pipe(args) as pipe:
            # Build frame i+1 in a worker thread while frame i drains into the encoder.
            pending = asyncio.ensure_future(asyncio.to_thread(builder.frame, 0))
            for i in range(frames):
                data = await pending
                if i + 1 < frames:
                    pending = asyncio.ensure_future(asyncio.to_thread(builder.frame, i + 1))
                await pipe.write(data)
                if on_progress is not None and i % 12 == 0:
                    on_progress(100.0 * i / frames)
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

async def loop_from_image(image: Path, out_mp4: Path, *, weather: str = "rain", seed: int = 0,
                          on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """A loop from any still (e.g. paid artwork): precipitation over the whole frame and a slow glow.

    Used when the artwork is not one the local painter made, so its layers are unknown.
    """
    ffmpeg.check_input(Path(image), "image")
    raw = await ffmpeg.run_capture(["-v", "error", "-i", str(image), "-vf",
                                    f"scale={W}:{H}:force_original_aspect_ratio=increase,crop={W}:{H}",
                                    "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
    rgb = np.frombuffer(raw, np.uint8).reshape(H, W, 3).astype(np.float32) / 255.0
    # Two light layers of weather, nothing else: the picture's own light is unknown.
    precip = wx.make_layers("snow" if weather == "snow" else "rain", W, H, seed)[:2]
    for layer in precip:
        layer.tex *= 0.5
    none = np.zeros((2, 2, 3), np.float32)
    scene = art.Scene(still=np.empty(0), base=rgb, glass_box=(0, 0, W, H),
                      rain_gain=np.full((H, W), 1.0, np.float32),
                      rain_color=np.array([0.8, 0.85, 0.95], np.float32), precip=precip,
                      lamp_box=(0, 0, 2, 2), lamp_contrib=none, lamp_xy=(0.0, 0.0),
                      lamp_color=np.array([1.0, 0.8, 0.55], np.float32), tail=None, blink=None,
                      tint=np.zeros(3, np.float32), accent=np.array([1.0, 0.8, 0.6], np.float32),
                      cup_xy=(0.0, 0.0), steam_xy=None, notes=False, lights=[], seed=seed, weather=weather,
                      active_box=(0, 0, W, H))
    return await make_loop(scene, out_mp4, on_progress=on_progress)


# ----------------------------------------------------------------------------- paid clips

async def loop_from_clip(clip: Path, out_mp4: Path, *, fps: int = FPS, crossfade_s: float = 1.0,
                         on_progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Make a paid clip loop: its last crossfade_s seconds fade into its first, once.

    Output: D - crossfade seconds (D = the clip's length), same spec as the local loop. The
    first frame shows the clip at D - crossfade; the last frame shows it just before that
    moment, so the repeat is continuous.
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
    graph = (
        f"[0:v]fps={fps},scale={W}:{H}:force_original_aspect_ratio=increase:flags=bicubic,crop={W}:{H},"
        f"setsar=1,format=yuv420p,trim=end_frame={total},split=3[a][b][c];"
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
