"""A series' daily budget, end to end: real fal providers against the loopback fal fake, the real
spend door, and a clock passed in (three days pass in one test, nothing sleeps).

The plan: five entries over three days, made two days ahead; each run pays for a cover and
one track ($0.11), and the daily budget ($0.25) holds two runs a day.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from fakes.fal import APPS
from fakes.fixtures import fal_fake, loopback_only  # noqa: F401 - pytest fixtures
from fakes.harness import fal_env

from runner import budget, daily, plan as plans, series, store
from runner.pipeline import StepResult
from runner.providers import registry

UTC = dt.timezone.utc
RUN_USD = budget.price_of(APPS["image"]).per_call(width=1920, height=1080) + budget.price_of(APPS["music"]).per_call()

PLAN = """\
[series]
name = "Paid Nights"
zone = "Europe/Berlin"
publish_time = "18:00"
provider = "fal"
tracks = 1
minutes = 1
cap = 1.00
daily_budget = 0.25
ahead = 2
upload = false

[[entry]]
date = 2026-12-03
theme = "rain on the skylight"

[[entry]]
date = 2026-12-03
time = "19:00"
theme = "tea at dusk"

[[entry]]
date = 2026-12-03
time = "20:00"
theme = "library after hours"

[[entry]]
date = 2026-12-04
theme = "night tram"

[[entry]]
date = 2026-12-05
theme = "snow on the harbour"
"""


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=10)  # time moves on while a run works
        return self.now


def paid_steps():
    """The paid calls of a run through the real fal providers (cover art, one track); the local
    media steps stand aside, since only money is under test here."""
    async def nothing(ctx):
        return StepResult({})

    async def artwork(ctx):
        await ctx.providers.art.make_artwork(ctx, ctx.session_dir / "artwork.png")
        return StepResult({"artwork": "artwork.png"})

    async def music(ctx):
        [track] = ctx.variation["tracks"][:1]
        (ctx.session_dir / "tracks").mkdir(exist_ok=True)
        made = await ctx.providers.music.make_track(ctx, track, 30.0, ctx.session_dir / "tracks" / "01")
        return StepResult({"tracks": [{"index": 1, "file": made["file"].name}]})

    from runner.steps import variation
    fns = {name: nothing for name in store.STEPS}
    fns.update(variation=variation.run, artwork=artwork, music=music)
    return fns


def test_two_paid_runs_a_day_fit_the_third_halts_naming_the_daily_budget_and_continues_tomorrow(
        root, tmp_path, fal_fake):
    (tmp_path / "series.toml").write_text(textwrap.dedent(PLAN))
    plan = plans.load(tmp_path / "series.toml")
    env = fal_env(fal_fake)
    clock = Clock(dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC))  # 09:00 in Berlin
    (root / "sessions").mkdir(exist_ok=True)

    def run_day() -> list[series.Outcome]:
        return series.Runner(root, plan, lambda p: registry.build(p, env), env, clock=clock,
                             step_fns=paid_steps()).run()

    day1 = run_day()
    assert [(o.key[:10], o.action, o.status) for o in day1] == [
        ("2026-12-03", "made", "completed"), ("2026-12-03", "made", "completed"),
        ("2026-12-03", "made", "halted_budget")]
    halted = store.read_state(root, day1[2].session_id)
    assert halted["halt"]["budget"] == "daily" and halted["halt"]["call"] == "cover art"
    assert "would cross the daily budget" in day1[2].message and "$0.25 daily budget" in day1[2].message
    assert len(fal_fake.submits(APPS["image"])) == 2  # the third cover was never sent
    assert halted["cost"]["spent_usd"] == 0

    clock.now = dt.datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    day2 = run_day()
    assert [(o.key[:10], o.action, o.status) for o in day2] == [
        ("2026-12-03", "resumed", "completed"), ("2026-12-04", "made", "completed")]
    assert day2[0].session_id == day1[2].session_id

    clock.now = dt.datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    day3 = run_day()
    assert [(o.key[:10], o.action, o.status) for o in day3] == [("2026-12-05", "made", "completed")]
    assert run_day() == []  # all made: nothing more, nothing paid

    # Each entry made by exactly one session; each cover paid once; no day over its budget.
    by_entry: dict[str, int] = {}
    for sid in store.list_session_ids(root):
        key = store.read_state(root, sid)["series"]["entry"]
        by_entry[key] = by_entry.get(key, 0) + 1
    assert sorted(by_entry.values()) == [1] * 5
    assert len(fal_fake.submits(APPS["image"])) == 5 and len(fal_fake.submits(APPS["music"])) == 5
    for day in (1, 2, 3):
        start, end = daily.day_bounds(dt.date(2026, 12, day), plan.zone)
        spent = daily.committed_between(root, start, end)
        assert spent <= 0.25 and spent == pytest.approx(RUN_USD * (2 if day < 3 else 1))
