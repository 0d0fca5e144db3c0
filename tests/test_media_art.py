"""The local cover: size, determinism, variety, and the thumbnail."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from media_helpers import decode_rgb, ffprobe, stream, variation
from runner.media import art, png


@pytest.fixture(scope="module")
def covers(tmp_path_factory):
    d = tmp_path_factory.mktemp("art")
    out = {}
    for name, v in {
        "a": variation(11, "autumn"),
        "a_again": variation(11, "autumn"),
        "b": variation(12, "autumn", palette_name="ember dusk", scene="lighthouse study", pose="sipping tea"),
        "snow": variation(11, "winter"),
    }.items():
        png = d / f"{name}.png"
        art.make_artwork(v, png)
        out[name] = png
    return out


def test_the_cover_is_a_1920x1080_png(covers):
    s = stream(ffprobe(covers["a"]), "video")
    assert (s["codec_name"], s["width"], s["height"]) == ("png", 1920, 1080)


def test_the_same_seed_paints_the_same_picture(covers):
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert digest(covers["a"]) == digest(covers["a_again"])


def test_different_seeds_visibly_differ(covers):
    a = decode_rgb(covers["a"], 1920, 1080).astype(np.int16)
    b = decode_rgb(covers["b"], 1920, 1080).astype(np.int16)
    diff = np.abs(a - b).mean()
    assert diff > 8, f"mean difference only {diff:.1f} levels"
    # Whole regions change, not a few pixels: compare coarse 8x8 averages too.
    coarse = lambda x: x.reshape(135, 8, 240, 8, 3).mean(axis=(1, 3))
    assert (np.abs(coarse(a) - coarse(b)).max(axis=2) > 20).mean() > 0.2


def test_the_palette_colours_the_picture(covers):
    from runner.variation import PALETTES

    b = decode_rgb(covers["b"], 1920, 1080).astype(np.float32)
    wall = np.array([int(PALETTES["ember dusk"]["wall"][i:i + 2], 16) for i in (1, 3, 5)], np.float32)
    corner = b[200:300, 1750:1900].reshape(-1, 3).mean(axis=0)
    # The wall corner keeps the palette's hue (red-dominant for ember dusk).
    assert np.argmax(corner) == np.argmax(wall)


def test_snow_falls_in_winter_and_rain_otherwise(covers):
    rain = decode_rgb(covers["a"], 1920, 1080).astype(np.float32)
    snow = decode_rgb(covers["snow"], 1920, 1080).astype(np.float32)
    x0, y0, x1, y1 = art.GLASS
    # Snow flakes and frost brighten the glass far more than thin rain streaks.
    assert snow[y0:y1, x0:x1].mean() > rain[y0:y1, x0:x1].mean() + 2


def test_the_png_names_its_painter_for_the_motion_step(covers):
    v = variation(11, "autumn")
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


@pytest.mark.parametrize("i", [0, 2, 4])
def test_every_pose_and_scene_paints(i):
    """Two poses and two scenes per case, so all six of each are painted across the cases."""
    from runner.variation import POSES, SCENES

    for k in (i, i + 1):
        sc = art.build_scene(variation(40 + k, "winter" if k % 2 else "spring", pose=POSES[k], scene=SCENES[k]))
        assert sc.still.shape == (1080, 1920, 3)
        assert 10 < sc.still.mean() < 200
