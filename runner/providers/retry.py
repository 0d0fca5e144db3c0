"""One retry policy for every paid request: bounded, backed off, jittered, and visible.

Transient failures (429, 5xx, timeouts, dropped connections) are retried with exponential
backoff and jitter, up to a fixed number of attempts; each retry is an event on the
session's timeline, so a person watching sees why a step is slow. A permanent failure
(a 4xx that is not a rate limit, a rejected key) is raised at once: retrying it would only
burn time and, on a paid API, possibly money.

The SDKs' own silent retry loops are turned off where we can (fal, ElevenLabs), so attempts
are never multiplied and every one of them shows up here. Only idempotent operations are
retried through this module: polling a queued request, fetching its result, downloading a
file, sending an upload chunk. A paid submission is retried only when it plainly was not
taken: the connection never opened, or the server answered 429/5xx without a request id.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from .base import ProviderContext
from .errors import ProviderError

T = TypeVar("T")

# Statuses that mean "not now" rather than "never": timeouts, rate limits, server trouble.
TRANSIENT_STATUS: frozenset[int] = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Verdict:
    """What a failure means for retrying it."""

    transient: bool
    reason: str                      # short, for people: "HTTP 429", "timed out"
    retry_after: float | None = None  # seconds the server asked us to wait


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4          # total tries, the first included
    base_s: float = 1.0        # first backoff; doubles each retry
    max_s: float = 30.0        # no single wait is longer than this
    # Injectable so tests run in milliseconds and can assert the schedule.
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep, compare=False)
    rand: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Wait before retry number n (1-based): base * 2^(n-1), jittered to 50-100 %.

        Jitter keeps four parallel track requests that failed together from hammering the
        server again in lockstep. A Retry-After from the server is honoured up to max_s.
        """
        expo = min(self.max_s, self.base_s * (2 ** (retry_number - 1)))
        wait = expo * (0.5 + 0.5 * self.rand())
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_s))
        return round(wait, 3)


DEFAULT_POLICY = RetryPolicy()

Classifier = Callable[[BaseException], "Verdict | None"]


async def with_retries(fn: Callable[[], Awaitable[T]], *, ctx: ProviderContext, what: str, classify: Classifier,
                       policy: RetryPolicy = DEFAULT_POLICY) -> T:
    """Run fn, retrying transient failures; re-raise permanent ones at once.

    classify(exc) returns a Verdict, or None for an exception it does not know (treated as
    permanent: a bug should fail loudly, not be retried). When attempts run out, raises
    ProviderError naming what failed and how often, chained to the last error.
    """
    attempt = 1
    while True:
        try:
            return await fn()
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - classified below; unknown ones re-raised
            verdict = classify(exc)
            if verdict is None or not verdict.transient:
                raise
            if attempt >= policy.attempts:
                raise ProviderError(
                    f"{what}: still failing after {attempt} attempts ({verdict.reason}); the service may be "
                    f"down or busy: try again later with `python -m runner resume {_session_id(ctx)}`",
                    transient=True) from exc
            wait = policy.delay(attempt, verdict.retry_after)
            ctx.event("retry", f"{what}: {verdict.reason}; retry {attempt} of {policy.attempts - 1} "
                               f"in {wait:.1f}s", attempt=attempt + 1, attempts=policy.attempts,
                      delay_s=wait, reason=verdict.reason)
            ctx.log("WARN", f"{what}: {verdict.reason}; retrying in {wait:.1f}s "
                            f"(attempt {attempt + 1} of {policy.attempts})")
            await policy.sleep(wait)
            attempt += 1


def status_verdict(status: int, retry_after: float | None = None) -> Verdict:
    return Verdict(status in TRANSIENT_STATUS, f"HTTP {status}", retry_after)


def network_verdict(exc: BaseException) -> Verdict | None:
    """Network failures: worth retrying (the connection, not the request, failed).

    Covers the standard library's and httpx's (which fal-client and elevenlabs use); httpx
    is looked at only when one of those SDKs has already imported it.
    """
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        if isinstance(exc, httpx.TimeoutException):
            return Verdict(True, "timed out")
        if isinstance(exc, httpx.TransportError):
            return Verdict(True, f"connection failed ({type(exc).__name__})")
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return Verdict(True, "timed out")
    if isinstance(exc, ConnectionError):
        return Verdict(True, f"connection failed ({type(exc).__name__})")
    if isinstance(exc, OSError) and exc.errno is not None:
        return Verdict(True, f"network error ({exc.strerror or exc.errno})")
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _session_id(ctx: ProviderContext) -> str:
    state = getattr(ctx, "state", None)
    if isinstance(state, dict) and state.get("id"):
        return str(state["id"])
    return "<session id>"
