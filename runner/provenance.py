"""provenance.json: where every track, the artwork, the loop and the ambience came from.

Content ID disputes ask for exactly this: for a person's file, its path (relative to the data
root when inside it) and SHA-256; for a made one, the provider, model, the service's request
id, the prompt and the seed; and the licence text or note given with --license-note. It is
made from the session's state alone (the origins the steps recorded, state.own for files not
used yet), written when the session is created and again after every step, so it is there
even for a run that stopped half-way. docs/format.md describes the file.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Mapping

from . import store

NAME = store.PROVENANCE_FILE
SCHEMA = 1


def build(state: store.State, now: _dt.datetime | None = None) -> dict[str, Any]:
    """The provenance of state's session as of now (what is not made yet is null)."""
    params = state["params"]
    steps = state["steps"]
    own = state.get("own") or {}
    art, motion, music = (steps[s]["outputs"] for s in ("artwork", "motion", "music"))
    tracks = [_track(t) for t in music.get("tracks") or [] if isinstance(t, dict)]
    if not tracks and isinstance(own.get("music"), dict):  # checked, not mastered yet
        tracks = [{"index": i, "title": t.get("title"), "artist": t.get("artist"), **_file(t)}
                  for i, t in enumerate(own["music"].get("tracks") or [], 1)]
    return {
        "schema": SCHEMA,
        "session": state["id"],
        "written_at": store.iso(now),
        "license_note": params.get("license_note"),
        "artwork": _asset(art.get("origin"), own.get("artwork") or (own.get("loop") if params.get("loop") else None)),
        "loop": _asset(motion.get("origin"), own.get("loop")),
        "tracks": tracks,
        "ambience": _asset(music.get("ambience_origin"), None),
    }


def write(session_dir: Path, state: store.State, now: _dt.datetime | None = None) -> None:
    """Write provenance.json beside state.json (atomically)."""
    store.atomic_write_json(Path(session_dir) / NAME, build(state, now))


def _file(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"source": "file", "path": entry.get("path"), "sha256": entry.get("sha256")}


def _asset(origin: Any, kept: Any) -> dict[str, Any] | None:
    """An origin recorded by a step, or the checked file a step has not used yet, or null."""
    if isinstance(origin, dict):
        if origin.get("provider") == "own":
            return {**_file(origin), **{k: v for k, v in origin.items() if k not in ("provider", "path", "sha256")}}
        return {"source": "generated", **{k: origin.get(k) for k in ("provider", "model", "request_id", "prompt",
                                                                       "seed")}}
    if isinstance(kept, dict):
        return _file(kept)
    return None


def _track(t: dict[str, Any]) -> dict[str, Any]:
    entry = {"index": t.get("index"), "title": t.get("title"), "artist": t.get("artist")}
    made = _asset(t.get("origin"), None)
    if made is None:  # a track made before origins were recorded
        made = {"source": "generated", "provider": t.get("provider"), "model": t.get("model"), "request_id": None,
                "prompt": None, "seed": None}
    return {**entry, **made}



def read(session_dir: Path) -> dict[str, Any] | None:
    """provenance.json of a session, or None when it is missing or not a JSON object."""
    import json  # noqa: PLC0415

    try:
        data = json.loads((Path(session_dir) / NAME).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
