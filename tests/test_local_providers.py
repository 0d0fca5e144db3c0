"""The keyless providers: they take the money path, write the files, and fit together."""

from __future__ import annotations

import asyncio
import json

import pytest
from helpers import params

from media_helpers import FakeCtx, ebur128, ffprobe, run, stream, variation
from runner import sessions, store
from runner.journal import Journal
from runner.media import art, master, motion, png, render, scenefile
from runner.pipeline import Pipeline
from runner.providers import local
from runner.providers.base import ProviderSet
from runner.providers.registry import NoUploader
from runner.steps import STEP_FUNCTIONS


def test_the_factory_offers_all_four_providers():
    made = local.local_providers()
    assert set(made) == {"art", "motion", "music", "ambience"}
    assert all(p.name == "local" for p in made.values())
    assert isinstance(made["music"].concurrency, int) and made["music"].concurrency >= 1


def _assert_free_local_call(call, asset):
    assert call.provider == "local" and call.model == "procedural-v1"
    assert call.asset == asset and call.estimate_usd == 0.0 and call.cacheable is False
    assert call.label and call.params


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    d = tmp_path_factory.mktemp("session")
    (d / "tracks").mkdir()
    ctx = FakeCtx(d, variation(21, "winter"))
    made = local.local_providers()
    out = {"ctx": ctx, "dir": d}
    out["art"] = run(made["art"].make_artwork(ctx, d / "artwork.png"))
    out["motion"] = run(made["motion"].make_loop(ctx, d / "artwork.png", d / "loop.mp4", layers=out["art"]["layers"]))
    out["tracks"] = [run(made["music"].make_track(ctx, spec, 12.0, d / "tracks" / f"{spec['index']:02d}"))
                     for spec in ctx.variation["tracks"][:2]]
    out["ambience"] = run(made["ambience"].make_ambience(ctx, "fireplace", d / "ambience"))
    return out


def test_every_call_goes_through_spend_at_zero_cost(session):
    calls = session["ctx"].calls
    assert [c.asset for c in calls] == ["image", "video", "music", "music", "ambience"]
    for c in calls:
        _assert_free_local_call(c, c.asset)


def test_the_painter_writes_the_cover_and_its_layers_and_no_thumbnail(session):
    d = session["dir"]
    v = stream(ffprobe(d / "artwork.png"), "video")
    assert (v["width"], v["height"]) == (1920, 1080)
    assert session["art"]["provider"] == "local"
    assert session["art"]["layers"] == d / local.LAYERS_NAME
    assert scenefile.load(d / local.LAYERS_NAME, session["ctx"].variation) is not None
    assert not (d / "thumbnail.jpg").exists(), "the artwork step makes the thumbnail, for every painter"


def test_the_loop_animates_the_painted_scene(session):
    m = session["motion"]
    assert m["fps"] == motion.FPS and m["seconds"] == motion.LOOP_SECONDS
    v = stream(ffprobe(session["dir"] / "loop.mp4"), "video")
    assert int(v["nb_frames"]) == motion.FRAMES
    assert any(e[0] == "loop_encoded" for e in session["ctx"].events)
    assert session["ctx"].event_data["loop_encoded"]["saved_layers"] is True
    assert session["ctx"].progress_seen, "the encode reports progress"


def test_tracks_and_bed_are_wav_files_of_the_asked_length(session):
    for i, t in enumerate(session["tracks"], start=1):
        assert t["file"] == session["dir"] / "tracks" / f"{i:02d}.wav"
        a = stream(ffprobe(t["file"]), "audio")
        assert int(a["duration_ts"]) == 12 * 48000 and a["channels"] == 2
    assert session["ambience"]["file"].name == "ambience.wav"


def test_the_pieces_master_and_render_into_a_final(session, tmp_path):
    d = session["dir"]
    plan = run(master.master_audio([t["file"] for t in session["tracks"]], session["ambience"]["file"], 20.0,
                                   d / "mix.m4a"))
    meta = run(render.render_final(d / "loop.mp4", plan["file"], 20.0, d / "final.mp4"))
    info = ffprobe(meta["file"])
    assert abs(float(info["format"]["duration"]) - 20.0) <= 0.1
    i, tp = ebur128(meta["file"])
    assert abs(i + 14) <= 1 and tp <= -1


def test_someone_elses_artwork_still_gets_a_loop(tmp_path, monkeypatch):
    """A cover this painter did not make has no layers: the generic image loop is used
    (that loop itself is checked in test_media_motion)."""
    import numpy as np

    picture = tmp_path / "artwork.png"
    png.write_png(picture, np.full((720, 1280, 3), 90, np.uint8))
    used = {}

    async def fake_loop(image, out, **kw):
        used["image"] = image
        return {"file": out, "seconds": 8.0, "fps": motion.FPS, "frames": motion.FRAMES}

    monkeypatch.setattr(motion, "loop_from_image", fake_loop)
    ctx = FakeCtx(tmp_path, variation(3))
    meta = run(local.LocalMotion().make_loop(ctx, picture, tmp_path / "loop.mp4"))
    assert used["image"] == picture and meta["frames"] == motion.FRAMES
    assert ctx.calls[0].asset == "video"


def test_the_artwork_step_hands_the_motion_step_its_layers_through_a_file_then_the_file_goes(root):
    """No module state links the two steps: the artwork step's outputs name the layers file, the
    motion step animates it and deletes it; the thumbnail comes from the artwork step."""
    state = sessions.create(root, params())
    made = local.local_providers()
    providers = ProviderSet(made["art"], made["motion"], made["music"], made["ambience"], NoUploader("off"))
    pipeline = Pipeline(root, Journal(root, state), providers, dict(STEP_FUNCTIONS))
    d = store.session_dir(root, state["id"])

    async def visual() -> None:
        for step in ("variation", "artwork"):
            await pipeline.run_step(step)
        assert state["steps"]["artwork"]["outputs"]["layers"] == local.LAYERS_NAME
        assert (d / local.LAYERS_NAME).is_file()
        await pipeline.run_step("motion")

    asyncio.run(visual())
    t = stream(ffprobe(d / "thumbnail.jpg"), "video")
    assert (t["width"], t["height"]) == (1280, 720)
    assert state["steps"]["motion"]["status"] == "done"
    assert not (d / local.LAYERS_NAME).exists()
    [encoded] = [json.loads(line) for line in (d / "events.jsonl").read_text().splitlines()
                 if '"loop_encoded"' in line]
    assert encoded["data"]["saved_layers"] is True and encoded["data"]["layered"] is True
