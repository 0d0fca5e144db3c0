"""One session seen whole: steps, timeline, spend, ledger, tracks, media and metadata.

Read straight from disk on each request (one session is small), redacted before it leaves.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from runner import store

from . import disk, jsonsafe, sessionfiles
from .media import media_url
from .reader import MOVING, build_entry, short_text, youtube_url
from .redact import Redactor

DEFAULT_TIMELINE = 500
MAX_TIMELINE = 5000
RESUMABLE = frozenset({"interrupted", "failed", "halted_budget"})
PROVENANCE_MAX_BYTES = 2 * 1024 * 1024   # 500 tracks with their prompts fit many times over


def _redacted(value: Any, redactor: Redactor) -> str | None:
    text = store.one_line(value)
    return redactor.text(text) if text else None


def compact_steps(state: dict[str, Any], redactor: Redactor) -> list[dict[str, Any]]:
    """The seven steps in order, without outputs: what the Live rail draws."""
    steps = state.get("steps") if isinstance(state.get("steps"), dict) else {}
    out = []
    for name in store.STEPS:
        s = steps.get(name) if isinstance(steps.get(name), dict) else {}
        progress = s.get("progress") if isinstance(s.get("progress"), dict) else None
        out.append({
            "name": name,
            "status": s.get("status", "pending"),
            "started_at": s.get("started_at"),
            "finished_at": s.get("finished_at"),
            "duration_s": store.step_seconds(s),
            "attempts": s.get("attempts", 0),
            "cost_usd": s.get("cost_usd", 0.0),
            # Redacted before it is cut: a cut key is no longer key-shaped.
            "error": short_text(_redacted(s.get("error"), redactor), 2000),
            "note": short_text(_redacted(s.get("note"), redactor), 2000),
            "progress": progress or None,
        })
    return out


def spend_block(state: store.State) -> dict[str, Any]:
    cost = state["cost"]
    spent, cap, by_asset = cost["spent_usd"], cost["cap_usd"], cost["by_asset"]
    ratio = store.spend_ratio(spent, cap)
    return {
        "cap_usd": cap,
        "spent_usd": spent,
        "ratio": ratio,
        "level": store.spend_level(ratio),
        "by_asset": {a: by_asset.get(a, 0.0) for a in (*store.ASSETS, *[k for k in by_asset if k not in store.ASSETS])},
    }


def _outputs(state: dict[str, Any], name: str) -> dict[str, Any]:
    s = (state.get("steps") or {}).get(name)
    o = s.get("outputs") if isinstance(s, dict) else None
    return o if isinstance(o, dict) else {}


def _media(folder: disk.SessionFolder, session_id: str, rel: Any) -> dict[str, Any] | None:
    url = media_url(session_id, rel)
    if url is None:
        return None
    parts = sessionfiles.media_parts(rel)
    # "exists" means "would be served": checked exactly as /media checks it.
    return {"path": rel, "url": url, "exists": parts is not None and folder.has_file(parts)}


def calls_from_ledger(ledger: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per paid call: its estimate and, once made, its actual price."""
    calls: dict[str, dict[str, Any]] = {}
    for line in ledger:
        cid = str(line.get("call_id") or f"#{len(calls)}")
        c = calls.setdefault(cid, {
            "call_id": cid, "provider": line.get("provider"), "model": line.get("model"),
            "asset": line.get("asset"), "step": line.get("step"), "label": line.get("label"),
            "cache_key": line.get("cache_key"), "estimate_usd": None, "actual_usd": None,
            "estimated_at": None, "paid_at": None,
        })
        if line.get("phase") == "estimate":
            c["estimate_usd"], c["estimated_at"] = line.get("usd"), line.get("ts")
        elif line.get("phase") == "actual":
            c["actual_usd"], c["paid_at"] = line.get("usd"), line.get("ts")
    return list(calls.values())


def session_detail(root: Path, session_id: str, now: _dt.datetime, redactor: Redactor, *,
                   timeline_limit: int = DEFAULT_TIMELINE, include_progress: bool = False) -> dict[str, Any] | None:
    """Everything the session page shows; None when there is no such session folder."""
    try:
        folder = disk.open_session(root, session_id)
    except disk.Refused as exc:
        if exc.missing:
            return None
        return _detail(None, session_id, None, f"the session folder {exc.reason}", sessionfiles.Lines(),
                       sessionfiles.Lines(), now, redactor, timeline_limit, include_progress)
    with folder:
        state, reason = sessionfiles.read_state(folder)
        return _detail(folder, session_id, state, reason, sessionfiles.read_events(folder),
                       sessionfiles.read_ledger(folder), now, redactor, timeline_limit, include_progress)


def _provenance(folder: disk.SessionFolder) -> dict[str, Any] | None:
    """provenance.json as {"file": its object, "lines": one per asset (store.provenance_lines)},
    or None when the session has none (older) or it cannot be read."""
    try:
        prov = jsonsafe.loads(folder.read(store.PROVENANCE_FILE, PROVENANCE_MAX_BYTES), max_depth=8)
    except (disk.Refused, OSError, ValueError):
        return None
    if not isinstance(prov, dict):
        return None
    return {"file": prov, "lines": store.provenance_lines(prov)}


def _detail(folder: disk.SessionFolder | None, session_id: str, state: store.State | None, reason: str | None,
            event_lines: sessionfiles.Lines, ledger_lines: sessionfiles.Lines, now: _dt.datetime,
            redactor: Redactor, timeline_limit: int, include_progress: bool) -> dict[str, Any]:
    entry = build_entry(session_id, None, state, now, redactor, reason)
    events = event_lines.items
    ledger = ledger_lines.items
    timeline_total = len(events)
    if not include_progress:
        events = [e for e in events if e.get("type") != "progress"]
    timeline = events[-timeline_limit:] if timeline_limit else []
    base = {
        "id": session_id,
        "readable": state is not None,
        "row": entry.row,
        "timeline": timeline,
        "timeline_total": timeline_total,
        "ledger": ledger,
        "calls": calls_from_ledger(ledger),
        "ledger_total_usd": round(sum(float(l.get("usd") or 0) for l in ledger
                                      if l.get("phase") == "actual" and isinstance(l.get("usd"), (int, float))), 6),
        "notes": sessionfiles.notes(("events.jsonl", event_lines), ("ledger.jsonl", ledger_lines)),
    }
    if state is None or folder is None:
        return {**base, "status": "unreadable", "error": entry.row["error"], "params": None, "steps": [],
                "spend": None, "tracks": [], "media": {}, "metadata": None, "youtube": None,
                "actions": {"approve": False, "resume": False}}
    status = entry.row["status"]
    music = _outputs(state, "music")
    tracks = []
    for t in music.get("tracks") if isinstance(music.get("tracks"), list) else []:
        if not isinstance(t, dict):
            continue
        tracks.append({
            **{k: t.get(k) for k in ("index", "title", "seconds", "provider", "model", "bpm", "key")},
            "file": t.get("file"),
            "url": media_url(session_id, t.get("file")),
        })
    art, motion, render = _outputs(state, "artwork"), _outputs(state, "motion"), _outputs(state, "render")
    media = {
        "artwork": _media(folder, session_id, art.get("artwork")),
        "thumbnail": _media(folder, session_id, art.get("thumbnail")),
        "loop": _media(folder, session_id, motion.get("loop")),
        "final": _media(folder, session_id, render.get("final")),
        "mix": _media(folder, session_id, music.get("mix")),
        "ambience": _media(folder, session_id, music.get("ambience")),
    }
    steps = compact_steps(state, redactor)
    for s in steps:
        # A checkpoint is the runner's private bookmark; an upload's holds a resumable URI
        # that lets anyone holding it write to the video, so it never leaves the server.
        outputs = {k: v for k, v in _outputs(state, s["name"]).items() if k != "checkpoint"}
        s["outputs"] = outputs
    yt = state.get("youtube") if isinstance(state.get("youtube"), dict) else None
    return {
        **base,
        "status": status,
        "raw_status": state.get("status"),
        "params": state.get("params"),
        "created_at": state.get("created_at"),
        "updated_at": state.get("updated_at"),
        "finished_at": state.get("finished_at"),
        "heartbeat_at": state.get("heartbeat_at"),
        "title": entry.row["title"],
        "error": state.get("error"),
        "halt": state.get("halt"),
        "attention": state.get("attention"),
        "steps": steps,
        "spend": spend_block(state),
        "tracks": tracks,
        "media": media,
        "metadata": sessionfiles.read_metadata(folder, _outputs(state, "metadata").get("metadata")),
        "provenance": _provenance(folder),
        "youtube": {"id": yt.get("id"), "url": youtube_url(yt), "privacy": yt.get("privacy"),
                    "privacy_note": yt.get("privacy_note")} if yt else None,
        "actions": {"approve": status == "awaiting_review", "resume": status in RESUMABLE},
        "live": status in MOVING,
    }
