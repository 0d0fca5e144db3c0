"""A daily budget across every session of a data root, on top of each run's own cap.

Before a paid call of a series session, what all sessions have spent or hold today (in the
plan's time zone) plus the call's estimate must stay within the daily budget; otherwise the
call is never sent and the run halts as `halted_budget` naming the daily budget. The next
day starts from zero, so `series run` continues then.

"Today's" money is read from every session's ledger.jsonl, by the time of each call's
estimate line (the day a call started is the day it is paid for):

    actual        what was paid
    unconfirmed   the estimate (sent, outcome unknown: possibly paid)
    estimate only the estimate (in flight now, or a runner died mid-call)
    failed        nothing

The check and the estimate line it allows are written under one lock in the data root
(`.daily-budget.lock`), so two runners cannot both take the last dollar.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping
from zoneinfo import ZoneInfo

from . import store
from .budget import BudgetExceeded

LOCK_FILE = ".daily-budget.lock"


day_bounds = store.day_bounds
committed_between = store.spend_between


class DailyBudgetExceeded(BudgetExceeded):
    """A call would cross the daily budget; nothing was sent."""

    def __init__(self, label: str, model: str, estimate_usd: float, committed_usd: float, limit_usd: float,
                 day: dt.date, zone_name: str):
        super().__init__(label, model, estimate_usd, committed_usd, limit_usd)
        self.day, self.zone_name = day, zone_name
        self.args = (f"{label} ({model}, est. ${estimate_usd:.3f}) would cross the daily budget: "
                     f"${committed_usd:.3f} spent or held today ({day}, {zone_name}) across all sessions + "
                     f"${estimate_usd:.3f} > ${limit_usd:.2f} daily budget; it continues tomorrow",)

    def __str__(self) -> str:
        return str(self.args[0])

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "message": str(self), "budget": "daily", "day": self.day.isoformat(),
                "zone": self.zone_name, "daily_budget_usd": self.cap_usd}


class DailyBudget:
    """The daily guard for one session: its series' limit and zone, and the data root it shares."""

    def __init__(self, root: Path, limit_usd: float, zone_name: str, clock: Callable[[], dt.datetime]):
        self.root, self.limit_usd, self.zone_name, self.clock = root, float(limit_usd), zone_name, clock
        self.zone = ZoneInfo(zone_name)

    @classmethod
    def for_state(cls, root: Path, state: Mapping[str, Any], clock: Callable[[], dt.datetime]) -> "DailyBudget | None":
        """The session's daily budget when it belongs to a series, else None."""
        block = state.get("series")
        if not isinstance(block, dict) or not isinstance(block.get("daily_budget_usd"), (int, float)):
            return None
        return cls(root, block["daily_budget_usd"], str(block.get("zone") or "UTC"), clock)

    def committed_today(self, now: dt.datetime | None = None) -> tuple[dt.date, float]:
        now = now or self.clock()
        day = now.astimezone(self.zone).date()
        return day, committed_between(self.root, *day_bounds(day, self.zone))

    def admit(self, label: str, model: str, estimate_usd: float, record: Callable[[], None]) -> None:
        """Check the call against today's total and, if it fits, run `record` (the ledger's
        estimate line) before anyone else may check. Raises DailyBudgetExceeded otherwise."""
        with self._lock():
            day, committed = self.committed_today()
            if round((committed + estimate_usd) * 1000) > round(self.limit_usd * 1000):
                raise DailyBudgetExceeded(label, model, estimate_usd, committed, self.limit_usd, day,
                                          self.zone_name)
            record()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
