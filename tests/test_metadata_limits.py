"""Metadata stays inside YouTube's limits whatever the theme, length and track count."""

from __future__ import annotations

import re

import pytest
from helpers import params

from runner import metadata, variation


def _segments(total_s: float, n: int, repeats: int = 1) -> list[dict]:
    count = n * repeats
    share = total_s / count
    return [{"track": i % n + 1, "start": i * share, "end": (i + 1) * share} for i in range(count)]


def _build(theme="rainy night", minutes=60, tracks=10, repeats=1, season="autumn"):
    p = params(theme=theme, minutes=minutes, tracks=tracks, season=season)
    v = variation.draw(p, 7)
    return metadata.build(p, v, _segments(minutes * 60, tracks, repeats), v["tracks"]), p


def _stamp_seconds(stamp: str) -> int:
    parts = [int(x) for x in stamp.split(":")]
    return parts[-1] + 60 * parts[-2] + (3600 * parts[0] if len(parts) == 3 else 0)


def test_title_is_lowercase_lofi_and_says_the_length():
    meta, _ = _build()
    assert meta["title"] == meta["title"].lower()
    assert re.search(r"lofi beats to [a-z ]+ to \[1 hour\]$", meta["title"])


@pytest.mark.parametrize("theme", ["x" * 80, "Ünïcødé ☔ nights " * 4, "RAINY & NIGHT \"quoted\" 'théme'"])
@pytest.mark.parametrize("minutes,tracks,repeats", [(1, 1, 1), (60, 10, 1), (720, 30, 1), (720, 30, 6)])
def test_every_field_fits_youtube_limits(theme, minutes, tracks, repeats):
    meta, _ = _build(theme=theme[:80], minutes=minutes, tracks=tracks, repeats=repeats)
    assert metadata.problems(meta) == []
    assert len(meta["title"]) <= 100
    assert len(meta["description"].encode("utf-8")) <= 5000
    assert metadata.tags_length(meta["tags"]) <= 500
    for text in [meta["title"], meta["description"], *meta["tags"]]:
        assert "<" not in text and ">" not in text


def test_tracklist_timestamps_make_valid_chapters():
    meta, _ = _build(minutes=60, tracks=10)
    stamps = re.findall(r"^(\d+:\d{2}(?::\d{2})?) ", meta["description"], flags=re.M)
    seconds = [_stamp_seconds(s) for s in stamps]
    assert stamps[0] == "0:00"
    assert len(seconds) == 10
    assert seconds == sorted(seconds)
    assert all(b - a >= 10 for a, b in zip(seconds, seconds[1:]))
    assert seconds[1] == 360  # the real start of track 2 in a 60-minute, ten-track mix


def test_segments_shorter_than_ten_seconds_are_folded_into_the_previous_chapter():
    lines = metadata.chapter_lines(
        [{"track": 1, "start": 0, "end": 4}, {"track": 2, "start": 4, "end": 12}, {"track": 3, "start": 12, "end": 30}],
        {1: "a", 2: "b", 3: "c"})
    assert lines == ["0:00 a", "0:12 c"]


def test_hour_long_timestamps_use_hours():
    assert metadata.timestamp(3725) == "1:02:05"
    assert metadata.timestamp(65) == "1:05"


def test_tags_with_spaces_count_their_quotes():
    assert metadata.tags_length(["lofi", "lofi beats"]) == 4 + 12 + 1


def test_angle_brackets_never_reach_metadata():
    assert metadata.clean("a <b> c") == "a b c"


def test_synthetic_media_is_declared_and_privacy_follows_the_run():
    meta, _ = _build()
    assert meta["contains_synthetic_media"] is True and meta["made_for_kids"] is False
    assert meta["privacy"] == "private"
