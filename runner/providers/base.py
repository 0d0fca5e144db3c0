"""What a provider is, and the one door every provider call goes through.

A provider makes one kind of asset (artwork, a motion loop, a track, an ambience bed, an
upload). Whether it is the keyless local generator or a paid API, it wraps each request in
a `Call` and hands it to `ctx.spend(call, run)`. That door checks the cap before anything is
sent, answers repeated requests from the cache, and writes the ledger; providers never
touch money themselves.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Protocol

from ..store import Params, State


@dataclass(frozen=True)
class Call:
    """One request to a provider, described well enough to price it and to cache its answer."""

    provider: str          # "local", "fal", "elevenlabs", ...
    model: str             # e.g. "fal-ai/flux/dev"
    asset: str             # image | video | music | ambience
    label: str             # for people: "cover art", "track 3/10"
    params: dict[str, Any] = field(default_factory=dict)  # everything that shapes the result
    estimate_usd: float = 0.0
    # Deterministic local output is cheap to remake; caching it would only copy big files.
    cacheable: bool = True
    # For provenance.json (what was asked, for a dispute): the words sent and the seed, when
    # the request has them. Both are in params already, so neither changes the cache key.
    prompt: str | None = None
    seed: int | None = None

    def cache_key(self) -> str:
        blob = json.dumps([self.provider, self.model, self.params], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def origin(self, request_id: str | None) -> dict[str, Any]:
        """Where the asset this call made came from: {"provider", "model", "request_id" (the
        service's id for it; None for local work or a service that names none), "prompt", "seed"}."""
        return {"provider": self.provider, "model": self.model, "request_id": request_id,
                "prompt": self.prompt, "seed": self.seed}


RunFn = Callable[[], Awaitable[dict[str, Any]]]


class ProviderContext(Protocol):
    """What a step hands its provider: a read-only view of the run, a checkpoint and the spend
    door. The pipeline's StepContext (runner/pipeline.py) implements it; tests use stand-ins."""

    @property
    def session_dir(self) -> Path:
        """The session's folder; providers write their files under it."""

    @property
    def params(self) -> Params:
        """The run's parameters (docs/format.md, "params")."""

    @property
    def variation(self) -> dict[str, Any]:
        """The variation step's creative choices (empty before it has run)."""

    @property
    def state(self) -> State:
        """The whole session state, to read (its id, for messages); nothing writes through it."""

    @property
    def root(self) -> Path:
        """The data root, for what all sessions share: the YouTube quota ledger, series files."""

    def checkpoint(self) -> dict[str, Any]:
        """A scratch dict kept in state.json with the step: request ids, upload offsets."""

    def save(self) -> None:
        """Write the state (and so the checkpoint) to disk now."""

    async def spend(self, call: Call, run: RunFn) -> dict[str, Any]:
        """Check the cap, run (or answer from cache), record the cost; return run's result.

        run() returns a dict; if it has "files" (name -> absolute path), those files are
        copied into the cache, and a cache hit returns the dict with "files" pointing at the
        cached copies. "cost_usd" in the dict, when present, is the actual price paid;
        otherwise the estimate is recorded as the actual. The dict returned also has "origin"
        (Call.origin: provider, model, request id, prompt, seed), also on a cache hit.
        Raises runner.budget.BudgetExceeded when the call would cross the cap.
        """

    # The intent record (runner/intents.py): a paid submit is written down before it is sent
    # and its request id as soon as it is known, so a kill in between never pays twice.

    def sent_request(self, call_key: str) -> str | None:
        """The request id an earlier run got for this call and can re-attach to, else None."""

    def before_submit(self, call_key: str, *, provider: str, app: str, arguments: Any, reattach: bool,
                      label: str | None = None) -> None:
        """Call right before sending a paid request (once, whatever the retries); returns once
        the intent is on disk. reattach: a request id will let this provider follow it again."""

    def submitted(self, call_key: str, request_id: str) -> None:
        """The service took the request and named it; on disk before this returns (any thread)."""

    def not_submitted(self, call_key: str, reason: str) -> None:
        """The service plainly did not take it (an error answer, no connection): nothing is owed."""

    def request_lost(self, call_key: str) -> None:
        """The service took it once but no longer has the answer: possibly paid, a person decides."""

    def request_done(self, call_key: str) -> None:
        """The answer is on disk; for calls outside spend() (spend closes its own)."""

    def progress(self, *, done: int | None = None, total: int | None = None,
                 percent: float | None = None, label: str | None = None) -> None: ...

    def event(self, type_: str, message: str, **data: Any) -> None: ...

    def log(self, level: str, message: str) -> None: ...


class ArtProvider(Protocol):
    name: str

    async def make_artwork(self, ctx: ProviderContext, out_png: Path) -> dict[str, Any]:
        """Write a 1920x1080 PNG cover to out_png; return {"provider", "model", ...}.

        A painter that knows the picture's layers may also return "layers": a file beside
        out_png that its motion provider animates (the step passes it on as make_loop's layers).
        """


class MotionProvider(Protocol):
    name: str

    async def make_loop(self, ctx: ProviderContext, artwork: Path, out_mp4: Path,
                        layers: Path | None = None) -> dict[str, Any]:
        """Write a seamless, stream-copy-loopable H.264 clip; return {"seconds", "fps", ...}.

        layers is the artwork provider's "layers" file when it left one; a provider that
        animates the picture alone ignores it.
        """


class MusicProvider(Protocol):
    name: str
    concurrency: int  # how many tracks may be made at once

    async def make_track(self, ctx: ProviderContext, track: dict[str, Any], seconds: float,
                         out_base: Path) -> dict[str, Any]:
        """Make one instrumental track from a variation track spec.

        out_base has no suffix (tracks/03); the provider picks the extension and returns
        {"file": <Path written>, "seconds": float, "provider", "model"}.
        """


class AmbienceProvider(Protocol):
    name: str

    async def make_ambience(self, ctx: ProviderContext, atmosphere: str, out_base: Path) -> dict[str, Any]:
        """Make a loopable ambience bed; return {"file": Path, "seconds": float, ...}."""


class Uploader(Protocol):
    name: str

    def unavailable_reason(self) -> str | None:
        """None when credentials exist; otherwise one line saying what is missing and how to set it."""

    async def upload(self, ctx: ProviderContext, final: Path, thumbnail: Path,
                     metadata: dict[str, Any], privacy: str) -> dict[str, Any]:
        """Upload; return {"id", "url", ...}."""


@dataclass
class ProviderSet:
    art: ArtProvider
    motion: MotionProvider
    music: MusicProvider
    ambience: AmbienceProvider
    uploader: Uploader
