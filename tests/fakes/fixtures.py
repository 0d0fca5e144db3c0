"""pytest fixtures for the paid tests; a test module imports the ones it uses by name."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Iterator

import pytest

from .elevenlabs import ElevenLabsFake
from .fal import FalFake
from .harness import assets, fal_media
from .loopback import guard_sockets
from .youtube import YouTubeFake


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[list[str]]:
    """In-process: refuse any DNS lookup or connection beyond loopback, and fail the test if tried."""
    tried = guard_sockets(monkeypatch)
    a = assets()
    # The fakes' CA is the only one trusted, for httpx (fal, ElevenLabs, downloads).
    monkeypatch.setenv("SSL_CERT_FILE", str(a.tls.ca))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("FAL_HOME_DIR", str(tmp_path / "fal-home"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    yield tried
    assert not tried, f"a test tried to leave loopback: {tried}"


@pytest.fixture
def fal_fake() -> Iterator[FalFake]:
    fake = FalFake(assets().tls, fal_media(assets())).start()
    yield fake
    fake.release.set()
    fake.stop()


@pytest.fixture
def elevenlabs_fake() -> Iterator[ElevenLabsFake]:
    fake = ElevenLabsFake(assets().media["ambience.mp3"]).start()
    yield fake
    fake.stop()


@pytest.fixture
def youtube_fake() -> Iterator[YouTubeFake]:
    fake = YouTubeFake(assets().tls).start()
    yield fake
    fake.release.set()
    fake.stop()


@pytest.fixture
def fast():
    """A retry policy that records its waits instead of sleeping them."""
    from runner.providers.retry import RetryPolicy

    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    return SimpleNamespace(policy=RetryPolicy(sleep=sleep), waits=waits)
