"""--provider fal: cover art (FLUX.1 dev), the motion clip (Kling 2.5 turbo pro) and the tracks
(MiniMax Music v2), through fal's queue.

Every request goes through fal's queue protocol (submit, poll the status, fetch the result),
so a long generation never holds an HTTP connection open, queue positions and the model's
logs become events on the session timeline, and the request id is written down the moment
fal names it (runner/intents.py): a run killed while a clip is rendering re-attaches to the
same request on resume instead of paying for a second one, and a run killed before the id
was recorded stops for a person instead of guessing.

All fal requests of a run share one limit (MAX_IN_FLIGHT), whichever step sends them: the
artwork and motion branch runs beside the music step, and fal's per-key concurrency is small.

fal_client is imported here only, and only when a fal run makes its first request.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import struct
import uuid
import weakref
from pathlib import Path
from typing import Any, Awaitable, Callable, Mapping

from .. import budget
from . import download, prompts, sdk
from .base import Call, ProviderContext
from .errors import ProviderError
from .retry import DEFAULT_POLICY, RetryPolicy, Verdict, network_verdict, parse_retry_after, with_retries

# fal queues a key's requests beyond a handful; more in flight only waits longer there.
MAX_IN_FLIGHT = 4
# Poll fast at first (a cover takes seconds) and back off for a clip that takes minutes.
POLL_FIRST_S = 0.25
POLL_MAX_S = 3.0
# A request can sit in fal's queue and render for a while; past this it is given up.
REQUEST_DEADLINE_S = 30 * 60

DEFAULT_HOSTS = {"run": "fal.run", "rest": "rest.fal.ai", "cdn": "v3.fal.media"}

_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()


def _gate() -> asyncio.Semaphore:
    """The one limit on fal requests in flight, shared by every fal provider on this event loop."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_IN_FLIGHT)
    return gate


def configure_sdk(env: Mapping[str, str]) -> Any:
    """Import fal_client and point it at the hosts this environment names.

    fal_client reads FAL_RUN_HOST and FAL_QUEUE_RUN_HOST once, at import; setting its module
    globals from env as well makes the mapping we were given the authority, even when the SDK
    was imported earlier. The storage hosts used to upload the artwork for image-to-video
    (rest.fal.ai, v3.fal.media) have no variable in the SDK; FAL_REST_HOST and FAL_CDN_HOST
    move them, so a test never reaches beyond its loopback fake. Raises ProviderError when the
    installed fal_client lacks one of those globals (nothing is sent then).
    """
    import fal_client  # noqa: PLC0415 - paid runs only
    import fal_client.client as fc  # noqa: PLC0415

    run = (env.get("FAL_RUN_HOST") or DEFAULT_HOSTS["run"]).strip().rstrip("/")
    queue = (env.get("FAL_QUEUE_RUN_HOST") or f"queue.{run}").strip().rstrip("/")
    rest = (env.get("FAL_REST_HOST") or DEFAULT_HOSTS["rest"]).strip().rstrip("/")
    cdn = (env.get("FAL_CDN_HOST") or DEFAULT_HOSTS["cdn"]).strip().rstrip("/")
    # All five or none (runner/providers/sdk.py): a renamed global would silently keep the
    # real host. MAX_ATTEMPTS = 1 leaves one retry loop, ours: bounded, visible as events, and
    # aware of which calls cost money; the SDK's own (10 silent attempts) would multiply with it.
    sdk.set_globals(fc, {"RUN_URL_FORMAT": f"https://{run}/", "QUEUE_URL_FORMAT": f"https://{queue}/",
                         "REST_URL": f"https://{rest}", "CDN_URL": f"https://{cdn}", "MAX_ATTEMPTS": 1},
                    package="fal-client")
    return fal_client


class FalRequests:
    """Submit, follow and fetch fal queue requests for one run; shared by the three providers."""

    def __init__(self, env: Mapping[str, str], *, policy: RetryPolicy = DEFAULT_POLICY,
                 poll_first_s: float = POLL_FIRST_S, poll_max_s: float = POLL_MAX_S):
        self.env = dict(env)
        self.key = (env.get("FAL_KEY") or "").strip()
        self.policy = policy
        self.poll_first_s, self.poll_max_s = poll_first_s, poll_max_s
        self._clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any]" = weakref.WeakKeyDictionary()

    def require_key(self) -> None:
        if not self.key:
            raise ProviderError("FAL_KEY is not set: create a key at https://fal.ai/dashboard/keys, put "
                                "FAL_KEY=... in .env, then run `python -m runner resume <id>`")

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            fal_client = configure_sdk(self.env)
            client = self._clients[loop] = fal_client.AsyncClient(key=self.key, default_timeout=120.0)
        return client

    # -- the request lifecycle ------------------------------------------------------------

    async def run_app(self, ctx: ProviderContext, app: str, arguments: dict[str, Any], *, what: str, call_key: str,
                      prepare: Callable[[], Awaitable[dict[str, Any]]] | None = None) -> dict[str, Any]:
        """Run one fal request to its result JSON, re-attaching to a request an earlier run sent.

        The submit is written down before it goes out and its request id the moment fal names
        it (ctx.before_submit / ctx.submitted, runner/intents.py), so a kill at any point never
        sends the same request twice. prepare() supplies arguments that only a fresh submission
        needs (the uploaded cover's URL); a request that is re-attached to never calls it.
        Raises ProviderError; a request fal no longer knows is reported lost (a person decides).
        """
        import fal_client  # noqa: PLC0415

        client = self._client()
        async with _gate():
            request_id = ctx.sent_request(call_key)
            if request_id:
                handle = await client.get_handle(app, request_id)
                ctx.event("fal_reattached", f"{what}: following request {request_id} from before "
                                            "the interruption (not sent again)", request_id=request_id)
                try:
                    await self._follow(ctx, handle, what)
                except ProviderError as exc:
                    if exc.status in (404, 410):
                        ctx.request_lost(call_key)
                        raise ProviderError(f"{what}: fal no longer knows request {request_id}, which it had "
                                            "accepted", status=exc.status) from None
                    raise
            else:
                if prepare is not None:
                    arguments = {**arguments, **await prepare()}
                handle = await self._submit(ctx, client, app, arguments, what, call_key)
                await self._follow(ctx, handle, what)
            try:
                return await with_retries(handle.get, ctx=ctx, what=f"{what} result",
                                          classify=_classify_idempotent, policy=self.policy)
            except fal_client.client.FalClientHTTPError as exc:
                raise _http_problem(exc, what, app) from None

    async def _submit(self, ctx: ProviderContext, client: Any, app: str, arguments: dict[str, Any], what: str,
                      call_key: str) -> Any:
        import fal_client  # noqa: PLC0415

        ctx.before_submit(call_key, provider="fal", app=app, arguments=arguments, reattach=True)
        try:
            handle = await with_retries(lambda: client.submit(app, arguments), ctx=ctx, what=f"{what} submit",
                                        classify=_classify_submit, policy=self.policy)
        except fal_client.client.FalClientHTTPError as exc:
            ctx.not_submitted(call_key, f"HTTP {exc.status_code}")
            raise _http_problem(exc, what, app) from None
        except fal_client.auth.MissingCredentialsError:
            ctx.not_submitted(call_key, "no key")
            self.require_key()
            raise
        except ProviderError:
            # Retries ran out, and each attempt was plainly not taken (an error answer, or no
            # connection at all: _classify_submit retries nothing else).
            ctx.not_submitted(call_key, "every attempt was refused or never connected")
            raise
        except Exception as exc:
            import httpx  # noqa: PLC0415

            if isinstance(exc, (httpx.TimeoutException, httpx.TransportError)):
                # The request went out and no answer came back: fal may have queued (and will
                # bill) it. The intent stays open without an id: the spend door stops the run
                # for a person (needs_attention) instead of resending blindly.
                raise ProviderError(f"{what}: no answer from fal after sending the request "
                                    f"({type(exc).__name__})") from None
            raise
        ctx.submitted(call_key, handle.request_id)
        ctx.event("fal_submitted", f"{what}: sent to {app} (request {handle.request_id})",
                  request_id=handle.request_id, model=app)
        return handle

    async def _follow(self, ctx: ProviderContext, handle: Any, what: str) -> None:
        """Poll until the request completes, turning queue positions and logs into events."""
        import fal_client  # noqa: PLC0415

        wait = self.poll_first_s
        last_position: int | None = None
        seen_logs = 0
        started = False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_DEADLINE_S
        while True:
            try:
                status = await with_retries(lambda: handle.status(with_logs=True), ctx=ctx,
                                            what=f"{what} status", classify=_classify_idempotent,
                                            policy=self.policy)
            except fal_client.client.FalClientHTTPError as exc:
                raise _http_problem(exc, what, "") from None
            logs = list(getattr(status, "logs", None) or [])
            if seen_logs > len(logs):  # a server that sends only new lines each time
                seen_logs = 0
            for entry in logs[seen_logs:]:
                message = str(entry.get("message", entry) if isinstance(entry, dict) else entry).strip()
                if message:
                    ctx.event("fal_log", f"{what}: {message[:300]}", request_id=handle.request_id)
            seen_logs = len(logs)
            if isinstance(status, fal_client.Queued):
                if status.position != last_position:
                    last_position = status.position
                    ctx.event("fal_queue", f"{what}: waiting in fal's queue, position {status.position + 1}",
                              position=status.position, request_id=handle.request_id)
            elif isinstance(status, fal_client.InProgress):
                if not started:
                    started = True
                    ctx.event("fal_running", f"{what}: fal is generating it", request_id=handle.request_id)
            elif isinstance(status, fal_client.Completed):
                if status.error:
                    raise ProviderError(f"{what}: fal could not generate it: {str(status.error)[:300]}")
                return
            if loop.time() > deadline:
                raise ProviderError(f"{what}: fal has not finished request {handle.request_id} after "
                                    f"{REQUEST_DEADLINE_S // 60} minutes; run `python -m runner resume "
                                    f"{ctx.state['id']}` to keep waiting for it (it is not sent again)")
            await asyncio.sleep(wait)
            wait = min(self.poll_max_s, wait * 1.5)

    async def upload(self, ctx: ProviderContext, path: Path, what: str) -> str:
        """Put a local file on fal's storage (free) so a model can read it by URL."""
        import fal_client  # noqa: PLC0415

        client = self._client()
        try:
            url = await with_retries(lambda: client.upload_file(path), ctx=ctx, what=f"{what} upload",
                                     classify=_classify_idempotent, policy=self.policy)
        except fal_client.client.FalClientHTTPError as exc:
            raise _http_problem(exc, f"{what} upload", "storage") from None
        ctx.event("fal_uploaded", f"{what}: {path.name} uploaded for the model to read")
        return url


# ----------------------------------------------------------------------------- providers

class _FalProvider:
    name = "fal"

    def __init__(self, env: Mapping[str, str], *, requests: FalRequests | None = None,
                 policy: RetryPolicy = DEFAULT_POLICY):
        self.requests = requests or FalRequests(env, policy=policy)
        self.policy = self.requests.policy

    async def _paid(self, ctx: ProviderContext, call: Call, app: str, arguments: dict[str, Any], kind: str,
                    pick_url: Any, dest_stem: Path, *, before: Any = None) -> tuple[Path, dict[str, Any]]:
        """Spend one call (request, download, check); copy the answer to dest_stem + its suffix.

        Returns the copy and the answer's origin (Call.origin, with fal's request id)."""
        self.requests.require_key()
        tmp = ctx.session_dir / ".paid-tmp" / uuid.uuid4().hex[:12]
        key = call.cache_key()

        async def run() -> dict[str, Any]:
            result = await self.requests.run_app(ctx, app, arguments, what=call.label, call_key=key, prepare=before)
            try:
                url = pick_url(result)
            except (KeyError, IndexError, TypeError):
                raise ProviderError(f"{call.label}: fal's answer has no {kind} URL "
                                    f"(keys: {', '.join(sorted(result)) or 'none'})") from None
            got = await download.fetch(url, tmp / kind, kind=kind, ctx=ctx, what=call.label, policy=self.policy)
            return {"files": {kind: got.path}, "bytes": got.bytes, "content_type": got.content_type}

        try:
            result = await ctx.spend(call, run)
            src = Path(result["files"][kind])
            dest = dest_stem.with_name(dest_stem.name + src.suffix)
            shutil.copyfile(src, dest)
            return dest, result.get("origin") or call.origin(None)
        finally:
            # The paid cache holds its own copy by now; the download folder is scratch.
            shutil.rmtree(tmp, ignore_errors=True)


class FalArt(_FalProvider):
    """A 1920x1080 cover from FLUX.1 [dev]."""

    model = budget.FAL_MODELS["image"]

    async def make_artwork(self, ctx: ProviderContext, out_png: Path) -> dict[str, Any]:
        v = ctx.variation
        prompt, seed = prompts.art_prompt(v), int(v.get("seed") or 0) % (2 ** 31)
        arguments = {"prompt": prompt, "image_size": {"width": 1920, "height": 1080},
                     "num_images": 1, "seed": seed, "output_format": "png",
                     "num_inference_steps": 28, "guidance_scale": 3.5, "enable_safety_checker": True}
        call = Call(provider="fal", model=self.model, asset="image", label="cover art",
                    params={"arguments": arguments},
                    estimate_usd=budget.price_of(self.model).per_call(width=1920, height=1080),
                    prompt=prompt, seed=seed)
        src, origin = await self._paid(ctx, call, self.model, arguments, "image", lambda r: r["images"][0]["url"],
                                       out_png.with_name(".artwork-fal"))
        try:
            await fit_cover(src, out_png)
        finally:
            src.unlink(missing_ok=True)
        return {"provider": "fal", "model": self.model, "origin": origin}


class FalMotion(_FalProvider):
    """A 5 s Kling 2.5 turbo pro clip from the cover, made into a seamless loop."""

    model = budget.FAL_MODELS["video"]
    seconds = 5

    async def make_loop(self, ctx: ProviderContext, artwork: Path, out_mp4: Path,
                        layers: Path | None = None) -> dict[str, Any]:
        v = ctx.variation
        prompt = prompts.motion_prompt(v)
        arguments = {"prompt": prompt, "duration": str(self.seconds),
                     "negative_prompt": "blur, distortion, low quality, camera shake, cuts, text, watermark",
                     "cfg_scale": 0.5}
        # The image URL changes with every upload; what shapes the clip is the picture itself.
        digest = hashlib.sha256(artwork.read_bytes()).hexdigest()[:32]
        call = Call(provider="fal", model=self.model, asset="video", label="motion clip",
                    params={"arguments": arguments, "image_sha256": digest},
                    estimate_usd=budget.price_of(self.model).per_call(seconds=self.seconds), prompt=prompt)

        async def image_url() -> dict[str, Any]:
            return {"image_url": await self.requests.upload(ctx, artwork, "motion clip")}

        # The raw clip stays beside the loop: it is what was paid for, and worth a look.
        local_clip, origin = await self._paid(ctx, call, self.model, arguments, "video", lambda r: r["video"]["url"],
                                      out_mp4.with_name("motion-clip"), before=image_url)
        from ..media import motion  # noqa: PLC0415 - the media engine is only needed once paid for

        def on_progress(pct: float) -> None:
            ctx.progress(percent=pct, label=f"looping the clip {pct:.0f}%")

        meta = await motion.loop_from_clip(local_clip, out_mp4, on_progress=on_progress)
        return {**(meta or {}), "provider": "fal", "model": self.model, "clip": local_clip.name, "origin": origin}


class FalMusic(_FalProvider):
    """One MiniMax Music v2 instrumental per track; the music step runs `concurrency` at once."""

    model = budget.FAL_MODELS["music"]
    concurrency = MAX_IN_FLIGHT

    async def make_track(self, ctx: ProviderContext, track: dict[str, Any], seconds: float, out_base: Path) -> dict[str, Any]:
        v = ctx.variation
        arguments = {"prompt": prompts.music_prompt(track, v), "lyrics_prompt": prompts.music_lyrics(track)}
        total = int(ctx.params.get("tracks") or len(v.get("tracks") or []) or 1)
        # Two specs that happen to read alike are still two tracks: the spec's seed keeps
        # their cache keys apart (MiniMax itself takes no seed).
        call = Call(provider="fal", model=self.model, asset="music", label=f"track {track['index']}/{total}",
                    params={"arguments": arguments, "track_seed": track.get("seed"), "title": track.get("title")},
                    estimate_usd=budget.price_of(self.model).per_call(), prompt=arguments["prompt"])
        dest, origin = await self._paid(ctx, call, self.model, arguments, "audio", lambda r: r["audio"]["url"], out_base)
        from ..media import ffmpeg  # noqa: PLC0415

        info = await ffmpeg.aprobe(dest)
        return {"file": dest, "seconds": round(float(info.get("duration") or 0.0), 3),
                "provider": "fal", "model": self.model, "origin": origin}


# ----------------------------------------------------------------------------- helpers

def png_size(path: Path) -> tuple[int, int] | None:
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


async def fit_cover(src: Path, out_png: Path) -> None:
    """Write src to out_png as a 1920x1080 PNG.

    FLUX sizes snap to multiples of 16 (1080 may come back as 1072 or 1088), so anything else
    is scaled to cover and centre-cropped, never stretched.
    """
    if png_size(src) == (1920, 1080):
        shutil.copyfile(src, out_png)
        return
    from ..media import ffmpeg  # noqa: PLC0415

    tmp = out_png.with_name(out_png.stem + ".fit.png")
    await ffmpeg.run(["-y", "-v", "error", "-i", str(src), "-vf",
                      "scale=1920:1080:force_original_aspect_ratio=increase,crop=1920:1080,setsar=1",
                      "-frames:v", "1", str(tmp)])
    tmp.replace(out_png)


def _retry_after(exc: Any) -> float | None:
    headers = getattr(exc, "response_headers", None) or {}
    return parse_retry_after(headers.get("retry-after") or headers.get("Retry-After"))


def _classify_submit(exc: BaseException) -> Verdict | None:
    """A submit is retried only when fal plainly did not take it."""
    import fal_client  # noqa: PLC0415
    import httpx  # noqa: PLC0415

    if isinstance(exc, fal_client.client.FalClientHTTPError):
        transient = exc.status_code in (429, 500, 502, 503, 504)
        return Verdict(transient, f"HTTP {exc.status_code}", _retry_after(exc))
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return Verdict(True, f"could not connect ({type(exc).__name__})")
    return None


def _classify_idempotent(exc: BaseException) -> Verdict | None:
    """Polling, fetching a result and uploading can be repeated safely."""
    import fal_client  # noqa: PLC0415

    if isinstance(exc, fal_client.client.FalClientHTTPError):
        transient = exc.status_code in (408, 429, 500, 502, 503, 504)
        return Verdict(transient, f"HTTP {exc.status_code}", _retry_after(exc))
    return network_verdict(exc)


def _http_problem(exc: Any, what: str, app: str) -> ProviderError:
    """A permanent fal HTTP error as one line that says what to do."""
    status = int(getattr(exc, "status_code", 0) or 0)
    detail = " ".join(str(getattr(exc, "message", "") or exc).split())[:300]
    if status in (401, 403):
        hint = ("fal rejected FAL_KEY: check the key in .env (https://fal.ai/dashboard/keys) and that the "
                "account has credit (https://fal.ai/dashboard/billing)")
        return ProviderError(f"{what}: {hint} (HTTP {status}: {detail})", status=status)
    if status == 422:
        return ProviderError(f"{what}: fal refused the request for {app or 'the model'} as invalid "
                             f"(HTTP 422: {detail})", status=status)
    return ProviderError(f"{what}: fal answered HTTP {status}: {detail}", status=status,
                         transient=status in (429, 500, 502, 503, 504))
