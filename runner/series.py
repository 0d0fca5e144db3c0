"""A channel's series: check a plan, and make what is due, idempotently, for cron or a timer.

`check(plan, env, now)` gives the calendar with the estimated spend per entry and per day.
`run(...)` makes every entry whose making window has opened (its publish date minus
`ahead` days): an entry already made is left alone, an interrupted one is resumed, a failed
one is retried once and then left for a person, one halted by the daily budget continues
on a later day. Before each entry is made or resumed, the data root's disk must hold what it
will write (sessions.disk_to_write, the estimate a single `run` checks): when it does not,
the series halts there, naming the entry, and a later `series run` goes on. One `series run` per series at a time (a lock in the data root), so two
started at once never make an entry twice. Sessions carry their series and entry in
state.json ("series"), which is what makes re-running safe: the sessions are the record.

Time is passed in (`now`, a clock); nothing here reads the wall clock itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TextIO

from . import budget, disk, quota, sessions, store
from .journal import Clock
from .plan import Entry, Plan
from .providers.base import ProviderSet

# Statuses after which an entry needs nobody: made (or stopped at the review gate on purpose).
MADE = frozenset({"completed", "awaiting_review"})
RETRIES = 1  # a failed entry is retried this many times by `series run`, then left for a person


class SeriesBusy(Exception):
    """Another `series run` holds this series' lock."""


@dataclass(frozen=True)
class Outcome:
    key: str
    action: str            # made | resumed | retried | waiting | left | refused | busy | no-space | later
    status: str | None     # the session's status afterwards, when there is a session
    session_id: str | None
    message: str
    daily_halt: bool = False   # halted by the daily budget: later entries wait for another day
    disk_halt: bool = False    # the disk cannot hold it: later entries wait for space

    def halts(self) -> str | None:
        """Why the entries after this one wait (their `later` message), or None to go on."""
        if self.daily_halt:
            return "waits for tomorrow: today's daily budget is spent"
        if self.disk_halt:
            return "waits for disk space (see the entry before it)"
        return None

    def line(self) -> str:
        sid = f" {self.session_id}" if self.session_id else ""
        return f"  {self.key:<16} {self.action:<8}{sid}  {self.message}".rstrip()


# ----------------------------------------------------------------------------- check

def estimate_usd(entry: Entry, env: Mapping[str, str]) -> float:
    return float(budget.estimate(entry.params, elevenlabs=bool(env.get("ELEVENLABS_API_KEY")))["total_usd"])


def over_cap(plan: Plan, env: Mapping[str, str]) -> list[tuple[int, str]]:
    """Entries whose estimate alone crosses the run cap (they would halt every time), one per plan line."""
    by_line: dict[int, list[tuple[Entry, float]]] = {}
    for e in plan.entries:
        usd = estimate_usd(e, env)
        if usd > float(e.params["cap"]) + 1e-9:
            by_line.setdefault(e.line, []).append((e, usd))
    out = []
    for line, over in by_line.items():
        e, usd = over[0]
        more = f" (and {len(over) - 1} more entries of this cadence)" if len(over) > 1 else ""
        out.append((line, f"{e.key}: estimated ${usd:.2f} is over the ${float(e.params['cap']):.2f} cap a run{more}; "
                          "raise cap or lower tracks"))
    return out


def calendar_lines(plan: Plan, env: Mapping[str, str], now: dt.datetime) -> list[str]:
    """The calendar as `series check` prints it: one line per entry, the day's estimate on its first."""
    d = plan.defaults
    made_when = "on the day" if plan.ahead_days == 0 else f"up to {plan.ahead_days} day(s) ahead"
    lines = [
        f"series {plan.name!r} ({plan.id}): {len(plan.entries)} entries, {plan.entries[0].date} to "
        f"{plan.entries[-1].date}, times in {plan.zone_name}",
        f"  {d['provider']} provider, ${d['cap']:.2f} cap a run, ${plan.daily_budget_usd:.2f} daily budget, "
        f"{'private, public at the publish time' if plan.privacy == 'public' else 'private, never scheduled'}"
        f"{', playlist ' + repr(plan.playlist) if plan.playlist else ''}, made {made_when}",
        "",
        f"  {'date':<14} {'publish':<10} {'est.':>6} {'day':>7}  theme",
    ]
    by_day: dict[dt.date, float] = {}
    for e in plan.entries:
        by_day[e.date] = by_day.get(e.date, 0.0) + estimate_usd(e, env)
    seen: set[dt.date] = set()
    notes = []
    for e in plan.entries:
        first = e.date not in seen
        seen.add(e.date)
        day = f"${by_day[e.date]:.2f}" if first else ""
        past = "  (past: will not be made)" if e.publish_at <= now else ""
        lines.append(f"  {e.date:%Y-%m-%d %a} {e.publish_at:%H:%M %Z}".ljust(27)
                     + f" {'$%.2f' % estimate_usd(e, env):>6} {day:>7}  {e.theme} ({e.params['season']}, "
                       f"{e.params['atmosphere']}){past}")
        if e.note:
            notes.append(f"  note: {e.key}: {e.note}")
    total = sum(by_day.values())
    lines += ["", f"  total ${total:.2f} estimated over {len(by_day)} day(s)"]
    for date, usd in sorted(by_day.items()):
        if usd > plan.daily_budget_usd + 1e-9:
            notes.append(f"  note: {date} needs ${usd:.2f}, more than the ${plan.daily_budget_usd:.2f} daily budget: "
                         "a run that would cross it halts and continues the next day")
    return lines + notes


# ----------------------------------------------------------------------------- on disk

series_dir = store.series_dir


@contextlib.contextmanager
def series_lock(root: Path, series_id: str) -> Iterator[None]:
    """One `series run` per series; the lock dies with its process, even under SIGKILL."""
    folder = series_dir(root, series_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            raise SeriesBusy(f"another `series run` is making series {series_id!r} now"
                             + (f" (pid {holder})" if holder.isdigit() else "") + "; this one leaves it to it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def series_block(plan: Plan, entry: Entry) -> dict[str, Any]:
    """What a session of this entry records about its series (state.json "series")."""
    return {
        "id": plan.id, "name": plan.name, "entry": entry.key, "zone": plan.zone_name,
        "publish_at": entry.publish_utc if plan.privacy == "public" else None,
        "publish_local": entry.publish_at.isoformat(), "playlist": plan.playlist,
        "daily_budget_usd": plan.daily_budget_usd, "retries": 0,
    }


def snapshot(plan: Plan, env: Mapping[str, str], now: dt.datetime) -> dict[str, Any]:
    """The plan's calendar as the dashboard reads it (series/<id>/plan.json)."""
    d = plan.defaults
    return {
        "schema": 1, "id": plan.id, "name": plan.name, "zone": plan.zone_name,
        "publish_time": f"{plan.publish_time:%H:%M}", "privacy": plan.privacy, "playlist": plan.playlist,
        "daily_budget_usd": plan.daily_budget_usd, "ahead_days": plan.ahead_days, "provider": d["provider"],
        "cap_usd": d["cap"], "written_at": store.iso(now),
        "entries": [{"key": e.key, "date": e.date.isoformat(), "publish_at": e.publish_utc,
                     "publish_local": e.publish_at.isoformat(), "theme": e.theme, "season": e.params["season"],
                     "atmosphere": e.params["atmosphere"], "estimate_usd": round(estimate_usd(e, env), 4),
                     "note": e.note} for e in plan.entries],
    }


def write_snapshot(root: Path, plan: Plan, env: Mapping[str, str], now: dt.datetime) -> None:
    store.atomic_write_json(series_dir(root, plan.id) / "plan.json", snapshot(plan, env, now))


def entry_sessions(root: Path, plan: Plan) -> dict[str, list[store.State]]:
    """Each entry key's sessions, newest first. Reads only sessions whose id ends in a plan theme's slug."""
    slugs = {store.slugify(e.theme) for e in plan.entries}
    found: dict[str, list[store.State]] = {}
    for sid in store.list_session_ids(root):
        tail = sid[16:]
        base = tail.rsplit("-", 1)[0] if tail.rsplit("-", 1)[-1].isdigit() else tail
        if tail not in slugs and base not in slugs:
            continue
        state = store.read_state(root, sid)
        block = state.get("series") if state is not None else None
        if state is not None and isinstance(block, dict) and block.get("id") == plan.id \
                and isinstance(block.get("entry"), str):
            found.setdefault(block["entry"], []).append(state)
    return found


# ----------------------------------------------------------------------------- run

ProvidersFor = Callable[[dict[str, Any]], ProviderSet]


@dataclass
class Runner:
    """`series run` for one plan. The CLI builds it; tests build it with a fake clock and step functions."""

    root: Path
    plan: Plan
    providers_for: ProvidersFor
    env: Mapping[str, str]
    clock: Clock = store.utc_now
    ahead_days: int | None = None
    echo: TextIO | None = None
    step_fns: Mapping[str, Any] | None = None
    statvfs: disk.Statvfs = os.statvfs    # the data root's free space (tests pass their own)

    def run(self) -> list[Outcome]:
        """Make what is due now; raises SeriesBusy when another run holds the series."""
        with series_lock(self.root, self.plan.id):
            now = self.clock()
            write_snapshot(self.root, self.plan, self.env, now)
            made = entry_sessions(self.root, self.plan)
            outcomes: list[Outcome] = []
            halted: str | None = None
            for entry in self.plan.entries:
                if halted:
                    if self._due(entry, now) and not self._settled(made.get(entry.key)):
                        outcomes.append(Outcome(entry.key, "later", None, None, halted))
                    continue
                outcome = self._one(entry, made.get(entry.key) or [], now)
                if outcome is None:
                    continue
                self._say(outcome.line())
                outcomes.append(outcome)
                halted = outcome.halts()
                now = self.clock()
            return outcomes

    def _due(self, entry: Entry, now: dt.datetime) -> bool:
        ahead = self.plan.ahead_days if self.ahead_days is None else self.ahead_days
        return self.plan.today(now) >= entry.date - dt.timedelta(days=ahead)

    @staticmethod
    def _settled(states: list[store.State] | None) -> bool:
        return bool(states) and store.effective_status(states[0]) in MADE  # type: ignore[index]

    def _one(self, entry: Entry, states: list[store.State], now: dt.datetime) -> Outcome | None:
        if not states:
            if not self._due(entry, now):
                return None
            if entry.publish_at <= now:
                return Outcome(entry.key, "refused", None, None,
                               f"its publish time {entry.publish_at:%Y-%m-%d %H:%M %Z} has passed; not made "
                               "(move its date in the plan)")
            return self._make(entry)
        state = states[0]
        status = store.effective_status(state, now)
        sid = state["id"]
        if status in MADE:
            return None
        if status in ("running", "queued"):
            return Outcome(entry.key, "busy", status, sid, "being run by another process")
        if status == "halted_budget" and not _daily_halt(state):
            return Outcome(entry.key, "left", status, sid, "halted at its run cap; a person decides: "
                           f"python -m runner resume {sid} --cap <higher>")
        if status == "failed" and (wait := _quota_wait(self.root, state, now)):
            return Outcome(entry.key, "waiting", status, sid, wait)
        if status == "failed":
            retries = int((state.get("series") or {}).get("retries") or 0)
            if retries >= RETRIES:
                return Outcome(entry.key, "left", status, sid, f"failed again after a retry ({_short(state)}); "
                               f"left for a person: python -m runner resume {sid}")
            return self._resume(entry, sid, "retried", retries + 1)
        if status in ("interrupted", "halted_budget"):
            return self._resume(entry, sid, "resumed", None)
        return Outcome(entry.key, "left", status, sid, f"is {status}; left for a person")

    def _make(self, entry: Entry) -> Outcome:
        params = typing.cast(store.Params, entry.params)
        sessions.check_provider_keys(params, self.env)
        if (short := self._no_space(entry, params, None)) is not None:
            return short
        providers = self.providers_for(entry.params)
        state = sessions.create(self.root, params, clock=self.clock, series=series_block(self.plan, entry))
        self._say(f"  {entry.key:<16} making {state['id']} ({entry.theme!r})")
        status = sessions.execute(self.root, state, providers, echo=None, clock=self.clock, step_fns=self.step_fns)
        return _outcome(self.root, entry.key, "made", state["id"], status)

    def _resume(self, entry: Entry, sid: str, action: str, retries: int | None) -> Outcome:
        try:
            state = sessions.prepare_resume(self.root, sid, now=self.clock())
        except (sessions.SessionError, sessions.AlreadyDone) as exc:
            return Outcome(entry.key, "left", None, sid, str(exc))
        if (short := self._no_space(entry, state["params"], sid)) is not None:
            return short  # nothing written: its status and its one retry stay as they were
        earlier: dict[str, Any] = dict(state.get("series") or {})
        block = {**earlier, **series_block(self.plan, entry)}
        block["retries"] = retries if retries is not None else int(earlier.get("retries") or 0)
        state["series"] = typing.cast(store.Series, block)  # the plan may have moved the budget, time or playlist
        providers = self.providers_for(dict(state["params"]))
        try:
            status = sessions.execute(self.root, state, providers, echo=None, clock=self.clock,
                                      step_fns=self.step_fns)
        except sessions.SessionError as exc:  # a person resumed it by hand meanwhile
            return Outcome(entry.key, "busy", None, sid, str(exc))
        return _outcome(self.root, entry.key, action, sid, status)

    def _no_space(self, entry: Entry, params: Mapping[str, Any], sid: str | None) -> Outcome | None:
        """The halt when the data root's disk cannot hold what this entry will still write."""
        try:
            sessions.disk_to_write(self.root, params, session=sid, statvfs=self.statvfs)
        except disk.NotEnoughSpace as exc:
            return Outcome(entry.key, "no-space", None, sid,
                           f"not enough disk: this entry writes about {disk.human(exc.need)} under {self.root} "
                           f"and its disk (mounted on {exc.mount}) has {disk.human(exc.free)} free; the series "
                           "stops here and the next `series run` goes on once there is space (free some, e.g. "
                           "`python -m runner prune`)", disk_halt=True)
        return None

    def _say(self, line: str) -> None:
        if self.echo is not None:
            print(line, file=self.echo, flush=True)


def _quota_wait(root: Path, state: Mapping[str, Any], now: dt.datetime) -> str | None:
    """Why a session that failed at its upload must wait for YouTube's quota to reset, if it must.

    Retrying before the reset would only fail again and use up the entry's one retry.
    """
    upload = (state.get("steps") or {}).get("upload") or {}
    if upload.get("status") != "failed":
        return None
    inserted = ((upload.get("outputs") or {}).get("checkpoint") or {}).get("youtube", {}).get("video_id")
    calls = ["thumbnails.set"] if inserted else ["videos.insert", "thumbnails.set"]
    try:
        quota.QuotaLedger(root).room_for(calls, now)
    except quota.QuotaExhausted as exc:
        return f"the upload waits for YouTube's quota: it resets at midnight Pacific time ({exc.resets_at:%Y-%m-%d %H:%M %Z})"
    return None


def _daily_halt(state: Mapping[str, Any]) -> bool:
    return (state.get("halt") or {}).get("budget") == "daily"


def _short(state: Mapping[str, Any]) -> str:
    return " ".join(str(state.get("error") or "no error recorded").split())[:160]


def _outcome(root: Path, key: str, action: str, sid: str, status: str) -> Outcome:
    state: dict[str, Any] = dict(store.read_state(root, sid) or {})
    if status == "halted_budget":
        message = str((state.get("halt") or {}).get("message") or "halted")
    elif status == "failed":
        message = _short(state)
    else:
        spent = float((state.get("cost") or {}).get("spent_usd") or 0.0)
        message = f"{status}, ${spent:.2f}" + (f": {state['title']}" if state.get("title") else "")
    return Outcome(key, action, status, sid, message, daily_halt=status == "halted_budget" and _daily_halt(state))
