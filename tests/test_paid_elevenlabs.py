"""ElevenLabs ambience against the loopback fake, through the real elevenlabs SDK."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from fakes.fixtures import elevenlabs_fake, fast, loopback_only  # noqa: F401 - pytest fixtures
from fakes.harness import ELEVENLABS_KEY, REPO, FakeCtx

from runner import budget
from runner.providers import elevenlabs
from runner.providers.errors import ProviderError


def _env(fake, **over):
    return {"ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_BASE_URL": fake.base_url, **over}


def test_ambience_is_one_loopable_sound_effect_of_at_most_30_s(tmp_path, elevenlabs_fake, fast):
    ctx = FakeCtx(tmp_path)
    meta = asyncio.run(elevenlabs.ElevenLabsAmbience(_env(elevenlabs_fake), policy=fast.policy)
                       .make_ambience(ctx, "rain", tmp_path / "ambience"))
    assert meta["file"] == tmp_path / "ambience.mp3" and meta["seconds"] > 5 and meta["loop"] is True
    [body] = elevenlabs_fake.bodies()
    assert body["loop"] is True and 0.5 <= body["duration_seconds"] <= 30
    assert body["model_id"] == budget.ELEVENLABS_SFX_MODEL and "rain" in body["text"]
    [call] = ctx.spent
    assert (call.provider, call.asset, call.model) == ("elevenlabs", "ambience", budget.ELEVENLABS_SFX_MODEL)
    assert call.estimate_usd == budget.price_of(budget.ELEVENLABS_SFX_MODEL).per_call()


def test_a_429_is_retried_once_then_succeeds(tmp_path, elevenlabs_fake, fast):
    elevenlabs_fake.fail("sfx", 429)
    ctx = FakeCtx(tmp_path)
    asyncio.run(elevenlabs.ElevenLabsAmbience(_env(elevenlabs_fake), policy=fast.policy)
                .make_ambience(ctx, "cafe", tmp_path / "ambience"))
    assert elevenlabs_fake.count("sfx") == 2 and len(ctx.of_type("retry")) == 1  # the SDK's own retries are off


def test_a_bad_key_fails_at_once_and_says_which_variable(tmp_path, elevenlabs_fake, fast):
    with pytest.raises(ProviderError, match="ELEVENLABS_API_KEY"):
        asyncio.run(elevenlabs.ElevenLabsAmbience(_env(elevenlabs_fake, ELEVENLABS_API_KEY="nope"),
                                                  policy=fast.policy)
                    .make_ambience(FakeCtx(tmp_path), "rain", tmp_path / "ambience"))
    assert elevenlabs_fake.count("sfx") == 1 and fast.waits == []


def test_the_key_is_passed_explicitly_even_when_the_sdk_was_imported_first(tmp_path, elevenlabs_fake, fast,
                                                                            monkeypatch):
    # The SDK captured ELEVENLABS_API_KEY at import; a key loaded from .env later must still be used.
    import elevenlabs as sdk  # noqa: F401
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    asyncio.run(elevenlabs.ElevenLabsAmbience(_env(elevenlabs_fake), policy=fast.policy)
                .make_ambience(FakeCtx(tmp_path), "forest", tmp_path / "ambience"))
    assert elevenlabs_fake.routed("sfx")[0].headers["xi-api-key"] == ELEVENLABS_KEY


def test_importing_the_paid_providers_loads_no_sdk():
    # A local run (and the registry choosing its providers) must never load a paid SDK.
    code = ("import sys\n"
            "from runner import store\n"
            "from runner.providers import fal, elevenlabs, youtube, registry\n"
            "youtube.uploader_from_env({}).unavailable_reason()\n"
            "registry.build(store.validate_params({'theme': 'x'}), {})\n"
            "registry.build(store.validate_params({'theme': 'x', 'provider': 'fal'}), "
            "{'FAL_KEY': 'k', 'ELEVENLABS_API_KEY': 'k'})\n"
            "loaded = [m for m in ('fal_client', 'elevenlabs', 'googleapiclient', 'google_auth_oauthlib') "
            "if m in sys.modules]\n"
            "print(loaded)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
