"""Metadata stays inside YouTube's limits whatever the theme, length and track count."""

from __future__ import annotations

import re

import pytest
from helpers import params

from runner import metadata, store, variation


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
        {1: "a", 2: "b", 3: "c", 4: "d"}, 60)
    assert lines == ["1. a", "2. b", "3. c"]  # two chapters are not chapters: plain, all named
    lines = metadata.chapter_lines(
        [{"track": 1, "start": 0, "end": 4}, {"track": 2, "start": 4, "end": 12}, {"track": 3, "start": 12, "end": 30},
         {"track": 4, "start": 30, "end": 60}], {1: "a", 2: "b", 3: "c", 4: "d"}, 60)
    assert lines == ["0:00 a / b", "0:12 c", "0:30 d"]


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


# ----------------------------------------------------------------------------- chapters YouTube accepts

def _meta(description: str) -> dict:
    return {"title": "rain \u00b7 lofi beats", "description": description, "tags": ["lofi"]}


def test_a_five_minute_video_whose_150_s_tracks_wrap_never_ends_on_an_8_s_chapter():
    # Two 150 s tracks with a 4 s crossfade in a 5:00 video: the first comes back at 4:52.
    segments = [{"track": 1, "start": 0, "end": 150}, {"track": 2, "start": 146, "end": 296},
                {"track": 1, "start": 292, "end": 300}]
    old = "tracklist\n0:00 paper moons\n2:26 ink\n4:52 paper moons\n"
    assert "the last chapter 4:52 lasts 8 s to the end of the 5:00 video (at least 10 s)" in \
        metadata.problems(_meta(old), 300)
    p = params(minutes=5, tracks=2)
    v = variation.draw(p, 7)
    meta = metadata.build(p, v, segments, v["tracks"][:2], video_s=300)
    assert metadata.problems(meta, 300) == []
    assert "4:52" not in meta["description"]
    assert metadata.chapter_times(meta["description"]) == []  # two chapters are none: listed plain


def test_half_a_minute_of_eight_tracks_lists_every_track_and_no_chapter_shorter_than_10_s():
    p = {**params(minutes=0.5, tracks=1), "tracks": 8}  # paid tracks of any length: no count refusal
    v = variation.draw(p, 7)
    meta = metadata.build(p, v, _segments(30, 8), v["tracks"], video_s=30)
    assert metadata.problems(meta, 30) == []
    assert metadata.chapter_times(meta["description"]) == []
    for t in v["tracks"]:
        assert t["title"].lower() in meta["description"]


def test_a_last_track_starting_within_10_s_of_the_end_joins_the_chapter_before_it():
    segments = _segments(600, 10)[:9] + [{"track": 10, "start": 592, "end": 600}]
    segments[8]["end"] = 596
    lines = metadata.chapter_lines(segments, {i: f"t{i}" for i in range(1, 11)}, 600)
    assert lines[-1] == "8:00 t9 / t10" and len(lines) == 9
    assert metadata.chapter_problems(metadata.chapter_times("\n".join(lines)), 600) == []


@pytest.mark.parametrize("description,needle", [
    ("0:05 a\n1:00 b\n2:00 c", "the first chapter is 0:05, not 0:00"),
    ("0:00 a\n1:00 b", "2 chapter timestamps: YouTube needs at least 3 or none"),
    ("0:00 a\n2:00 b\n1:00 c", "chapter 1:00 does not come after 2:00"),
    ("0:00 a\n0:09 b\n2:00 c", "chapter 0:00 lasts 9 s (at least 10 s)"),
    ("0:00 a\n1:00 b\n9:55 c", "the last chapter 9:55 lasts 5 s"),
])
def test_problems_names_each_chapter_rule_broken(description, needle):
    assert any(needle in p for p in metadata.problems(_meta(description), 600)), metadata.problems(_meta(description), 600)


def test_good_chapters_and_no_chapters_are_both_fine():
    assert metadata.problems(_meta("0:00 a\n1:00 b\n2:00 c"), 600) == []
    assert metadata.problems(_meta("no timestamps here"), 600) == []


def test_a_theme_that_looks_like_a_timestamp_is_no_chapter_marker():
    meta, _ = _build(theme="1:00 am rain", minutes=60, tracks=10)
    assert metadata.problems(meta, 3600) == []
    assert metadata.chapter_times(meta["description"])[:2] == [0, 360]
    assert "1\u223600 am rain" in meta["description"]
    assert meta["title"].startswith("1:00 am rain")  # a title makes no chapters: left as typed


# ----------------------------------------------------------------------------- text YouTube refuses

@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\u202e", "\u2066", "\u200f", "\udc80", "\ufffe", "\x85", "\t"])
def test_every_refused_character_is_caught_in_title_description_and_tags(char):
    problems = metadata.problems({"title": f"rain{char}night", "description": f"rain{char}night",
                                  "tags": ["lofi", f"rain{char}"]})
    assert [p.split(" ")[0] for p in problems] == ["title", "description", "tag"], problems
    assert all(" contains " in p and "\n" not in p for p in problems)


def test_composed_text_is_normalised_not_refused():
    assert metadata.clean("a\u2028b\u2029c\rd", newlines=True) == "a\nb\nc\nd"
    assert metadata.clean("a\u2028b\tc") == "a b c"
    assert metadata.clean("a\u202eb\udc80c\ufffed<e>") == "abcde"
    p = params()
    v = variation.draw(p, 7)
    tracks = [{**t, "title": f"ink\u2028{t['title']}\u202e"} for t in v["tracks"]]
    meta = metadata.build(p, {**v, "scene": "attic\u2029desk"}, _segments(60, 3), tracks)
    assert metadata.problems(meta, 60) == []


@pytest.mark.parametrize("theme,word", [("rain\u2028night", "U+2028"), ("rain\u2029night", "U+2029"),
                                        ("rain\u202enight", "U+202E"), ("rain\udcffnight", "U+DCFF")])
def test_a_theme_with_refused_characters_is_one_line(theme, word):
    from runner import store

    with pytest.raises(store.InvalidParams) as info:
        params(theme=theme)
    assert word in str(info.value) and "\n" not in str(info.value)


def test_hostile_metadata_shapes_are_problems_not_crashes():
    assert metadata.problems([]) == ["metadata is not a JSON object"]
    assert metadata.problems({"title": "", "description": "", "tags": []}) == ["title is missing or empty"]
    assert metadata.problems({"title": "t", "description": 5, "tags": []}) == ["description is missing or not text"]
    assert metadata.problems({"title": "t", "description": "", "tags": [1]}) == ["tags are not a list of text"]


# ----------------------------------------------------------------------------- the length label

@pytest.mark.parametrize("seconds,label", [
    (6, "6 sec"), (30, "30 sec"), (59, "59 sec"), (60, "1 min"), (90, "1.5 min"), (45 * 60, "45 min"),
    (3600, "1 hour"), (61 * 60, "61 min"), (90 * 60, "1.5 hours"), (150 * 60, "2.5 hours"),
    (125 * 60, "125 min"), (7200, "2 hours"), (720 * 60, "12 hours"),
])
def test_the_length_label_is_right_at_the_edges(seconds, label):
    assert metadata.length_label(seconds) == label


def test_counts_read_as_words():
    assert metadata.count(1, "track") == "1 track" and metadata.count(2, "track") == "2 tracks"
    assert metadata.count(0, "track") == "0 tracks"
    assert store.count(1_000_000, "session") == "1000000 sessions" and store.count(1.0, "track") == "1 track"


def test_metadata_edited_during_review_into_a_broken_tracklist_is_not_uploaded(tmp_path):
    import asyncio
    import json
    import types

    from runner.providers.errors import UploadError
    from runner.steps import upload

    sent = []

    class Uploader:
        name = "youtube"

        def unavailable_reason(self):
            return None

        async def upload(self, *args):
            sent.append(args)
            return {"id": "vid", "url": "https://youtu.be/vid"}

    (tmp_path / "metadata.json").write_text(json.dumps(_meta("0:00 a\n1:00 b\n4:55 c")))
    outputs = {"render": {"final": "final.mp4", "seconds": 300.0}, "artwork": {"thumbnail": "thumbnail.jpg"}}
    ctx = types.SimpleNamespace(
        params={"upload": True, "privacy": "private", "minutes": 5}, state={"id": "20261121-031500-rain"},
        session_dir=tmp_path, providers=types.SimpleNamespace(uploader=Uploader()), outputs_of=outputs.__getitem__)
    with pytest.raises(UploadError) as info:
        asyncio.run(upload.run(ctx))
    assert "metadata.json breaks YouTube's rules: the last chapter 4:55 lasts 5 s" in str(info.value)
    assert "python -m runner resume 20261121-031500-rain" in str(info.value) and sent == []
