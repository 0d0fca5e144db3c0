"""No repeated titles: normalised comparison, a varied title for a repeat, and a refused upload."""

from __future__ import annotations

import json

import pytest
from helpers import params

from runner import sessions, store, titles
from runner.pipeline import StepResult
from runner.providers.base import ProviderSet
from runner.steps import STEP_FUNCTIONS


@pytest.mark.parametrize("a, b", [
    ("Rainy Night · lofi beats to study to [1 hour]", "rainy night - LOFI beats to study to (2 hours)"),
    ("café rooftop: lofi", "Cafe Rooftop lofi!"),
    ("night 1", "night 22"),
])
def test_titles_equal_once_case_punctuation_and_numbers_are_set_aside(a, b):
    assert titles.normalise(a) == titles.normalise(b)


def test_different_words_stay_different():
    assert titles.normalise("rainy night lofi") != titles.normalise("rainy morning lofi")


def test_every_candidate_fits_youtube_and_the_usual_title_comes_first():
    p = params(theme="x" * 80, minutes=60)
    v = {"seed": 1, "scene": "attic desk", "tracks": [{"mood": "cozy"}]}
    options = titles.candidates(p, v)
    from runner import metadata
    assert options[0] == metadata.make_title(p, v)
    assert len(options) == len(set(options)) >= 10
    assert all(len(t) <= metadata.TITLE_MAX and "<" not in t and ">" not in t for t in options)
    assert len({titles.normalise(t) for t in options}) == len(options)


class NoUpload:
    name = "test"

    def __init__(self):
        self.sent = []

    def unavailable_reason(self):
        return None

    async def upload(self, ctx, final, thumb, meta, privacy):
        self.sent.append(meta["title"])
        return {"id": "vid", "url": "https://www.youtube.com/watch?v=vid"}


def _steps():
    """The real variation and metadata steps; the media steps stand in with what metadata reads."""
    fns = dict(STEP_FUNCTIONS)

    async def nothing(ctx):
        return StepResult({})

    async def render(ctx):
        (ctx.session_dir / "final.mp4").write_bytes(b"mp4")
        return StepResult({"final": "final.mp4"})

    async def artwork(ctx):
        (ctx.session_dir / "thumbnail.jpg").write_bytes(b"jpg")
        return StepResult({"thumbnail": "thumbnail.jpg"})

    fns.update(artwork=artwork, motion=nothing, music=nothing, render=render)
    return fns


def _session(root, uploader, **over):
    state = sessions.create(root, {**params(theme="rainy night", upload=True, **over), "seed": 7})
    status = sessions.execute(root, state, ProviderSet(None, None, None, None, uploader), step_fns=_steps())
    return store.read_state(root, state["id"]), status


def test_a_repeated_title_is_varied_with_another_pattern(root, monkeypatch):
    # One activity a season: the usual pattern gives both sessions the same title.
    monkeypatch.setattr("runner.metadata.ACTIVITIES", {"autumn": ("study",)})
    up = NoUpload()
    first, _ = _session(root, up)
    second, status = _session(root, up)
    assert status == "completed"
    from runner import metadata
    assert first["title"] == metadata.make_title(second["params"], second["steps"]["variation"]["outputs"]["variation"])
    assert first["title"] != second["title"]
    assert titles.normalise(first["title"]) != titles.normalise(second["title"])
    meta = json.loads((store.session_dir(root, second["id"]) / "metadata.json").read_text())
    assert meta["title"] == second["title"] == up.sent[1]
    assert second["steps"]["metadata"]["outputs"]["title_repeats"] is None


def test_when_every_pattern_is_taken_the_upload_refuses_before_sending(root, monkeypatch):
    monkeypatch.setattr(titles, "PATTERNS", titles.PATTERNS[:1])
    monkeypatch.setattr("runner.metadata.ACTIVITIES", {"autumn": ("study",)})
    up = NoUpload()
    first, _ = _session(root, up)
    second, status = _session(root, up)
    assert status == "failed" and len(up.sent) == 1
    assert second["steps"]["metadata"]["outputs"]["title_repeats"] == first["id"]
    error = second["steps"]["upload"]["error"]
    assert f"repeats session {first['id']}'s" in error and "not uploaded" in error
