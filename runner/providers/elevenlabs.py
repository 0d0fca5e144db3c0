"""The ambience bed from ElevenLabs sound effects: one loopable clip of up to 30 s.

Used when ELEVENLABS_API_KEY is set (runner/providers/registry.py); the mastering step loops
the clip under the whole mix, so one generation serves an hour. ELEVENLABS_BASE_URL moves
the host (a regional endpoint, or a loopback fake in the tests).

The SDK reads ELEVENLABS_API_KEY from the environment when it is IMPORTED, which can be
before .env is loaded; the key is therefore always passed explicitly. The SDK's own silent
retries are turned off per request so our policy (runner/providers/retry.py) is the only one.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, Mapping

from .. import budget
from . import download, prompts
from .base import Call, ProviderContext
from .errors import ProviderError
from .retry import DEFAULT_POLICY, RetryPolicy, Verdict, network_verdict, parse_retry_after, status_verdict, with_retries

MAX_SECONDS = 30.0  # the API's ceiling for one sound effect
OUTPUT_FORMAT = "mp3_44100_128"  # available on every paid tier


class ElevenLabsAmbience:
    name = "elevenlabs"
    model = budget.ELEVENLABS_SFX_MODEL

    def __init__(self, env: Mapping[str, str], *, policy: RetryPolicy = DEFAULT_POLICY,
                 seconds: float = MAX_SECONDS):
        self.key = (env.get("ELEVENLABS_API_KEY") or "").strip()
        self.base_url = (env.get("ELEVENLABS_BASE_URL") or "").strip().rstrip("/") or None
        self.policy = policy
        self.seconds = max(0.5, min(MAX_SECONDS, float(seconds)))

    async def make_ambience(self, ctx: ProviderContext, atmosphere: str, out_base: Path) -> dict[str, Any]:
        if not self.key:
            raise ProviderError("ELEVENLABS_API_KEY is not set: add it to .env or remove it to use the local ambience")
        text = prompts.ambience_text(atmosphere)
        params = {"text": text, "duration_seconds": self.seconds, "loop": True,
                  "prompt_influence": 0.5, "output_format": OUTPUT_FORMAT}
        call = Call(provider="elevenlabs", model=self.model, asset="ambience", label=f"ambience ({atmosphere})",
                    params=params, estimate_usd=budget.price_of(self.model).per_call(), prompt=text)
        tmp = ctx.session_dir / ".paid-tmp" / uuid.uuid4().hex[:12]

        async def run() -> dict[str, Any]:
            path = await self._generate(ctx, params, tmp / "ambience.mp3", call.label, call.cache_key())
            return {"files": {"audio": path}, "bytes": path.stat().st_size}

        try:
            result = await ctx.spend(call, run)
            src = Path(result["files"]["audio"])
            dest = out_base.with_name(out_base.name + src.suffix)
            shutil.copyfile(src, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        from ..media import ffmpeg  # noqa: PLC0415

        info = await ffmpeg.aprobe(dest)
        return {"file": dest, "seconds": round(float(info.get("duration") or 0.0), 3), "loop": True,
                "provider": "elevenlabs", "model": self.model, "origin": result.get("origin") or call.origin(None)}

    async def _generate(self, ctx: ProviderContext, params: dict[str, Any], dest: Path, what: str,
                        call_key: str) -> Path:
        """One sound effect, streamed to dest; retried only when ElevenLabs plainly did not make it.

        The generation is answered in one response, so there is nothing to follow after a kill:
        the intent is written before the request (reattach=False) and the `request-id` header
        recorded as soon as the answer starts (ctx.submitted), so the ledger and provenance.json
        name it and a person can find it in ElevenLabs' history. Anything that breaks after the
        request went out (a cut stream, a read timeout) is an unknown outcome that stops the run
        for a person rather than paying for a second generation.
        """
        from elevenlabs.client import AsyncElevenLabs  # noqa: PLC0415 - paid runs only
        from elevenlabs.core.api_error import ApiError  # noqa: PLC0415

        import httpx  # noqa: PLC0415

        dest.parent.mkdir(parents=True, exist_ok=True)
        # Our own httpx client, so it is closed when the call ends instead of at exit.
        http = httpx.AsyncClient(timeout=httpx.Timeout(180.0, connect=15.0), follow_redirects=True)
        client = AsyncElevenLabs(api_key=self.key, base_url=self.base_url, httpx_client=http)

        async def attempt() -> Path:
            # The raw client answers with the response once its headers are in (an error status
            # raises ApiError before that), so ElevenLabs' request id is on disk before the
            # first byte of audio is read.
            async with client.text_to_sound_effects.with_raw_response.convert(
                    text=params["text"], duration_seconds=params["duration_seconds"], loop=params["loop"],
                    prompt_influence=params["prompt_influence"], output_format=params["output_format"],
                    model_id=self.model, request_options={"max_retries": 0}) as response:
                request_id = response_request_id(response.headers)
                if request_id:
                    ctx.submitted(call_key, request_id)
                with open(dest, "wb") as fh:
                    async for chunk in response.data:
                        fh.write(chunk)
            download.check_bytes(dest, "audio", "audio/mpeg")
            return dest

        def classify(exc: BaseException) -> Verdict | None:
            if isinstance(exc, ApiError) and exc.status_code is not None:  # an error answer: nothing made
                return status_verdict(int(exc.status_code), parse_retry_after((exc.headers or {}).get("retry-after")))
            if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):  # never reached the server
                return network_verdict(exc)
            return None  # sent, and the answer broke off: not ours to repeat

        ctx.before_submit(call_key, provider="elevenlabs", app=self.model, arguments=params, reattach=False)
        try:
            return await with_retries(attempt, ctx=ctx, what=what, classify=classify, policy=self.policy)
        except ApiError as exc:
            ctx.not_submitted(call_key, f"HTTP {exc.status_code}")
            raise _api_problem(exc, what) from None
        except ProviderError as exc:
            if classify(exc.__cause__ or exc) is not None:  # retries ran out on answers that made nothing
                ctx.not_submitted(call_key, "every attempt was refused or never connected")
            raise
        finally:
            await http.aclose()


def response_request_id(headers: Mapping[str, str]) -> str | None:
    """ElevenLabs' id for one request, from its `request-id` response header (any case), or None.

    Kept to 200 printable characters: it goes into intents.jsonl, the ledger and provenance.json,
    and a header is text from the network.
    """
    for name, value in headers.items():
        if name.lower() == "request-id":
            value = "".join(ch for ch in str(value) if ch.isprintable()).strip()[:200]
            return value or None
    return None


def _api_problem(exc: Any, what: str) -> ProviderError:
    status = int(exc.status_code or 0)
    body = exc.body
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, dict):
        detail = detail.get("message") or detail.get("status") or detail
    detail = " ".join(str(detail or "").split())[:300]
    if status == 401:
        return ProviderError(f"{what}: ElevenLabs rejected ELEVENLABS_API_KEY (HTTP 401): check the key in .env "
                             f"(https://elevenlabs.io/app/settings/api-keys) {detail}".strip(), status=status)
    if status in (402, 403):
        return ProviderError(f"{what}: ElevenLabs refused the request (HTTP {status}: {detail}); check the "
                             "plan's credits and the key's permissions for sound effects", status=status)
    return ProviderError(f"{what}: ElevenLabs answered HTTP {status}: {detail}", status=status)
