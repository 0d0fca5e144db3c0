"""The local cover art: Porsuk, the headphone-wearing night-owl cat, in one of several scenes.

Everything is drawn from the variation (runner/variation.py): its scene picks the composition
(runner/media/compositions.py) and its view out of the window, its time of day lights the
sky and the room, its season dresses the view (blossom, summer green, falling leaves, snow
lying), its weather brings rain, snow or a clear sky, its pose changes what the cat does, its
palette colours everything and its seed places every building, star, book and raindrop. The
same variation gives the same picture to the byte.

`build_scene` returns the still plus the pieces the motion loop animates (the glass the
weather shows through, the key light's share, the tail, the eyes half and fully closed, a
page mid-turn, a fire, a record), so the loop's first frame is the artwork.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .. import scenes
from . import compositions, flames, light, memory, outside, png, porsuk
from . import room as rm
from . import weather as wx
from .paint import Box, Layer, Placement, hex_rgb

memory.tune()  # big numpy buffers go back to the system when freed (see memory.py)

W, H = 1920, 1080
THUMB_W, THUMB_H = 1280, 720
THUMB_MAX_BYTES = 2 * 1024 * 1024
MODEL = "procedural-v2"
# The motion loop's length (motion.py loops this long): the weather painted on the still is
# planned for it, so the still is the loop's first frame.
LOOP_SECONDS = 16.0

# Scene names of variations drawn before the compositions existed (resumed sessions).
LEGACY_SCENES = {"city window": ("desk by the window", "city"), "attic desk": ("desk by the window", "rooftops"),
                 "rooftop room": ("desk by the window", "rooftops"), "bookshop corner": ("desk by the window", "street"),
                 "train window": ("train window", "hills"), "lighthouse study": ("seaside room", "sea")}
DEFAULT_PALETTE = {"sky": "#141233", "sky2": "#3b2a5c", "wall": "#221b33", "frame": "#0e0b18",
                   "lamp": "#ffb56b", "accent": "#e98aa8", "ink": "#08060f"}


@dataclass
class Tail:
    """What the motion loop needs to redraw the tail at another swing (plain data: it is saved
    with the scene, see scenefile.py)."""

    box: Box
    under: np.ndarray           # lit image under the tail in box (before glow, bloom, vignette, grain)
    finish_add: np.ndarray      # glow and bloom in box
    vig: np.ndarray             # vignette in box
    grain: np.ndarray           # grain in box
    place: tuple[float, float, float, float, float, bool]  # Porsuk's paint.Placement, field by field
    ink: np.ndarray
    lamp: np.ndarray

    def draw(self, layer: Layer, swing: float) -> None:
        look = porsuk.Look(self.ink, self.lamp, self.lamp, 0.0)
        porsuk.Tail(Placement(*self.place), look).draw(layer, swing)


@dataclass
class Patches:
    """The final colour of one box at other moments: eyes half and fully shut, a page mid-turn."""

    box: Box
    frames: list[np.ndarray]    # (h, w, 3) float32, same finish as the still


@dataclass
class Fire:
    """Flames in a firebox: the loop moves them; the still shows them at t = 0."""

    box: Box
    color: np.ndarray
    seed: int


@dataclass
class Scene:
    still: np.ndarray                  # (H, W, 3) uint8, the artwork
    base: np.ndarray                   # (H, W, 3) float32 final colour without weather, flames or tail swing
    glass_box: Box
    rain_gain: np.ndarray              # (h, w) in glass_box: how much of what falls outside shows
    rain_color: np.ndarray
    lamp_box: Box                      # around the key light: where its breathing is drawn
    lamp_contrib: np.ndarray           # (h, w, 3) in lamp_box: what the key light adds (for its flicker)
    lamp_xy: tuple[float, float]
    lamp_color: np.ndarray
    tail: Tail | None
    tint: np.ndarray                   # the grade's tint (see light.grade())
    accent: np.ndarray
    cup_xy: tuple[float, float]        # where floating notes leave the headphones
    blink: Patches | None              # eyes half shut, then shut (poses with open eyes)
    steam_xy: list[tuple[float, float]]
    notes: bool                        # float little music notes (eyes-closed poses)
    lights: list[tuple[float, float, np.ndarray, float]]  # twinkling points: x, y, colour, size
    seed: int
    weather: str                       # 'rain', 'snow' or 'clear' (see precip_layers)
    weather_gain: float = 1.0          # how strongly it shows
    weather_layers: int = 3            # how many depth layers of it (the nearest ones)
    weather_density: float = 1.0       # drops or flakes per pixel, relative to a window's
    page: Patches | None = None        # a page turning, frame by frame
    drift: tuple[str, int] = ("", 0)   # what drifts past outside ('leaves', 'petals' or '') and its seed
    fire: Fire | None = None
    record: tuple[float, float, float] | None = None
    sweep: Box | None = None           # where a passing light sweeps
    albedo_y: np.ndarray | None = None  # unlit brightness in sweep (light only shows on surfaces)
    poles: bool = False
    flicker: float = 1.0               # how much the key light breathes (a fire: more)
    scale: float = 1.0                 # Porsuk's scale (sizes of steam and notes)
    sweep_gain: float = 0.3            # a passing light's strength (negative: a cloud's shadow by day)
    dark_sky: bool = False             # dusk or night: a plane's lights may cross the sky
    # A picture the painter did not make, bigger than the frame by `pan` px on every side: the
    # loop's view wanders over it on a closed path while the weather stays put (a parallax).
    pan_source: np.ndarray | None = None
    pan: int = 0
    outdoors: bool = False             # no room around the view (no dust hangs in a lamp's light)


# ----------------------------------------------------------------------------- the variation

@dataclass
class Spec:
    """The variation's visual choices, each checked and defaulted (old sessions lack some)."""

    seed: int
    pal: dict[str, str]
    scene: str
    view: str
    pose: str
    time: str
    season: str
    weather: str
    mirrored: bool

    @classmethod
    def of(cls, v: dict[str, Any]) -> "Spec":
        pal = v.get("palette") or {}
        if not isinstance(pal, dict) or any(not isinstance(pal.get(k), str) for k in DEFAULT_PALETTE):
            pal = DEFAULT_PALETTE
        scene = str(v.get("scene") or "desk by the window")
        view = str(v.get("view") or "")
        if scene in LEGACY_SCENES:
            scene, view = LEGACY_SCENES[scene][0], view or LEGACY_SCENES[scene][1]
        comp = scenes.SCENES.get(scene) or scenes.SCENES["desk by the window"]
        if view not in outside.VIEWS:
            view = comp.views[0]
        pose = str(v.get("pose") or comp.poses[0])
        if pose not in porsuk.POSES:
            pose = comp.poses[0]
        time = str(v.get("time_of_day") or "night")
        season = str(v.get("season") or "autumn")
        weather = str(v.get("weather") or "clear")
        return cls(int(v.get("seed", 0)) & 0xFFFFFFFF, pal, comp.name, view, pose,
                   time if time in light.TIMES else "night", season,
                   weather if weather in ("rain", "snow", "clear") else "clear", bool(v.get("mirrored", False)))

    def drifting(self) -> str:
        """What drifts past outside in this season: 'petals', 'leaves' or ''."""
        return {"spring": "petals", "autumn": "leaves"}.get(self.season, "")


# ----------------------------------------------------------------------------- build

@dataclass
class _Lighting:
    """The light maps of one scene, full size, alive while the picture and its patches are lit."""

    ambient: np.ndarray
    key_gain: np.ndarray          # key light colour times its gain
    sun: np.ndarray               # daylight colour times its gain
    warm: np.ndarray              # (H, W) key light pool
    glow: np.ndarray              # (H, W) the bulb's own glow
    win: np.ndarray               # (H, W) daylight through the glass
    vig: np.ndarray
    grain: np.ndarray

    def light(self, sl: tuple[slice, slice]) -> np.ndarray:
        return (self.ambient + self.warm[sl][..., None] * self.key_gain + self.win[sl][..., None] * self.sun)


def build_scene(variation: dict[str, Any]) -> Scene:
    """Paint the variation's scene: the still and the layers its loop animates."""
    spec = Spec.of(variation)
    seed = spec.seed
    lights: list = []

    # The room, then the view through its glass.
    room = rm.Room(Layer.empty(W, H), spec.pal, spec.time, spec.season, spec.weather, np.random.default_rng([seed, 2]))
    layout = compositions.PAINTERS[spec.scene](room, lights, spec.view)
    if spec.mirrored:
        layout = compositions.mirror(room.layer, layout, lights)
    layout.glass = _even_box(layout.glass)
    view = outside.View(layout.glass, spec.pal, spec.time, spec.season, spec.weather, np.random.default_rng([seed, 1]))
    outside.paint(spec.view, view)
    lights += view.lights

    # Porsuk, and the same figure at the loop's other moments.
    key = layout.key
    look = porsuk.look_for(spec.pal, layout.place.to_figure(np.float32(key.x), np.float32(key.y))[0].item(),
                           scarf=spec.season == "winter")
    requests = _patch_requests(layout, look, spec.pose)
    bare = {name: _crop(room.layer, box) for name, (box, _) in requests.items()}
    figure = porsuk.draw(room.layer, layout.place, look, spec.pose)
    repainted = {name: (box, [_painted(bare[name], p) for p in painters]) for name, (box, painters) in requests.items()}
    del bare
    tail = porsuk.Tail(layout.place, look)

    lighting = _lighting(room, layout, spec, seed)
    scene = _finish(room, view.layer, layout, lighting, tail, repainted, spec, seed)
    scene.lights = lights
    scene.notes = figure.head.closed
    scene.cup_xy = layout.place.to_canvas(*figure.cup_light)
    scene.steam_xy = layout.steam + ([layout.place.to_canvas(*figure.steam)] if figure.steam else [])
    scene.accent = hex_rgb(spec.pal["accent"])
    scene.scale = layout.place.scale
    return scene


def _patch_requests(layout: compositions.Layout, look: porsuk.Look, pose: str
                    ) -> dict[str, tuple[Box, list[Callable[[Layer], object]]]]:
    """Boxes to repaint the figure in at the loop's other moments, and a painter per moment."""
    place = layout.place
    out: dict[str, tuple[Box, list[Callable[[Layer], object]]]] = {}

    def at(**moment: float) -> Callable[[Layer], object]:
        return lambda lay: porsuk.draw(lay, place, look, pose, **moment)

    head = porsuk.head_for(pose)
    if not head.closed:
        eye_box = place.box((head.x - 130, head.y - 56, head.x + 130, head.y + 58))
        out["blink"] = (_even_box(eye_box), [at(lids=k) for k in (0.55, 1.0)])
    if pose == "reading a paperback":
        cx, y = porsuk.CX, porsuk.SURFACE_Y
        book = place.box((cx - 160, y - 240, cx + 160, y - 5))
        angles = np.linspace(0, np.pi, PAGE_FRAMES + 2)[1:-1]
        out["page"] = (_even_box(book), [at(page=float(a)) for a in angles])
    return out


PAGE_FRAMES = 12  # a page turn takes half a second at 24 fps


def _even_box(box: Box) -> Box:
    x0, y0, x1, y1 = (max(0, box[0]) & ~1, max(0, box[1]) & ~1, min(W, box[2]), min(H, box[3]))
    return (x0, y0, x0 + ((x1 - x0) & ~1), y0 + ((y1 - y0) & ~1))


def _crop(layer: Layer, box: Box) -> Layer:
    x0, y0, x1, y1 = box
    return Layer(layer.rgb[y0:y1, x0:x1].copy(), layer.alpha[y0:y1, x0:x1].copy(), x0, y0)


def _painted(bare: Layer, painter: Callable[[Layer], object]) -> Layer:
    lay = Layer(bare.rgb.copy(), bare.alpha.copy(), bare.ox, bare.oy)
    painter(lay)
    return lay


def _lighting(room: rm.Room, layout: compositions.Layout, spec: Spec, seed: int) -> _Lighting:
    day = light.daylight(spec.time)
    key = layout.key
    warm, glow = light.light_map(key, W, H)
    gain = max(day.lamp, 0.7) if layout.fire is not None else day.lamp
    glow *= np.float32(min(1.0, gain / 0.8))
    gx0, gy0, gx1, gy1 = layout.glass
    clear = 1 - room.layer.alpha[gy0:gy1, gx0:gx1]
    win_strength = day.window * (1.25 if spec.season == "summer" else 1.0) * (0.5 if spec.weather != "clear" else 1.0)
    if layout.outdoors:
        win = np.zeros((H, W), np.float32)
        ambient = np.asarray(day.ambient, np.float32) * np.float32(1.0 + 0.25 * day.window)
    else:
        win = light.window_light(clear, layout.glass, W, H, layout.slant)
        ambient = np.asarray(day.ambient, np.float32)
    return _Lighting(ambient=ambient, key_gain=key.color * np.float32(gain), sun=hex_rgb(day.sun) * np.float32(win_strength),
                     warm=warm, glow=glow, win=win, vig=light.vignette(W, H),
                     grain=np.random.default_rng([seed, 9]).normal(0, 0.012, (H, W)).astype(np.float32))


def _finish(room: rm.Room, view: Layer, layout: compositions.Layout, lit_maps: _Lighting, tail: porsuk.Tail,
            requests: dict[str, tuple[Box, list]], spec: Spec, seed: int) -> Scene:
    """Light the room, let the view show through the glass, add glow and bloom, grade; the same
    for every patch; then the weather at t = 0."""
    L = lit_maps
    key = layout.key
    tint = hex_rgb(spec.pal["sky2"])
    gx0, gy0, gx1, gy1 = layout.glass
    gsl = (slice(gy0, gy1), slice(gx0, gx1))

    # Patches first, while the room's layers are whole: lit, with the view behind them.
    patch_lit = {name: [_lit_patch(p, view, L) for p in layers] for name, (box, layers) in requests.items()}
    tb = tail.bounds()
    tb = (max(0, tb[0]), max(0, tb[1]), min(W, tb[2]), min(H, tb[3]))
    tsl = (slice(tb[1], tb[3]), slice(tb[0], tb[2]))
    reach = FLICKER_REACH_FIRE if layout.fire is not None else FLICKER_REACH
    lb = _even_box((int(key.x - reach), int(key.y - reach), int(key.x + reach), int(key.y + reach)))
    lsl = (slice(lb[1], lb[3]), slice(lb[0], lb[2]))
    key_lit = room.layer.rgb[lsl] * (L.warm[lsl][..., None] * L.key_gain)  # the key light's share of lit surfaces
    albedo = None
    if layout.sweep is not None:
        sx0, sy0, sx1, sy1 = layout.sweep
        albedo = (room.layer.rgb[sy0:sy1, sx0:sx1] @ np.array([0.2126, 0.7152, 0.0722], np.float32)).astype(np.float32)

    # Arrays are reused in place from here on: an hour-long session runs this next to the
    # music synthesis, and every full-size float colour image is 25 MB.
    lit = room.layer.rgb
    for c in range(3):
        lit[..., c] *= L.ambient[c] + L.warm * float(L.key_gain[c]) + L.win * float(L.sun[c])
    rain_gain = ((1 - room.layer.alpha[gsl]) * L.vig[gsl] * 0.93).astype(np.float32)
    lit[gsl] += view.rgb[gsl[0].start - view.oy:gsl[0].stop - view.oy, gsl[1].start - view.ox:gsl[1].stop - view.ox] \
        * (1 - room.layer.alpha[gsl])[..., None]

    under = lit[tsl].copy()
    tail.draw(Layer(lit[tsl], np.ones(lit[tsl].shape[:2], np.float32), tb[0], tb[1]), 0.0)
    for name, frames in patch_lit.items():
        box = requests[name][0]
        for p in frames:
            tail.draw(Layer(p, np.ones(p.shape[:2], np.float32), box[0], box[1]), 0.0)
    for c in range(3):
        lit[..., c] += L.glow * float(L.key_gain[c])
    bloom = light.bloom_small(lit)
    light.add_upsampled(lit, bloom)

    def finish_add(sl: tuple[slice, slice]) -> np.ndarray:
        return L.glow[sl][..., None] * L.key_gain + light.upsampled_crop(bloom, sl)

    pl = tail.place
    tail_state = Tail(box=tb, under=under, finish_add=finish_add(tsl), vig=L.vig[tsl].copy(), grain=L.grain[tsl].copy(),
                      place=(pl.ax, pl.ay, pl.ox, pl.oy, pl.scale, pl.flip), ink=tail.look.ink, lamp=tail.look.lamp)
    key_contrib = ((key_lit + L.glow[lsl][..., None] * L.key_gain) * L.vig[lsl][..., None] * 0.93).astype(np.float32)
    del key_lit
    patches: dict[str, Patches] = {}
    for name, frames in patch_lit.items():
        box = requests[name][0]
        sl = (slice(box[1], box[3]), slice(box[0], box[2]))
        done = []
        for p in frames:
            p += finish_add(sl)
            p *= L.vig[sl][..., None]
            light.grade(p, tint)
            p += L.grain[sl][..., None]
            done.append(np.clip(p, 0, 1).astype(np.float32))
        patches[name] = Patches(box, done)
    del bloom
    base = lit
    for c in range(3):
        base[..., c] *= L.vig
    light.grade(base, tint)
    for c in range(3):
        base[..., c] += L.grain
    np.clip(base, 0, 1, out=base)

    # The weather, the fire and anything drifting past, at t = 0.
    gw, gh = gx1 - gx0, gy1 - gy0
    rain_color = (np.array([0.78, 0.84, 0.95], np.float32) if spec.weather == "rain"
                  else np.array([0.95, 0.96, 1.0], np.float32))
    if light.daylight(spec.time).lamp < 0.6:
        rain_color = rain_color * np.float32(0.8)  # in daylight rain reads as grey streaks, not light
    drift = (spec.drifting(), seed ^ 0xD1F7)
    # Where drifters are at t = 0 does not depend on the loop's length (it only sets their speed).
    drifters = wx.make_drifters(drift[0], layout.glass, drift[1], 1.0)
    fire = None
    if layout.fire is not None:
        fire = Fire(_even_box(layout.fire), np.array([1.0, 0.55, 0.18], np.float32), seed ^ 0xF12E)
    scene = Scene(still=np.empty(0, np.uint8), base=base, glass_box=layout.glass, rain_gain=rain_gain, rain_color=rain_color,
                 lamp_box=lb, lamp_contrib=key_contrib, lamp_xy=(key.x, key.y), lamp_color=key.color, tail=tail_state,
                 tint=tint, accent=hex_rgb(spec.pal["accent"]), cup_xy=(0.0, 0.0), blink=patches.get("blink"),
                 steam_xy=[], notes=False, lights=[], seed=seed, weather=spec.weather, page=patches.get("page"),
                 drift=drift, fire=fire, record=layout.record, sweep=layout.sweep, albedo_y=albedo,
                 poles=layout.poles, flicker=2.2 if fire is not None else 1.0,
                 sweep_gain=SWEEP_GAIN.get(spec.time, 0.3), dark_sky=spec.time in ("dusk", "night") and spec.weather == "clear",
                 weather_density=OPEN_SKY_DENSITY if layout.outdoors else 1.0, weather_layers=2 if layout.outdoors else 3,
                 outdoors=layout.outdoors)
    scene.still = to_u8(first_frame(scene, precip_layers(scene, LOOP_SECONDS), drifters))
    return scene


def precip_layers(scene: Scene, loop_s: float) -> list[wx.PrecipLayer]:
    """The scene's rain or snow as layers for a loop of loop_s seconds ([] for a clear sky).

    Made from the seed rather than stored: the textures are large and quick to make again.
    """
    gx0, gy0, gx1, gy1 = scene.glass_box
    layers = wx.make_layers(scene.weather, gx1 - gx0, gy1 - gy0, scene.seed ^ 0x5EED, loop_s,
                            scene.weather_density)
    # The nearest layers are kept: they carry the weather; the far drizzle is the costliest to move.
    layers = layers[len(layers) - scene.weather_layers:] if scene.weather_layers < len(layers) else layers
    if scene.weather_gain != 1.0:
        for layer in layers:
            layer.tex = np.round(layer.tex * scene.weather_gain).astype(np.uint8)
    return layers


# How far from the key light its breathing is drawn (px): it reads near the light, and the
# whole pool would cost the loop far more per frame.
FLICKER_REACH = 380
FLICKER_REACH_FIRE = 440

# Under an open sky the weather fills most of the frame: fewer drops per pixel, and no far
# drizzle layer, read as the same rain and keep the encoder's work (and the video's bitrate)
# near a window's (measured: full density doubled the loop's x264 time and size on the rooftop).
OPEN_SKY_DENSITY = 0.3

# A passing car's lights by night; by day the same sweep is a cloud's shadow.
SWEEP_GAIN = {"night": 0.35, "dusk": 0.3, "dawn": 0.2, "golden hour": -0.12, "day": -0.12}


def image_scene(rgb: np.ndarray, *, weather: str, seed: int, drift: str = "", pan: int = 0) -> Scene:
    """A Scene for any (H, W, 3) float picture: weather and drifters across all of it, nothing else.

    For a picture this painter did not make (paid artwork, a person's own): its light and its
    layers are unknown, so only what falls in front of it moves. pan > 0: rgb is (H + 2 pan,
    W + 2 pan, 3), and the view drifts over it by up to pan px (a subtle parallax under the weather).
    """
    none = np.zeros((2, 2, 3), np.float32)
    source = rgb if pan else None
    if pan:
        rgb = rgb[pan:pan + H, pan:pan + W]
    return Scene(still=np.empty(0, np.uint8), base=rgb, glass_box=(0, 0, W, H), pan_source=source, pan=pan, rain_gain=np.full((H, W), 1.0, np.float32),
                 rain_color=np.array([0.8, 0.85, 0.95], np.float32), weather_gain=0.5, weather_layers=2, lamp_box=(0, 0, 2, 2),
                 lamp_contrib=none, lamp_xy=(0.0, 0.0), lamp_color=np.array([1.0, 0.8, 0.55], np.float32), tail=None,
                 tint=np.zeros(3, np.float32), accent=np.array([1.0, 0.8, 0.6], np.float32), cup_xy=(0.0, 0.0),
                 blink=None, steam_xy=[], notes=False, lights=[], seed=seed, weather=weather, drift=(drift, seed ^ 0xD1F7),
                 outdoors=True)


def _lit_patch(lay: Layer, view: Layer, L: _Lighting) -> np.ndarray:
    """A repainted crop of the room, lit like the whole, with the view behind its clear parts."""
    sl = (slice(lay.oy, lay.oy + lay.h), slice(lay.ox, lay.ox + lay.w))
    out = lay.rgb * L.light(sl)
    out += _view_of(view, (lay.ox, lay.oy, lay.ox + lay.w, lay.oy + lay.h)) * (1 - lay.alpha)[..., None]
    return out.astype(np.float32)


def first_frame(scene: Scene, precip: list[wx.PrecipLayer], drifters: list[wx.Drifter]) -> np.ndarray:
    """The loop's frame at t = 0 in RGB (a copy of the base with the weather and flames on it)."""
    out = scene.base.copy()
    glass, gain, rain_color, fire = scene.glass_box, scene.rain_gain, scene.rain_color, scene.fire
    gx0, gy0, gx1, gy1 = glass
    if precip:
        out[gy0:gy1, gx0:gx1] += (wx.composite(precip, 0.0) * (gain * np.float32(wx.LEVEL)))[..., None] * rain_color
    for d in drifters:
        x, y, ang = d.at(0.0, glass)
        px, py, a = wx.drifter_patch(d, x, y, ang)
        h, w = a.shape
        ys, xs = slice(max(py, gy0), min(py + h, gy1)), slice(max(px, gx0), min(px + w, gx1))
        if ys.stop <= ys.start or xs.stop <= xs.start:
            continue
        a = a[ys.start - py:ys.stop - py, xs.start - px:xs.stop - px] * gain[ys.start - gy0:ys.stop - gy0, xs.start - gx0:xs.stop - gx0]
        region = out[ys, xs]
        region += (d.color * 0.9 - region) * a[..., None]
    if fire is not None:
        x0, y0, x1, y1 = fire.box
        out[y0:y1, x0:x1] += flames.Flames(fire.box, fire.seed).at(0.0)[..., None] * fire.color
    return out


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


grade = light.grade  # the motion loop finishes the redrawn tail with the same grade


# ----------------------------------------------------------------------------- files

def scene_key(variation: dict[str, Any]) -> str:
    """What identifies a painted scene; stored in the PNG so the motion step can tell that an
    artwork is one this painter made (and can rebuild its layers) rather than someone else's."""
    parts = {k: variation.get(k) for k in ("seed", "palette", "scene", "view", "pose", "time_of_day", "season", "weather",
                                           "mirrored")}
    blob = json.dumps([MODEL, parts], sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


# zlib level for the cover: level 2 deflates a 1920x1080 cover in about a sixth of level 6's
# CPU (0.10 s against 0.56 s, measured) for about 8 % more bytes (2.9 MB against 2.7 MB); the
# painter's grain leaves little for the higher levels to find.
COVER_PNG_LEVEL = 2


def make_artwork(variation: dict[str, Any], out_png: Path) -> Scene:
    scene = build_scene(variation)
    png.write_png(Path(out_png), scene.still, level=COVER_PNG_LEVEL,
                  text={"Software": f"badger-tape {MODEL}", "Scene": scene_key(variation)})
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
