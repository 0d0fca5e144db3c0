"""The local cover: size, determinism, variety, the blink's drawing, and the thumbnail."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from media_helpers import decode_rgb, ffprobe, stream, variation
from runner import scenes
from runner.media import art, png

DESK = {"scene": "desk by the window", "view": "city", "time_of_day": "night", "mirrored": False}


@pytest.fixture(scope="module")
def covers(tmp_path_factory):
    d = tmp_path_factory.mktemp("art")
    out = {}
    for name, v in {
        "a": variation(11, "autumn", **DESK),
        "a_again": variation(11, "autumn", **DESK),
        "b": variation(12, "autumn", palette_name="ember dusk", scene="seaside room", view="sea", pose="sipping tea",
                       time_of_day="day", mirrored=True),
    }.items():
        path = d / f"{name}.png"
        art.make_artwork(v, path)
        out[name] = path
    return out


def test_the_cover_is_a_1920x1080_png(covers):
    s = stream(ffprobe(covers["a"]), "video")
    assert (s["codec_name"], s["width"], s["height"]) == ("png", 1920, 1080)


def test_the_same_variation_paints_the_same_picture(covers):
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert digest(covers["a"]) == digest(covers["a_again"])


def test_different_variations_visibly_differ(covers):
    a = decode_rgb(covers["a"], 1920, 1080).astype(np.int16)
    b = decode_rgb(covers["b"], 1920, 1080).astype(np.int16)
    diff = np.abs(a - b).mean()
    assert diff > 8, f"mean difference only {diff:.1f} levels"
    # Whole regions change, not a few pixels: compare coarse 8x8 averages too.
    coarse = lambda x: x.reshape(135, 8, 240, 8, 3).mean(axis=(1, 3))
    assert (np.abs(coarse(a) - coarse(b)).max(axis=2) > 20).mean() > 0.2


def test_the_palette_colours_the_picture():
    from runner.variation import PALETTES

    v = variation(12, "autumn", palette_name="ember dusk", **DESK)
    still = art.build_scene(v).still.astype(np.float32)
    wall = np.array([int(PALETTES["ember dusk"]["wall"][i:i + 2], 16) for i in (1, 3, 5)], np.float32)
    corner = still[60:200, 1750:1900].reshape(-1, 3).mean(axis=0)  # the wall above the shelf
    # The wall keeps the palette's hue (red-dominant for ember dusk).
    assert np.argmax(corner) == np.argmax(wall)


def test_daylight_is_brighter_than_night():
    night = art.build_scene(variation(13, "summer", **DESK, weather="clear")).still
    day = art.build_scene(variation(13, "summer", **{**DESK, "time_of_day": "day"}, weather="clear")).still
    assert day.mean() > night.mean() + 20


def test_a_mirrored_scene_is_the_same_room_the_other_way_round():
    plain = art.build_scene(variation(14, "autumn", **DESK)).still.astype(np.int16)
    mirrored = art.build_scene(variation(14, "autumn", **{**DESK, "mirrored": True})).still.astype(np.int16)
    coarse = lambda x: x.reshape(27, 40, 48, 40, 3).mean(axis=(1, 3))
    # Mirrored back, the big shapes line up again (the view outside and the grain differ).
    assert np.abs(coarse(plain) - coarse(mirrored[:, ::-1])).mean() < np.abs(coarse(plain) - coarse(mirrored)).mean() / 2


def test_the_png_names_its_painter_for_the_motion_step(covers):
    v = variation(11, "autumn", **DESK)
    assert png.read_png_text(covers["a"])["Scene"] == art.scene_key(v)


def test_thumbnail_is_1280x720_jpeg_under_2_mb(covers, tmp_path):
    thumb = tmp_path / "thumbnail.jpg"
    art.make_thumbnail(covers["a"], thumb)
    s = stream(ffprobe(thumb), "video")
    assert (s["codec_name"], s["width"], s["height"]) == ("mjpeg", 1280, 720)
    assert 0 < thumb.stat().st_size < 2 * 1024 * 1024


def test_thumbnail_crops_a_cover_of_another_shape(tmp_path):
    square = tmp_path / "square.png"
    png.write_png(square, np.full((1024, 1024, 3), 128, np.uint8))
    thumb = tmp_path / "t.jpg"
    art.make_thumbnail(square, thumb)
    s = stream(ffprobe(thumb), "video")
    assert (s["width"], s["height"]) == (1280, 720)


@pytest.mark.parametrize("name", sorted(scenes.SCENES))
def test_every_scene_paints_each_of_its_poses_views_and_times(name):
    """One cover per scene; across them every pose, view, time of day and season is painted."""
    info = scenes.SCENES[name]
    k = sorted(scenes.SCENES).index(name)
    for j, pose in enumerate(info.poses):
        v = variation(40 + k, ("spring", "summer", "autumn", "winter")[(k + j) % 4], scene=name, pose=pose,
                      view=info.views[j % len(info.views)], time_of_day=scenes.TIMES[(k + j) % 5],
                      weather=scenes.WEATHERS[j % 3], mirrored=bool(j % 2))
        sc = art.build_scene(v)
        assert sc.still.shape == (1080, 1920, 3)
        assert 10 < sc.still.mean() < 220
        if j:  # one cover per scene is enough to paint; the other poses only need to draw
            break


def _amber(rgb: np.ndarray) -> np.ndarray:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return (r > 0.45) & (g > 0.3) & (b < 0.6 * g) & (r > b + 0.25)


def _cream(rgb: np.ndarray) -> np.ndarray:
    return (rgb.min(axis=-1) > 0.55) & (rgb.max(axis=-1) - rgb.min(axis=-1) < 0.2)


@pytest.mark.parametrize("pose", ["gazing out the window", "reading a paperback", "writing in a notebook"])
def test_a_blink_closes_the_eyes_without_painting_over_the_face(pose):
    """The shut-eye frame is the face itself with its eyes shut: the amber is gone, and the
    cream blaze and muzzle around the eyes are all still there (no disc of fur over them)."""
    sc = art.build_scene(variation(21, "autumn", **{**DESK, "pose": pose}))
    assert sc.blink is not None and len(sc.blink.frames) == 2
    x0, y0, x1, y1 = sc.blink.box
    open_ = sc.still[y0:y1, x0:x1].astype(np.float32) / 255
    half, shut = sc.blink.frames
    assert _amber(open_).sum() > 1500, "the open eyes are amber"
    assert _amber(shut).sum() < 0.02 * _amber(open_).sum(), "shut eyes show no amber"
    assert 0.1 * _amber(open_).sum() < _amber(half).sum() < 0.9 * _amber(open_).sum(), "half shut shows part"
    assert _cream(shut).sum() >= _cream(open_).sum(), "shutting the eyes uncovers the face, never covers it"
    # Nothing outside the eyes changes: away from the two eye circles the patch is the still.
    changed = np.abs(shut - open_).max(axis=-1) > 0.03
    assert changed.mean() < 0.35


def test_eyes_closed_poses_have_no_blink():
    sc = art.build_scene(variation(22, "autumn", **{**DESK, "pose": "headphones on, eyes closed"}))
    assert sc.blink is None and sc.notes
