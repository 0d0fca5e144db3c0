"""A data root holding one channel's series in every state, for the studio's Series API and view.

`seed_series(root, tmp)` writes a plan, runs nothing heavy: each entry's session is created with
its series block and then set to the state under test, with the ledger lines, disk figure,
upload outputs and quota lines a real run would have left.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

from runner import plan as plans, series, sessions, store

UTC = dt.timezone.utc
# 11:00 in Berlin on Thursday 3 December 2026; 02:00 in Los Angeles.
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

PLAN = """\
[series]
name = "Night Desk"
zone = "Europe/Berlin"
publish_time = "18:00"
provider = "fal"
tracks = 2
minutes = 30
cap = 2.00
daily_budget = 1.50
playlist = "night desk"
ahead = 2

[[cadence]]
every = "day"
start = 2026-12-01
count = 7
themes = ["rainy night", "tea at dusk", "library after hours"]
"""

# Entry (by day of December) -> what its session is, or None for no session yet.
STATES: dict[int, str | None] = {1: "published", 2: "published", 3: "scheduled", 4: "failed", 5: "making",
                                 6: None, 7: None}


def seed_series(root: Path, tmp: Path, now: dt.datetime = NOW) -> plans.Plan:
    (tmp / "series.toml").write_text(textwrap.dedent(PLAN))
    plan = plans.load(tmp / "series.toml")
    series.write_snapshot(root, plan, {}, now)
    for entry in plan.entries:
        kind = STATES[entry.date.day]
        if kind is not None:
            _session(root, plan, entry, kind, now)
    _quota(root, now)
    return plan


def _session(root: Path, plan: plans.Plan, entry: plans.Entry, kind: str, now: dt.datetime) -> None:
    made_at = now - dt.timedelta(days=4 - entry.date.day) if entry.date.day < 4 else now - dt.timedelta(hours=2)
    state: Any = sessions.create(root, entry.params, clock=lambda: made_at, series=series.series_block(plan, entry))
    folder = store.session_dir(root, state["id"])
    (folder / "final.mp4").write_bytes(b"\0" * 5000)
    state["disk_bytes"] = store.tree_bytes(folder)
    state["title"] = f"{entry.theme} \u00b7 lofi beats"
    if kind in ("published", "scheduled"):
        state["status"] = "completed"
        state["finished_at"] = store.iso(made_at + dt.timedelta(minutes=5))
        for step in state["steps"].values():
            step["status"] = "done"
        vid = f"vid{entry.date.day:08d}"
        state["youtube"] = {"id": vid, "url": f"https://www.youtube.com/watch?v={vid}", "privacy": "private"}
        state["steps"]["upload"]["outputs"].update(video_id=vid, publish_at=entry.publish_utc)
    elif kind == "failed":
        state["status"] = "failed"
        state["finished_at"] = store.iso(made_at + dt.timedelta(minutes=3))
        state["error"] = "render: ffmpeg failed (exit 1)"
    elif kind == "making":
        import os

        state["status"] = "running"
        state["pid"] = os.getpid()
        state["heartbeat_at"] = store.iso(now)
    if entry.date.day >= 4:  # made today: its paid calls count towards today's budget
        _ledger(folder, now, state["id"], paid=0.50 if kind == "failed" else 0.35)
    state["updated_at"] = store.iso(now if entry.date.day >= 4 else made_at)
    store.atomic_write_json(folder / "state.json", state)


def _ledger(folder: Path, now: dt.datetime, sid: str, paid: float) -> None:
    ts = store.iso(now - dt.timedelta(hours=1))
    for phase, usd in (("estimate", paid), ("actual", paid)):
        store.append_jsonl(folder / "ledger.jsonl", {"ts": ts, "call_id": f"c-{sid[-8:]}", "provider": "fal",
                                                     "model": "fal-ai/flux/dev", "asset": "image", "step": "artwork",
                                                     "label": "cover art", "cache_key": "k", "phase": phase,
                                                     "usd": usd})


def _quota(root: Path, now: dt.datetime) -> None:
    path = store.quota_path(root, store.quota_day(now))
    path.parent.mkdir(parents=True, exist_ok=True)
    for method in ("videos.insert", "thumbnails.set", "playlists.list", "playlists.insert", "playlistItems.insert"):
        store.append_jsonl(path, {"ts": store.iso(now), "method": method, "units": store.QUOTA_COSTS[method],
                                  "session": "x"})
