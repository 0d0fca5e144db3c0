"""The scenes Porsuk lives in: where the window, the light, the furniture and the cat go.

Each composition paints its room (everything but the view and the cat) and returns a Layout:
the glass the view shows through, which view fits, the key light, where Porsuk sits and at
what scale, and the places the motion loop animates (a fire, a record, a sweep of passing
light, telegraph poles flicking past a train window).

The catalogue of scenes (names, the poses and views that fit) is runner/scenes.py; PAINTERS
maps each name to the function that paints it. docs/scenes.md shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from . import porsuk, room as rm
from .light import KeyLight
from .paint import Box, Layer, Placement, ellipse, mix, rbox, shade

W, H = 1920, 1080


@dataclass
class Layout:
    """What a composition tells the rest of the painter and the loop."""

    glass: Box                           # where the view shows through (and weather falls)
    key: KeyLight
    place: Placement                     # where Porsuk sits
    slant: tuple[float, float]           # where daylight through the glass falls (dx, dy px)
    steam: list[tuple[float, float]] = field(default_factory=list)   # cups on the table
    fire: Box | None = None              # a firebox whose flames the loop moves
    record: tuple[float, float, float] | None = None                 # a turning record: x, y, radius
    sweep: Box | None = None             # where a passing light sweeps (a car's lights on the ceiling)
    poles: bool = False                  # a train: poles flick past the glass
    outdoors: bool = False               # no room around the view: weather falls across the sky


def _cat(x: float, surface: float, scale: float) -> Placement:
    return Placement(porsuk.CX, porsuk.SURFACE_Y, x, surface, scale)


def _lamp_light(room: rm.Room, xy: tuple[float, float], **kw: Any) -> KeyLight:
    return KeyLight(xy[0], xy[1], room.c("lamp"), **kw)


# ----------------------------------------------------------------------------- the compositions

def desk_by_the_window(room: rm.Room, lights: list, view: str) -> Layout:
    rng = room.rng
    rm.wall(room, planks=rng.random() < 0.5)
    rm.window(room, (170, 70, 1190, 742), (198, 98, 1162, 714), mullions_x=(680,), mullions_y=(330,))
    if rng.random() < 0.5:
        rm.string_lights(room, 170, 70, 1190, 60, lights)
    rm.curtain(room, 170, 70, 1190, 742)
    rm.shelf(room, 300, 1330, 1880)
    rm.plant(room, 280, 738, 44, flowers=room.season == "spring")
    rm.desk(room, 812)
    bulb = rm.desk_lamp(room, 1590, 834)
    rm.books(room, 420, 848)
    steam = []
    if rng.random() < 0.6:
        steam.append(porsuk.mug(room.layer, room.ink, room.c("accent"), 660, 848))
    else:
        rm.cassette(room, 650, 848)
    return Layout(glass=(198, 98, 1162, 714), key=_lamp_light(room, bulb), place=_cat(1010, 812, 1.0),
                  slant=(420, 300), steam=steam, sweep=(1180, 0, 1920, 440))


def rooftop(room: rm.Room, lights: list, view: str) -> Layout:
    rng = room.rng
    for y, sag in ((40, 150), (110, 90)):
        rm.string_lights(room, -20, y, 1940, sag, lights, n=16)
    rm.parapet(room, 828)
    rm.plant(room, 250, 808, 48, flowers=room.season == "spring")
    rm.radio(room, 520, 810)
    flame = rm.lantern(room, 1560, 810, 1.0)
    steam = []
    if rng.random() < 0.5:
        steam.append(porsuk.mug(room.layer, room.ink, room.c("accent"), 1400, 814, 0.8))
    return Layout(glass=(0, 0, W, 860), key=_lamp_light(room, flame, reach=360, cone=None, glow=0.6),
                  place=_cat(1020, 812, 0.9), slant=(0, 0), steam=steam, outdoors=True)


def train_window(room: rm.Room, lights: list, view: str) -> Layout:
    lay = room.layer
    rm.wall(room)
    # The lower panel of the carriage wall, a shade darker, below a trim line.
    lay.rgb[760:] *= 0.78
    lay.shape((0, 752, W, 768), lambda a, b: np.abs(b - 760) - 3, shade(room.c("frame"), 1.4))
    rm.window(room, (110, 140, 930, 712), (146, 176, 894, 676), radius=56, sill=False)
    rm.luggage_rack(room, 100, 1900, 70)
    rm.curtain(room, 110, 140, 930, 712, side=1)
    rm.train_seat(room, 1000, 1560, 250, 790)
    bulb = rm.pendant(room, 1700, 300, ceiling=110)
    rm.desk(room, 790, 44, x0=60, x1=1660, drawers=False)
    steam = [porsuk.mug(room.layer, room.ink, room.c("accent"), 480, 830, 0.85)]
    return Layout(glass=(146, 176, 894, 676), key=_lamp_light(room, bulb, reach=420, cone=90, glow=0.6),
                  place=_cat(1280, 790, 0.88), slant=(300, 260), steam=steam, sweep=(0, 0, W, 760), poles=True)


def cafe_corner(room: rm.Room, lights: list, view: str) -> Layout:
    rng = room.rng
    rm.wall(room, tiles=True)
    rm.window(room, (80, 50, 1060, 772), (110, 80, 1030, 742), mullions_x=(570,), mullions_y=(240,))
    rm.chalkboard(room, 1360, 130, 400, 330)
    rm.shelf(room, 600, 1330, 1880)
    bulb = rm.pendant(room, 860, 230)
    rm.pendant(room, 1560, 190)
    marble = mix(np.array([0.8, 0.78, 0.74], np.float32), room.c("wall"), 0.5)
    rm.desk(room, 836, 70, drawers=False, colour=marble)
    rm.croissant(room, 560, 880)
    steam = []
    if rng.random() < 0.7:
        steam.append(porsuk.mug(room.layer, room.ink, room.c("accent"), 340, 884, 0.8, coffee=True))
    return Layout(glass=(110, 80, 1030, 742), key=_lamp_light(room, bulb, reach=420, cone=90, glow=0.7),
                  place=_cat(1190, 836, 0.94), slant=(380, 280), steam=steam, sweep=(1060, 0, 1920, 520))


def cabin_in_the_woods(room: rm.Room, lights: list, view: str) -> Layout:
    rm.wall(room, logs=True)
    rm.window(room, (100, 120, 740, 650), (130, 150, 710, 620), mullions_x=(420,), mullions_y=(385,))
    rm.curtain(room, 100, 120, 740, 650)
    fire = rm.fireplace(room, 1330, 1830, 330, 880)
    rm.shelf(room, 250, 820, 1230, tall=0.8)
    rm.desk(room, 868, 80, drawers=False)
    rm.lantern(room, 330, 900, 0.9)
    fx, fy = (fire[0] + fire[2]) / 2, (fire[1] + fire[3]) / 2
    key = KeyLight(fx, fy, mix(room.c("lamp"), np.array([1.0, 0.55, 0.2], np.float32), 0.6), reach=560, cone=None, glow=0.5)
    return Layout(glass=(130, 150, 710, 620), key=key, place=_cat(960, 868, 0.9), slant=(380, 300), fire=fire)


def bedroom(room: rm.Room, lights: list, view: str) -> Layout:
    rng = room.rng
    rm.wall(room, planks=rng.random() < 0.4)
    rm.poster(room, 110, 150, 230, 300)
    rm.poster(room, 1560, 90, 170, 220)
    rm.window(room, (660, 70, 1480, 600), (690, 100, 1450, 570), mullions_x=(1070,))
    rm.string_lights(room, 640, 50, 1500, 70, lights, n=13)
    rm.curtain(room, 660, 70, 1480, 600, side=1)
    bulb = rm.pendant(room, 1800, 330, ceiling=0)
    rm.bed(room, 800, 560, W + 60)
    record = rm.record_player(room, 290, 770)
    return Layout(glass=(690, 100, 1450, 570), key=_lamp_light(room, bulb, reach=460, cone=90, glow=0.7),
                  place=_cat(1150, 806, 0.9), slant=(300, 320), record=record, sweep=(0, 0, 1920, 420))


def library_nook(room: rm.Room, lights: list, view: str, fire: bool = False) -> Layout:
    rm.wall(room, planks=True)
    rm.bookcase(room, 30, 560, 40, 860, 5)
    gx0, gy0, gx1, gy1 = 680, 90, 1240, 700
    hw = (gx1 - gx0) / 2
    cx = (gx0 + gx1) / 2
    arch = lambda a, b: np.minimum(rbox(a, b, cx, (gy0 + hw + gy1) / 2, hw, (gy1 - gy0 - hw) / 2, 1), ellipse(a, b, cx, gy0 + hw, hw, hw))
    rm.cut(room, (gx0, gy0, gx1, gy1), arch)
    frame = mix(room.c("frame"), room.c("wall"), 0.35)
    room.layer.shape((gx0 - 40, gy0 - 40, gx1 + 40, gy1 + 40), lambda a, b: np.maximum(arch(a, b) - 28, -arch(a, b)), frame,
                     outline=(room.ink, 2.2))
    room.layer.shape((cx - 12, gy0, cx + 12, gy1), lambda a, b: np.maximum(rbox(a, b, cx, (gy0 + gy1) / 2, 9, (gy1 - gy0) / 2, 1), arch(a, b)),
                     frame, outline=(room.ink, 1.5))
    rm.glass_surface(room, (gx0, gy0, gx1, gy1), (cx,))
    firebox = None
    if fire:
        firebox = rm.fireplace(room, 1380, 1860, 420, 900)
    else:
        rm.bookcase(room, 1360, 1890, 40, 860, 5)
    rm.desk(room, 850, 80)
    bulb = rm.banker_lamp(room, 1250, 878)
    rm.books(room, 430, 884)
    key = _lamp_light(room, bulb, reach=420, cone=90, glow=0.6)
    if firebox is not None:
        fx, fy = (firebox[0] + firebox[2]) / 2, (firebox[1] + firebox[3]) / 2
        key = KeyLight(fx, fy, mix(room.c("lamp"), np.array([1.0, 0.55, 0.2], np.float32), 0.6), reach=520, cone=None, glow=0.5)
    return Layout(glass=(gx0, gy0, gx1, gy1), key=key, place=_cat(930, 850, 0.9), slant=(250, 320), fire=firebox)


def library_by_the_fire(room: rm.Room, lights: list, view: str) -> Layout:
    return library_nook(room, lights, view, fire=True)


def seaside_room(room: rm.Room, lights: list, view: str) -> Layout:
    rm.wall(room, planks=True)
    rm.window(room, (90, 80, 1410, 730), (120, 110, 1380, 700), mullions_x=(540, 960), mullions_y=(300,))
    rm.curtain(room, 90, 80, 1410, 730, side=1)
    rm.plant(room, 200, 726, 40, flowers=room.season == "spring")
    shell = np.array([0.95, 0.82, 0.75], np.float32)
    for sx in (1260, 1320):
        room.layer.shape((sx - 26, 700, sx + 26, 730), lambda a, b, sx=sx: np.maximum(ellipse(a, b, sx, 728, 22, 20), b - 728), shell,
                         outline=(room.ink, 1.4))
    rm.desk(room, 820)
    bulb = rm.desk_lamp(room, 1640, 842)
    rm.books(room, 360, 856)
    return Layout(glass=(120, 110, 1380, 700), key=_lamp_light(room, bulb), place=_cat(1060, 820, 0.95),
                  slant=(400, 280), steam=[], sweep=(1400, 0, 1920, 460))


def mirror(layer: Layer, layout: Layout, lights: list) -> Layout:
    """The same room seen in a mirror: the layer flipped left to right, and the layout with it.

    Half of all scenes are painted mirrored (chosen by the seed), so two sessions of the same
    scene differ in their whole arrangement, not only in colour.
    """
    layer.rgb = np.ascontiguousarray(layer.rgb[:, ::-1])
    layer.alpha = np.ascontiguousarray(layer.alpha[:, ::-1])
    def fx(x: float) -> float:
        return W - x

    def flip(b: Box) -> Box:
        return (W - b[2], b[1], W - b[0], b[3])

    def fbox(b: Box | None) -> Box | None:
        return None if b is None else flip(b)

    lights[:] = [(fx(x), y, c, r) for x, y, c, r in lights]
    k = layout.key
    p = layout.place
    return replace(layout, glass=flip(layout.glass),
                   key=replace(k, x=fx(k.x), cone=None if k.cone is None else 180.0 - k.cone),
                   place=replace(p, ox=fx(p.ox), flip=not p.flip), slant=(-layout.slant[0], layout.slant[1]),
                   steam=[(fx(x), y) for x, y in layout.steam], fire=fbox(layout.fire),
                   record=None if layout.record is None else (fx(layout.record[0]), layout.record[1], layout.record[2]),
                   sweep=fbox(layout.sweep))


PAINTERS: dict[str, Callable[[rm.Room, list, str], Layout]] = {
    "desk by the window": desk_by_the_window,
    "rooftop": rooftop,
    "train window": train_window,
    "café corner": cafe_corner,
    "cabin in the woods": cabin_in_the_woods,
    "bedroom with a record player": bedroom,
    "library nook": library_nook,
    "library by the fire": library_by_the_fire,
    "seaside room": seaside_room,
}
