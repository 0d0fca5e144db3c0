"""--provider fal against the loopback fal fake, driving the real fal_client in-process.

The providers run either with a bare step context (what was sent, which events came out) or
inside the real Pipeline (how a failure lands in state.json and the ledger).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fakes.fal import APPS
from fakes.fixtures import fal_fake, fast, loopback_only  # noqa: F401 - pytest fixtures
from fakes.harness import FakeCtx, assets, fal_env, track_spec
from helpers import params

from runner import budget, sessions, store
from runner.intents import Intents
from runner.journal import Journal
from runner.pipeline import Pipeline, StepFailed, StepResult
from runner.providers import download, fal
from runner.providers.base import ProviderSet
from runner.providers.errors import ProviderError
from runner.providers.registry import NoUploader


def _png_size(path: Path) -> tuple[int, int] | None:
    return fal.png_size(path)


def test_the_models_and_prices_come_from_the_one_table():
    assert fal.FalArt.model == budget.FAL_MODELS["image"] == APPS["image"]
    assert fal.FalMotion.model == budget.FAL_MODELS["video"] == APPS["video"]
    assert fal.FalMusic.model == budget.FAL_MODELS["music"] == APPS["music"]
    est = budget.estimate(params(provider="fal", tracks=10, minutes=60), elevenlabs=False)
    assert est["total_usd"] == pytest.approx(0.78, abs=0.02)  # the fleet's real figure per run


def test_cover_art_survives_a_429_then_arrives_as_a_1920x1080_png(tmp_path, fal_fake, fast):
    fal_fake.fail("submit", 429)
    ctx = FakeCtx(tmp_path)
    meta = asyncio.run(fal.FalArt(fal_env(fal_fake), policy=fast.policy).make_artwork(ctx, tmp_path / "artwork.png"))

    [sent] = fal_fake.submits(APPS["image"])
    [request_id] = [rid for rid, job in fal_fake.jobs.items() if job["app"] == APPS["image"]]
    assert meta == {"provider": "fal", "model": APPS["image"], "origin": {
        "provider": "fal", "model": APPS["image"], "request_id": request_id, "prompt": sent["prompt"],
        "seed": sent["seed"]}}
    # FLUX answered 1920x1072 (sizes snap to 16 px); the cover is fitted, not stretched.
    assert _png_size(tmp_path / "artwork.png") == (1920, 1080)
    assert fal_fake.submit_attempts(APPS["image"]) == 2
    [sent] = fal_fake.submits(APPS["image"])
    assert sent["image_size"] == {"width": 1920, "height": 1080} and sent["output_format"] == "png"
    assert "Porsuk" in sent["prompt"] and "neon rain" in sent["prompt"]
    # The retry was visible, and backed off with jitter inside [base/2, base].
    [retry] = ctx.of_type("retry")
    assert "HTTP 429" in retry[1] and retry[2]["attempt"] == 2
    assert len(fast.waits) == 1 and 0.5 <= fast.waits[0] <= 1.0
    # Queue position and model logs became events.
    assert ctx.of_type("fal_queue") and ctx.of_type("fal_log") and ctx.of_type("fal_submitted")
    [call] = ctx.spent
    assert call.provider == "fal" and call.asset == "image" and call.estimate_usd == pytest.approx(0.075)
    assert not (tmp_path / ".paid-tmp").exists() or not any((tmp_path / ".paid-tmp").iterdir())


def _artwork_pipeline(root: Path, provider: fal.FalArt) -> tuple[Pipeline, dict]:
    state = sessions.create(root, params(provider="fal"))
    journal = Journal(root, state)

    async def artwork(ctx):
        await ctx.providers.art.make_artwork(ctx, ctx.session_dir / "artwork.png")
        return StepResult({"artwork": "artwork.png"})

    providers = ProviderSet(provider, None, None, None, NoUploader("no upload in this test"))
    return Pipeline(root, journal, providers, {"artwork": artwork}), state


def test_a_500_that_persists_fails_the_step_after_bounded_backed_off_retries(root, fal_fake, fast):
    fal_fake.fail("submit", *[500] * 10)
    pipeline, state = _artwork_pipeline(root, fal.FalArt(fal_env(fal_fake), policy=fast.policy))
    with pytest.raises(StepFailed):
        asyncio.run(pipeline.run_step("artwork"))

    attempts = fast.policy.attempts
    assert fal_fake.submit_attempts(APPS["image"]) == attempts  # bounded
    assert not fal_fake.submits()                                # nothing was ever accepted
    for n, wait in enumerate(fast.waits, start=1):               # exponential, jittered
        assert 0.5 * 2 ** (n - 1) <= wait <= 2 ** (n - 1)
    on_disk = store.read_state(root, state["id"])
    step = on_disk["steps"]["artwork"]
    assert step["status"] == "failed"
    assert step["error"].startswith(f"cover art submit: still failing after {attempts} attempts (HTTP 500)")
    assert "ProviderError" not in step["error"] and f"resume {state['id']}" in step["error"]
    ledger = store.read_ledger(root, state["id"])
    assert [e["phase"] for e in ledger] == ["estimate", "failed"] and ledger[-1]["usd"] == 0
    assert on_disk["cost"]["spent_usd"] == 0
    retries = [e for e in store.read_events(root, state["id"]) if e["type"] == "retry"]
    assert [e["data"]["attempt"] for e in retries] == list(range(2, attempts + 1))


def test_a_permanent_error_fails_at_once(tmp_path, fal_fake, fast):
    fal_fake.fail("submit", 422, body={"detail": [{"msg": "prompt too long"}]})
    with pytest.raises(ProviderError, match="HTTP 422") as err:
        asyncio.run(fal.FalArt(fal_env(fal_fake), policy=fast.policy).make_artwork(
            FakeCtx(tmp_path), tmp_path / "artwork.png"))
    assert "prompt too long" in str(err.value)
    assert fal_fake.submit_attempts(APPS["image"]) == 1 and fast.waits == []


def test_a_rejected_key_says_to_check_fal_key(tmp_path, fal_fake, fast):
    env = {**fal_env(fal_fake), "FAL_KEY": "wrong"}
    with pytest.raises(ProviderError, match="FAL_KEY") as err:
        asyncio.run(fal.FalArt(env, policy=fast.policy).make_artwork(FakeCtx(tmp_path), tmp_path / "a.png"))
    assert "401" in str(err.value)
    assert fal_fake.submit_attempts(APPS["image"]) == 1


def test_no_key_means_nothing_is_sent_or_spent(tmp_path, fal_fake, fast):
    ctx = FakeCtx(tmp_path)
    env = {**fal_env(fal_fake), "FAL_KEY": ""}
    with pytest.raises(ProviderError, match="FAL_KEY is not set"):
        asyncio.run(fal.FalMusic(env, policy=fast.policy).make_track(ctx, track_spec(1), 60, tmp_path / "01"))
    assert fal_fake.requests == [] and ctx.spent == []


def test_tracks_are_instrumental_minimax_calls_and_at_most_four_fal_requests_fly_at_once(tmp_path, fal_fake, fast):
    fal_fake.polls_in_progress = 3  # long enough for requests to overlap
    ctx = FakeCtx(tmp_path, params={"tracks": 6, "theme": "rainy night"})
    env = fal_env(fal_fake)
    # Two provider objects that share nothing but the event loop: the limit is still one.
    music = fal.FalMusic(env, requests=fal.FalRequests(env, policy=fast.policy, poll_first_s=0.02, poll_max_s=0.05))
    art = fal.FalArt(env, requests=fal.FalRequests(env, policy=fast.policy, poll_first_s=0.02, poll_max_s=0.05))

    async def go():
        return await asyncio.gather(art.make_artwork(ctx, tmp_path / "artwork.png"),
                                    *(music.make_track(ctx, track_spec(i), 90, tmp_path / f"{i:02d}") for i in range(1, 7)))

    _, *tracks = asyncio.run(go())
    assert [Path(t["file"]).name for t in tracks] == [f"{i:02d}.mp3" for i in range(1, 7)]
    assert all(t["seconds"] > 10 for t in tracks)
    sent = fal_fake.submits(APPS["music"])
    assert len(sent) == 6
    for args in sent:
        assert 10 <= len(args["prompt"]) <= 300 and "Instrumental" in args["prompt"]
        assert 10 <= len(args["lyrics_prompt"]) and "[Inst]" in args["lyrics_prompt"]
    assert {c.label for c in ctx.spent} == {"cover art", *(f"track {i}/6" for i in range(1, 7))}
    assert len({c.cache_key() for c in ctx.spent}) == 7
    # Replay the fake's log: a request is in flight from its submit to its result fetch.
    in_flight = peak = 0
    for r in fal_fake.requests:
        if r.route == "submit":
            in_flight += 1
            peak = max(peak, in_flight)
        elif r.route == "result":
            in_flight -= 1
    assert peak == fal.MAX_IN_FLIGHT


def test_an_interrupted_request_is_followed_again_not_sent_again(tmp_path, fal_fake, fast):
    fal_fake.hold_app = APPS["image"]
    ctx = FakeCtx(tmp_path)
    art = fal.FalArt(fal_env(fal_fake), policy=fast.policy)

    async def interrupted():
        task = asyncio.create_task(art.make_artwork(ctx, tmp_path / "artwork.png"))
        await asyncio.to_thread(fal_fake.held.wait, 20)
        task.cancel()  # what SIGTERM does to a step
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(interrupted())
    # Written down before any wait, and read back from disk as a resumed run would.
    [pending] = Intents(tmp_path).by_id.values()
    assert pending.app == APPS["image"] and pending.phase == "accepted" and pending.request_id

    fal_fake.release.set()
    asyncio.run(art.make_artwork(ctx, tmp_path / "artwork.png"))
    assert fal_fake.submit_attempts(APPS["image"]) == 1          # paid once
    assert ctx.of_type("fal_reattached")[0][2]["request_id"] == pending.request_id
    assert Intents(tmp_path).by_id[pending.id].phase == "done"   # nothing left to re-attach
    assert _png_size(tmp_path / "artwork.png") == (1920, 1080)


def test_a_download_of_the_wrong_type_is_refused(tmp_path, fal_fake, fast):
    fal_fake.content_type_override["art.png"] = "text/html"
    with pytest.raises(ProviderError, match="expected image, the server sent text/html"):
        asyncio.run(fal.FalArt(fal_env(fal_fake), policy=fast.policy).make_artwork(
            FakeCtx(tmp_path), tmp_path / "artwork.png"))
    assert fal_fake.count("media") == 1  # permanent: not retried
    assert not (tmp_path / "artwork.png").exists()


def test_downloads_check_https_size_and_magic_bytes(tmp_path, fast):
    ctx = FakeCtx(tmp_path)
    with pytest.raises(ProviderError, match="only https"):
        asyncio.run(download.fetch("http://127.0.0.1:1/x.png", tmp_path / "x", kind="image", ctx=ctx, what="x"))
    fake_mp3 = tmp_path / "track.mp3"
    fake_mp3.write_bytes(b"<html>" + b"x" * 5000)
    with pytest.raises(ProviderError, match="expected audio"):
        download.check_bytes(fake_mp3, "audio", "audio/mpeg")
    tiny = tmp_path / "tiny.png"
    tiny.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ProviderError, match="too small"):
        download.check_bytes(tiny, "image")


def test_the_motion_clip_is_made_from_the_uploaded_cover_and_looped(tmp_path, fal_fake, fast, monkeypatch):
    from runner.media import motion

    looped = []

    async def loop_from_clip(clip, out_mp4, *, on_progress=None):  # the media engine's part, tested there
        looped.append(Path(clip).read_bytes())
        Path(out_mp4).write_bytes(b"loop")
        return {"file": out_mp4, "seconds": 4.0, "fps": 24}

    monkeypatch.setattr(motion, "loop_from_clip", loop_from_clip)
    ctx = FakeCtx(tmp_path)
    cover = tmp_path / "artwork.png"
    asyncio.run(fal.fit_cover(assets().media["art.png"], cover))
    meta = asyncio.run(fal.FalMotion(fal_env(fal_fake), policy=fast.policy).make_loop(ctx, cover, tmp_path / "loop.mp4"))

    assert meta["provider"] == "fal" and meta["seconds"] == 4.0
    assert looped == [assets().media["clip.mp4"].read_bytes()]  # the paid clip, as downloaded
    assert (tmp_path / "motion-clip.mp4").read_bytes() == looped[0]  # kept beside the loop
    assert fal_fake.uploads == [cover.read_bytes()]  # the cover went up to fal's storage
    [sent] = fal_fake.submits(APPS["video"])
    assert sent["image_url"].endswith("/media/upload-1.png") and sent["duration"] == "5"
    [call] = ctx.spent
    assert call.asset == "video" and call.estimate_usd == pytest.approx(0.35)
    assert "image_url" not in call.params["arguments"] and call.params["image_sha256"]  # cache key is stable


def test_hosts_come_from_the_environment(monkeypatch):
    import fal_client.client as fc

    fal.configure_sdk({"FAL_RUN_HOST": "127.0.0.1:9"})
    assert fc.RUN_URL_FORMAT == "https://127.0.0.1:9/" and fc.QUEUE_URL_FORMAT == "https://queue.127.0.0.1:9/"
    assert fc.REST_URL == "https://rest.fal.ai" and fc.CDN_URL == "https://v3.fal.media"
    fal.configure_sdk({"FAL_RUN_HOST": "a:1", "FAL_QUEUE_RUN_HOST": "q:2", "FAL_REST_HOST": "r:3", "FAL_CDN_HOST": "c:4"})
    assert (fc.RUN_URL_FORMAT, fc.QUEUE_URL_FORMAT, fc.REST_URL, fc.CDN_URL) == \
        ("https://a:1/", "https://q:2/", "https://r:3", "https://c:4")
    assert fc.MAX_ATTEMPTS == 1  # our retry loop is the only one


def test_a_request_fal_no_longer_knows_is_lost_not_sent_again(tmp_path, fal_fake, fast):
    # An earlier run was accepted as req-9999, which fal has forgotten (results expire).
    ctx = FakeCtx(tmp_path)
    art = fal.FalArt(fal_env(fal_fake), policy=fast.policy)
    call_key = _cover_call_key(ctx, art)
    intents = Intents(tmp_path)
    intents.begin(id="abc123def456", call_key=call_key, provider="fal", app=APPS["image"], arguments={},
                  label="cover art", step="artwork", asset="image", estimate_usd=0.075, reattach=True)
    intents.accepted("abc123def456", "req-9999")
    with pytest.raises(ProviderError, match="fal no longer knows request req-9999"):
        asyncio.run(art.make_artwork(ctx, tmp_path / "artwork.png"))
    assert fal_fake.submit_attempts(APPS["image"]) == 0  # possibly paid already: a person decides
    [lost] = Intents(tmp_path).unknown()
    assert lost.phase == "lost" and lost.request_id == "req-9999"


def _cover_call_key(ctx, art) -> str:
    """The cache key make_artwork will use, read from the Call it hands to spend()."""
    seen = []

    async def spend(call, run):
        seen.append(call)
        raise RuntimeError("stop before sending")

    ctx.spend = spend
    with pytest.raises(RuntimeError):
        asyncio.run(art.make_artwork(ctx, ctx.session_dir / "artwork.png"))
    del ctx.spend
    return seen[0].cache_key()
