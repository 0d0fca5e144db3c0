"""`python -m runner prune`: free the disk that finished sessions no longer need.

A session folder holds, besides its record, what it was made from: the tracks, the mix,
the ambience bed (about 1.6 GB an hour of video as WAV). Once a session is completed those
are intermediates. What each `--keep` leaves:

    finals (default)  the record, artwork.png, thumbnail.jpg, loop.mp4 and final.mp4
    all               everything but scratch a killed run left behind (dot-files, .master-*)
    none              the record, artwork.png and thumbnail.jpg; final.mp4 and loop.mp4 go
                      too, but only for sessions already uploaded (the others keep them)

The record (state.json, events.jsonl, ledger.jsonl, metadata.json, provenance.json) is never
touched. Only completed sessions finished longer ago than --older-than are pruned; a running,
awaiting-review, failed, halted or interrupted session is never touched, and each session is
pruned under its own lock, so a `resume` starting at the same moment waits its turn.
Nothing is followed: a symlink inside a session is removed as a link, never its target.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import store

KEEPS = ("finals", "all", "none")
RECORD = frozenset({"state.json", "events.jsonl", "ledger.jsonl", "metadata.json", "provenance.json", ".lock"})
COVER = frozenset({"artwork.png", "thumbnail.jpg"})
FINALS = frozenset({"final.mp4", "loop.mp4"})
DEFAULT_OLDER_THAN = "14d"


class PruneError(ValueError):
    """Bad prune options; one line for a person."""


def parse_age(text: str) -> dt.timedelta:
    """'14d', '12h', '30m' or '0' as a timedelta."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm]?)\s*", text or "")
    if not m or (not m.group(2) and float(m.group(1)) != 0):
        raise PruneError(f"--older-than takes an age like 14d, 12h or 30m, got {text!r}")
    n = float(m.group(1))
    return dt.timedelta(days=n) if m.group(2) == "d" else dt.timedelta(hours=n) if m.group(2) == "h" \
        else dt.timedelta(minutes=n)


@dataclass
class Candidate:
    """One session's removable files: (path inside the session, bytes)."""

    session_id: str
    finished_at: str
    keep: str                       # what is kept for this session (none falls back to finals)
    files: list[tuple[str, int]] = field(default_factory=list)
    note: str | None = None

    @property
    def bytes(self) -> int:
        return sum(size for _, size in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.session_id, "finished_at": self.finished_at, "keep": self.keep, "bytes": self.bytes,
                "files": [{"path": p, "bytes": b} for p, b in self.files], "note": self.note}


def removable(session: Path, keep: str) -> list[tuple[str, int]]:
    """What `keep` lets go in this folder: top-level names and their bytes (folders summed)."""
    out = []
    try:
        entries = sorted(os.scandir(session), key=lambda e: e.name)
    except OSError:
        return []
    for entry in entries:
        name = entry.name
        if name in RECORD or name in COVER:
            continue
        scratch = name.startswith(".")
        if keep == "all" and not scratch:
            continue
        if keep == "finals" and name in FINALS:
            continue
        out.append((name + ("/" if entry.is_dir(follow_symlinks=False) else ""), store.tree_bytes(Path(entry.path))))
    return out


def candidates(root: Path, *, older_than: dt.timedelta, keep: str, now: dt.datetime) -> list[Candidate]:
    """Every session prune may shrink now, oldest first, with what it would remove."""
    if keep not in KEEPS:
        raise PruneError(f"--keep takes one of: {', '.join(KEEPS)}; got {keep!r}")
    out = []
    for sid in sorted(store.list_session_ids(root)):
        state = store.read_state(root, sid)
        cand = _candidate(root, sid, state, older_than, keep, now) if state else None
        if cand is not None and cand.files:
            out.append(cand)
    return out


def _candidate(root: Path, sid: str, state: store.State, older_than: dt.timedelta, keep: str,
               now: dt.datetime) -> Candidate | None:
    if store.effective_status(state, now) != "completed":
        return None
    finished = store.parse_iso(state.get("finished_at")) or store.parse_iso(state.get("updated_at"))
    if finished is None or now - finished < older_than:
        return None
    own_keep, note = keep, None
    if keep == "none" and not (state.get("youtube") or {}).get("id"):
        own_keep, note = "finals", "not uploaded, so final.mp4 stays"
    return Candidate(sid, str(state.get("finished_at")), own_keep,
                     removable(store.session_dir(root, sid), own_keep), note)


def remove(root: Path, cand: Candidate, now: dt.datetime) -> int:
    """Remove a candidate's files under the session's lock; the bytes freed (0 when it is busy).

    The state is read again under the lock: a session resumed since the listing is left alone.
    """
    folder = store.session_dir(root, cand.session_id)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            cand.note = "in use by a runner; left alone"
            return 0
        state = store.read_state(root, cand.session_id)
        if state is None or store.effective_status(state, now) != "completed":
            cand.note = "no longer completed; left alone"
            return 0
        freed, count = 0, 0
        for rel, size in removable(folder, cand.keep):
            target = folder / rel.rstrip("/")
            try:
                if target.is_dir() and not target.is_symlink():
                    shutil.rmtree(target)
                else:
                    target.unlink()
            except FileNotFoundError:
                continue
            freed += size
            count += 1
        record: dict[str, Any] = dict(state.get("pruned") or {})
        state["pruned"] = {"at": store.iso(now), "keep": cand.keep,
                           "freed_bytes": int(record.get("freed_bytes") or 0) + freed,
                           "removed": sorted(set(record.get("removed") or []) | {r for r, _ in cand.files})}
        state["disk_bytes"] = store.tree_bytes(folder)
        store.write_state(root, state, now)
        return freed
    finally:
        os.close(fd)
