"""Scenes chosen by the run: atmosphere and theme steer the picture, and no two covers look alike."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from media_helpers import variation
from runner import scenes
from runner import variation as V
from runner.media import art, compositions, gallery, motion

REPO = Path(__file__).resolve().parent.parent
SEASONS = ("spring", "summer", "autumn", "winter")


def draw(theme: str, season: str = "autumn", atmosphere: str = "none", seed: int = 1, earlier=()) -> dict:
    return V.draw({"theme": theme, "season": season, "atmosphere": atmosphere, "tracks": 2}, seed, earlier)


# ----------------------------------------------------------------------------- the atmosphere

@pytest.mark.parametrize("season", SEASONS)
def test_the_weather_follows_the_atmosphere_in_every_season(season):
    for seed in range(12):
        assert draw("quiet hours", season, "rain", seed)["weather"] == "rain"
        assert draw("quiet hours", season, "none", seed)["weather"] == "clear"
        # A theme asking for rain or snow does not override a clear sky...
        assert draw("rainy snowy night", season, "none", seed)["weather"] == "clear"
        # ...nor does one asking for sun stop the rain you hear.
        assert draw("sunny afternoon", season, "rain", seed)["weather"] == "rain"
    # Spring, summer and autumn no longer mean rain by themselves.
    if season != "winter":
        assert {draw("quiet hours", season, "fireplace", s)["weather"] for s in range(12)} == {"clear"}


def test_what_you_hear_is_in_the_picture():
    for seed in range(16):
        assert scenes.SCENES[draw("quiet hours", atmosphere="fireplace", seed=seed)["scene"]].hearth
        assert draw("quiet hours", atmosphere="cafe", seed=seed)["scene"] == "café corner"
        assert draw("quiet hours", atmosphere="forest", seed=seed)["view"] == "forest"


def test_a_fire_burns_in_every_scene_with_a_hearth():
    for name, info in scenes.SCENES.items():
        sc = art.build_scene(variation(3, "winter", scene=name, view=info.views[0], time_of_day="night",
                                       weather="clear", mirrored=False))
        assert (sc.fire is not None) == info.hearth, name
        if info.hearth:
            x0, y0, x1, y1 = sc.fire.box
            flames = sc.still[y0:y1, x0:x1].astype(np.float32)
            assert (flames[..., 0] - flames[..., 2]).max() > 120, "orange flames in the firebox"


def _glass_change(scene: art.Scene, frames: tuple[int, ...]) -> float:
    """Share of pixels behind the glass (away from the lamp, whose light breathes) whose
    brightness changes between loop frames."""
    x0, y0, x1, y1 = scene.glass_box
    x1 = min(x1, scene.lamp_box[0])
    b = motion.LoopBuilder(scene)
    ys = [np.frombuffer(b.frame(i), np.uint8)[:motion.W * motion.H].reshape(motion.H, motion.W)[y0:y1, x0:x1]
          .astype(np.int16) for i in frames]
    return float(np.mean([(np.abs(a - c) > 6).mean() for a, c in zip(ys, ys[1:])]))


@pytest.mark.parametrize("season", SEASONS)
def test_atmosphere_none_draws_no_rain_or_snow_and_rain_does(season):
    """The same room, clear and raining: rain streaks cross the glass in the cover and move in
    the loop; with --atmosphere none nothing falls (what moves there is a star, dust or a leaf)."""
    pick = {"scene": "desk by the window", "view": "city", "time_of_day": "night", "pose": "sipping tea",
            "mirrored": False}
    clear = art.build_scene(variation(8, season, **pick, weather=draw("x", season, "none")["weather"]))
    rain = art.build_scene(variation(8, season, **pick, weather=draw("x", season, "rain")["weather"]))
    assert clear.weather == "clear" and rain.weather == "rain"
    assert art.precip_layers(clear, motion.LOOP_SECONDS) == []
    x0, y0, x1, y1 = clear.glass_box

    def streaks(sc: art.Scene) -> float:  # share of pixels on a thin bright line, brighter than both sides
        luma = sc.still[y0:y1, x0:x1].astype(np.float32) @ np.array([0.3, 0.59, 0.11], np.float32)
        return float((luma[:, 2:-2] - np.maximum(luma[:, :-4], luma[:, 4:]) > 4).mean())
    assert streaks(rain) > streaks(clear) + 0.01, "rain streaks show in the cover"
    frames = (0, 7, 31, 90)
    # Clear: only twinkles, dust and (spring, autumn) a dozen petals or leaves move out there.
    assert _glass_change(clear, frames) < 0.02
    assert _glass_change(rain, frames) > 0.04


# ----------------------------------------------------------------------------- the theme

def test_theme_words_are_found_whatever_their_case_accents_or_plurals():
    assert scenes.words("Sunny Afternoon CAFÉ") == ("sunny", "afternoon", "cafe")
    assert scenes.words("two trains, many books") == ("train", "book")
    assert scenes.words("lofi beats to relax to") == ()


@pytest.mark.parametrize("theme", ["", "zxqv blorp", "🌧️ ☕ 日本語 ٣", "a" * 80, "café café cafe", "---"])
def test_unknown_words_never_fail_a_run(theme):
    for atmosphere in scenes.ATMOSPHERES:
        v = draw(theme, "winter", atmosphere)
        assert v["scene"] in scenes.SCENES and v["time_of_day"] in scenes.TIMES
        assert v["palette_name"] in V.PALETTES and v["variation_key"]


def test_a_theme_with_no_known_word_keeps_its_scene_from_session_to_session():
    for theme in ("deep focus", "quiet hours", "lofi beats to relax to"):
        chosen = {draw(theme, seed=s)["scene"] for s in range(20)}
        assert len(chosen) == 1, (theme, chosen)
    # ...while different themes land in different places.
    assert len({draw(t)["scene"] for t in ("deep focus", "quiet hours", "soft static", "after hours")}) >= 3


@pytest.mark.parametrize("theme,scene,time", [
    ("sunny cafe", "café corner", ("day", "golden hour")),
    ("morning train", "train window", ("dawn", "day")),
    ("forest cabin at night", None, ("night",)),
    ("beach at sunset", "seaside room", ("dusk", "golden hour")),
    ("library study", None, None),
    ("city rooftop", "rooftop", None),
    ("vinyl bedroom", "bedroom with a record player", None),
])
def test_the_theme_steers_scene_and_time_of_day(theme, scene, time):
    for seed in range(6):
        v = draw(theme, seed=seed)
        if scene:
            assert v["scene"] == scene, v["scene"]
        if time:
            assert v["time_of_day"] in time, v["time_of_day"]
    assert draw("forest cabin at night")["view"] == "forest"
    assert draw("library study")["scene"] in ("library nook", "library by the fire")


def test_snow_in_the_theme_brings_snow_unless_the_sky_must_be_clear():
    assert draw("snowy evening", "autumn", "cafe")["weather"] == "snow"
    assert draw("snowy evening", "autumn", "none")["weather"] == "clear"


# ----------------------------------------------------------------------------- no two alike

def test_sessions_of_one_theme_never_repeat_a_key_and_alternate_the_layout():
    earlier: list[dict] = []
    for seed in range(30):
        v = draw("rainy night in the city", "autumn", "rain", seed * 31 + 7, earlier)
        assert v["variation_key"] not in {e["variation_key"] for e in earlier}
        same = [e for e in earlier if e["scene"] == v["scene"]]
        if same:
            assert v["mirrored"] != same[-1]["mirrored"], "a scene shown last time is mirrored this time"
        earlier.append(v)


def test_the_catalogue_and_the_painters_agree():
    assert set(compositions.PAINTERS) == set(scenes.SCENES)
    for info in scenes.SCENES.values():
        assert set(info.poses) <= set(scenes.POSES) and set(info.views) <= set(scenes.VIEWS)
    for word, hint in scenes.VOCABULARY.items():
        assert set(hint.scenes) <= set(scenes.SCENES), word
        assert set(hint.views) <= set(scenes.VIEWS) and set(hint.times) <= set(scenes.TIMES), word
        assert set(hint.poses) <= set(scenes.POSES) and set(hint.palettes) <= set(V.PALETTES), word
        assert hint.weather in ("", *scenes.WEATHERS), word


def test_docs_list_every_scene_and_every_vocabulary_word():
    doc = (REPO / "docs" / "scenes.md").read_text()
    for name in scenes.SCENES:
        assert f"`{name}`" in doc, name
    listed = set(re.findall(r"`([a-z]+)`", doc.split("## Theme words", 1)[1].split("\n## ", 1)[0]))
    assert listed == set(scenes.VOCABULARY), sorted(listed ^ set(scenes.VOCABULARY))
    assert f"{gallery.PHASH_MIN_DISTANCE}" in doc


@pytest.mark.slow
def test_twelve_runs_make_twelve_covers_no_two_alike():
    """Covers for twelve (theme, season, atmosphere) runs, drawn one after another as a channel
    would: every pair differs by more than PHASH_MIN_DISTANCE bits of perceptual hash."""
    assert len(set(gallery.SHEET)) == 12
    earlier: list[dict] = []
    hashes = []
    for i, (theme, season, atmosphere) in enumerate(gallery.SHEET):
        v = draw(theme, season, atmosphere, 1000 + i, earlier)
        earlier.append(v)
        hashes.append(gallery.phash(art.build_scene(v).still))
    closest = min((gallery.distance(a, b), i, j) for i, a in enumerate(hashes) for j, b in enumerate(hashes) if i < j)
    assert closest[0] > gallery.PHASH_MIN_DISTANCE, (closest, gallery.SHEET[closest[1]], gallery.SHEET[closest[2]])


def test_the_perceptual_hash_tells_near_copies_from_other_pictures():
    """The threshold's footing: a cover shifted, re-graded or noised stays within a few bits of
    itself, while a different picture is far away."""
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:270, 0:480]
    img = np.stack([np.sin(xx / 37.0) * 90 + 120, np.cos(yy / 23.0) * 80 + 110, (xx + yy) % 200 + 30], -1)
    base = gallery.phash(img)
    assert gallery.distance(base, gallery.phash(np.roll(img, 4, axis=1))) <= 6
    assert gallery.distance(base, gallery.phash(img * 0.8 + 20)) <= 2
    assert gallery.distance(base, gallery.phash(img + rng.normal(0, 8, img.shape))) <= 4
    other = np.stack([np.cos(yy / 41.0) * 90 + 120, np.sin(xx / 19.0) * 80 + 110, (xx * 2) % 200 + 30], -1)
    assert gallery.distance(base, gallery.phash(other)) > gallery.PHASH_MIN_DISTANCE
    assert gallery.distance(random.Random(1).getrandbits(64), random.Random(2).getrandbits(64)) > 16
