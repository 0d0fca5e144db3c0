"""The one retry policy: bounded, exponential with jitter, visible, and quick to give up on "never"."""

from __future__ import annotations

import asyncio

import pytest
from fakes.harness import FakeCtx

from runner.providers.errors import ProviderError
from runner.providers.retry import RetryPolicy, Verdict, parse_retry_after, with_retries


class Flaky:
    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0

    async def __call__(self):
        self.calls += 1
        out = self.outcomes.pop(0)
        if isinstance(out, BaseException):
            raise out
        return out


class Status(Exception):
    def __init__(self, code):
        super().__init__(f"HTTP {code}")
        self.code = code


def classify(exc):
    if isinstance(exc, Status):
        return Verdict(exc.code in (429, 500, 503), f"HTTP {exc.code}", 7.0 if exc.code == 503 else None)
    return None


def policy(waits, **kw):
    async def sleep(s):
        waits.append(s)
    return RetryPolicy(sleep=sleep, rand=lambda: 1.0, **kw)


def test_transient_failures_are_retried_with_doubling_waits_and_an_event_each(tmp_path):
    waits, ctx = [], FakeCtx(tmp_path)
    fn = Flaky(Status(429), Status(500), "ok")
    assert asyncio.run(with_retries(fn, ctx=ctx, what="track 1/2", classify=classify, policy=policy(waits))) == "ok"
    assert fn.calls == 3 and waits == [1.0, 2.0]
    events = ctx.of_type("retry")
    assert [e[2]["attempt"] for e in events] == [2, 3] and "track 1/2: HTTP 429" in events[0][1]


def test_attempts_are_bounded_and_the_last_error_says_what_to_do(tmp_path):
    waits, ctx = [], FakeCtx(tmp_path)
    fn = Flaky(*[Status(500)] * 9)
    with pytest.raises(ProviderError, match=r"still failing after 3 attempts \(HTTP 500\)") as err:
        asyncio.run(with_retries(fn, ctx=ctx, what="cover art", classify=classify, policy=policy(waits, attempts=3)))
    assert fn.calls == 3 and err.value.transient and "python -m runner resume" in str(err.value)
    assert isinstance(err.value.__cause__, Status)


def test_permanent_and_unknown_errors_fail_at_once(tmp_path):
    for exc in (Status(422), KeyError("bug")):
        waits = []
        fn = Flaky(exc, "never")
        with pytest.raises(type(exc)):
            asyncio.run(with_retries(fn, ctx=FakeCtx(tmp_path), what="x", classify=classify, policy=policy(waits)))
        assert fn.calls == 1 and waits == []


def test_waits_are_jittered_capped_and_respect_retry_after():
    p = RetryPolicy(base_s=1.0, max_s=10.0, rand=lambda: 0.0)
    assert [p.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    p = RetryPolicy(base_s=1.0, max_s=10.0, rand=lambda: 1.0)
    assert [p.delay(n) for n in (1, 5, 9)] == [1.0, 10.0, 10.0]
    assert p.delay(1, retry_after=7.0) == 7.0 and p.delay(1, retry_after=600) == 10.0
    assert parse_retry_after("3") == 3.0 and parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait


def test_network_failures_from_the_stdlib_and_httpx_are_worth_retrying():
    import httpx

    from runner.providers.retry import network_verdict

    for exc in (httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"), httpx.ConnectError("refused"),
                TimeoutError(), ConnectionResetError()):
        verdict = network_verdict(exc)
        assert verdict is not None and verdict.transient, exc
    assert network_verdict(ValueError("not the network")) is None
