"""Headline numbers for the Overview, computed from index entries (no disk access)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from runner import store

from .reader import ALL_STATUSES, Entry

DEFAULT_SERIES = 60
MAX_SERIES = 10_000


def compute(entries: list[Entry], series: int = DEFAULT_SERIES) -> dict[str, Any]:
    """KPIs over all sessions; entries arrive newest first."""
    readable = [e for e in entries if e.row["readable"]]
    by_status = Counter(e.row["status"] for e in entries)
    seasons = Counter(e.row["season"] for e in readable if e.row["season"])
    uploads = Counter(e.row["upload_status"] for e in readable)
    attempted = uploads["done"] + uploads["failed"]
    total_spend = sum(e.spent for e in readable)
    per_step: list[list[float]] = [[] for _ in store.STEPS]
    for e in readable:
        for i, s in enumerate(e.step_s):
            if s is not None:
                per_step[i].append(s)
    newest = readable[:series]
    return {
        "sessions": len(entries),
        "readable": len(readable),
        "unreadable": len(entries) - len(readable),
        "completed": by_status["completed"],
        "failed": by_status["failed"],
        "running": by_status["running"],
        "rendered": sum(1 for e in readable if e.step_s[store.STEPS.index("render")] is not None),
        "tracks_rendered": sum(e.tracks_done for e in readable),
        "by_status": {s: by_status[s] for s in ALL_STATUSES},
        "upload": {
            "attempted": attempted,
            "succeeded": uploads["done"],
            "failed": uploads["failed"],
            "skipped": uploads["skipped"],
            "rate": round(uploads["done"] / attempted, 4) if attempted else None,
        },
        "spend": {
            "total_usd": round(total_spend, 4),
            "average_usd": round(total_spend / len(readable), 4) if readable else None,
            "max_usd": round(max((e.spent for e in readable), default=0.0), 4),
        },
        # Oldest first, so a chart reads left to right in time.
        "series": [
            {"id": e.id, "spent_usd": e.row["spent_usd"], "cap_usd": e.row["cap_usd"],
             "status": e.row["status"], "created_at": e.row["created_at"], "theme": e.row["theme"]}
            for e in reversed(newest)
        ],
        "seasons": {s: seasons[s] for s in store.SEASONS},
        "step_median_s": {
            name: (round(statistics.median(v), 3) if v else None) for name, v in zip(store.STEPS, per_step)
        },
    }
