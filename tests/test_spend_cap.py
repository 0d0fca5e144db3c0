"""The hard cap, the ledger and the paid-result cache, with a priced fake provider.

The fake "provider" is a step that asks for priced calls through ctx.spend exactly as the
real providers do; it counts how many requests it actually sent.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import pytest
from helpers import params

from runner import budget, sessions, store
from runner.budget import Budget, BudgetExceeded
from runner.pipeline import StepResult
from runner.providers.base import Call, ProviderSet
from runner.providers.registry import NoUploader


class PricedFake:
    """Sends 'requests' that cost price each and produce a small file."""

    def __init__(self, price: float):
        self.price = price
        self.sent: list[str] = []

    async def call(self, ctx, label: str, n: int) -> dict:
        call = Call(provider="fake", model="fake/model-v1", asset="music", label=label,
                    params={"prompt": f"track {n}", "theme": ctx.params["theme"]}, estimate_usd=self.price)

        async def run():
            self.sent.append(label)
            await asyncio.sleep(0.01)
            tmp = Path(tempfile.mkdtemp()) / "out.bin"
            tmp.write_bytes(f"audio for {label}".encode())
            return {"files": {"audio": tmp}, "cost_usd": self.price}

        return await ctx.spend(call, run)


def _steps(fake: PricedFake, n_calls: int):
    async def nothing(ctx):
        return StepResult({})

    async def music(ctx):
        for n in range(1, n_calls + 1):
            result = await fake.call(ctx, f"track {n}/{n_calls}", n)
            assert Path(result["files"]["audio"]).read_bytes() == f"audio for track {n}/{n_calls}".encode()
            ctx.outputs.setdefault("tracks", []).append(n)
            ctx.save()
        return StepResult({})

    fns = {name: nothing for name in store.STEPS}
    fns["music"] = music
    return fns


def _providers() -> ProviderSet:
    return ProviderSet(None, None, None, None, NoUploader("no creds"))


def test_a_call_that_would_cross_the_cap_is_never_sent(root):
    fake = PricedFake(price=0.40)
    state = sessions.create(root, params(cap=1.00))
    status = sessions.execute(root, state, _providers(), step_fns=_steps(fake, 3))
    assert status == "halted_budget"
    assert fake.sent == ["track 1/3", "track 2/3"]  # the third was refused before sending
    on_disk = store.read_state(root, state["id"])
    assert on_disk["status"] == "halted_budget"
    assert on_disk["cost"]["spent_usd"] == pytest.approx(0.80)
    assert on_disk["cost"]["by_asset"]["music"] == pytest.approx(0.80)
    assert on_disk["halt"]["call"] == "track 3/3"
    assert "would cross the cap" in on_disk["halt"]["message"]
    assert on_disk["steps"]["music"]["status"] == "failed"


def test_the_ledger_has_an_estimate_and_an_actual_for_each_paid_call(root):
    fake = PricedFake(price=0.25)
    state = sessions.create(root, params(cap=2.00))
    assert sessions.execute(root, state, _providers(), step_fns=_steps(fake, 2)) == "completed"
    ledger = store.read_ledger(root, state["id"])
    assert [(l["phase"], l["label"]) for l in ledger] == [
        ("estimate", "track 1/2"), ("actual", "track 1/2"), ("estimate", "track 2/2"), ("actual", "track 2/2")]
    assert sum(l["usd"] for l in ledger if l["phase"] == "actual") == pytest.approx(0.50)
    assert store.read_state(root, state["id"])["steps"]["music"]["cost_usd"] == pytest.approx(0.50)


def test_resume_after_a_halt_never_pays_twice(root):
    fake = PricedFake(price=0.40)
    state = sessions.create(root, params(cap=1.00))
    assert sessions.execute(root, state, _providers(), step_fns=_steps(fake, 3)) == "halted_budget"
    with pytest.raises(sessions.SessionError, match="higher --cap"):
        sessions.prepare_resume(root, state["id"])
    again = sessions.prepare_resume(root, state["id"], cap=2.00)
    assert sessions.execute(root, again, _providers(), step_fns=_steps(fake, 3)) == "completed"
    assert fake.sent == ["track 1/3", "track 2/3", "track 3/3"]  # tracks 1 and 2 came from the cache
    on_disk = store.read_state(root, state["id"])
    assert on_disk["cost"]["spent_usd"] == pytest.approx(1.20)
    actual = [l["label"] for l in store.read_ledger(root, state["id"]) if l["phase"] == "actual"]
    assert actual == ["track 1/3", "track 2/3", "track 3/3"]  # each paid call shows once
    assert any(e["type"] == "cache_hit" for e in store.read_events(root, state["id"]))


def test_the_same_request_in_a_new_session_is_answered_from_the_cache(root):
    fake = PricedFake(price=0.10)
    first = sessions.create(root, params())
    sessions.execute(root, first, _providers(), step_fns=_steps(fake, 2))
    second = sessions.create(root, params())
    sessions.execute(root, second, _providers(), step_fns=_steps(fake, 2))
    assert len(fake.sent) == 2
    assert store.read_state(root, second["id"])["cost"]["spent_usd"] == 0


def test_parallel_calls_cannot_cross_the_cap_together():
    b = Budget(cap_usd=1.00)
    b.reserve("a", "m", 0.40)
    b.reserve("b", "m", 0.40)  # both in flight: 0.80 reserved
    with pytest.raises(BudgetExceeded):
        b.reserve("c", "m", 0.40)
    with pytest.raises(BudgetExceeded):  # once halted, nothing else starts
        b.reserve("d", "m", 0.01)


def test_a_failed_call_releases_its_reservation_unpaid():
    b = Budget(cap_usd=0.50)
    b.reserve("a", "m", 0.40)
    b.settle(0.40, None)
    assert b.spent_usd == 0 and b.reserved_usd == 0
    b.reserve("b", "m", 0.40)


def test_a_call_exactly_at_the_cap_is_allowed():
    b = Budget(cap_usd=0.75)
    b.reserve("a", "m", 0.25)
    b.settle(0.25, 0.25)
    b.reserve("b", "m", 0.50)


def test_price_table_names_source_and_date_for_every_model():
    for price in budget.PRICES.values():
        assert price.source and price.checked and price.unit_usd >= 0


def test_fal_estimate_matches_the_fleet_figure():
    est = budget.estimate(params(provider="fal", tracks=10, minutes=60), elevenlabs=False)
    assert est["by_asset"] == {"image": 0.075, "video": 0.35, "music": 0.35, "ambience": 0.0}
    assert est["total_usd"] == pytest.approx(0.775)
    assert not est["over_cap"]
    assert budget.estimate(params(provider="fal", tracks=10, minutes=60, cap=0.5), elevenlabs=False)["over_cap"]


def test_local_runs_estimate_zero():
    assert budget.estimate(params(), elevenlabs=False)["total_usd"] == 0


def test_estimate_needs_no_theme(root, capsys):
    # The price never depends on the theme, so `estimate` asks for none (README, docs/providers.md).
    from runner import cli

    assert cli.main(["estimate", "--provider", "fal", "--tracks", "10", "--json", "--root", str(root)]) == 0
    assert json.loads(capsys.readouterr().out)["total_usd"] == pytest.approx(0.775)
    assert cli.main(["estimate", "--provider", "fal", "--cap", "0.5", "--root", str(root)]) == 1
    assert not list((root / "sessions").iterdir())
