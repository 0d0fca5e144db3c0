"""200 random mutations of valid session files, all in one data root: every route still
answers 200 or 404, the healthy sessions still read right, and the live watcher publishes
no error.

Mutations: a value's type swapped, a field deleted, a value nested hundreds or thousands
of levels deep, NaN or Infinity, a huge string, invalid UTF-8, random binary, a truncated
file; in state.json, events.jsonl, ledger.jsonl, metadata.json and the log. The seed is
fixed, so a failure names a reproducible case (its session id carries its number).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

from runner import store
from studio import query
from test_studio_support import (NOW, add_event, add_ledger, body_bytes, call, get_json, log, make_app,
                                 make_session, sid)

SEED = 20261121
CASES = 200
NEST = "\u0000nest\u0000"      # replaced in the encoded bytes by deep nesting
BADUTF = "\u0000utf\u0000"     # replaced by bytes that are not UTF-8
HUGE = "\u0000huge\u0000"      # replaced by a long string (cheaper than building it in JSON)


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*at, i))
    return out


def _random_value(rng: random.Random) -> Any:
    return rng.choice([None, True, False, 0, -1, 2**70, 1.5, "", "text", [], {}, [1, "a"], {"a": {"b": 1}},
                       NEST, BADUTF, HUGE, float("nan"), float("inf"), float("-inf"), "2026-13-45T99:99:99Z"])


def mutate_value(rng: random.Random, doc: Any) -> Any:
    """doc with one random change at a random place (the root included)."""
    path = rng.choice(_paths(doc))
    if not path:
        return _random_value(rng)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    key = path[-1]
    if rng.random() < 0.25:
        del parent[key]                      # a field (or list item) deleted
    else:
        parent[key] = _random_value(rng)     # its type swapped, or nested, NaN, huge, bad UTF-8
    return doc


def encode(rng: random.Random, doc: Any) -> bytes:
    data = json.dumps(doc).encode()          # NaN and Infinity come out as bare tokens
    depth = rng.choice([40, 70, 500, 3000])
    data = data.replace(json.dumps(NEST).encode(), b"[" * depth + b"]" * depth)
    data = data.replace(json.dumps(BADUTF).encode(), b'"\xff\xfe\xc3"')
    data = data.replace(json.dumps(HUGE).encode(), json.dumps("x" * rng.choice([70_000, 1_100_000])).encode())
    return data


def corrupt_bytes(rng: random.Random, data: bytes) -> bytes:
    kind = rng.choice(["truncate", "binary", "insert"])
    if kind == "truncate":
        return data[: rng.randrange(len(data) + 1)]
    if kind == "binary":
        return rng.randbytes(rng.choice([1, 100, 5000]))
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.randbytes(rng.randrange(1, 64)) + data[at:]


def plant_case(root: Path, n: int, rng: random.Random) -> str:
    """A full valid session, then one random mutation of one of its files."""
    session_id = sid(n, slug=f"fuzz-{n}")
    running = rng.random() < 0.4
    make_session(root, session_id, status="running" if running else "completed", steps_done=4 if running else 7,
                 pid=os.getpid() if running else None, heartbeat=NOW if running else None,
                 title=f"fuzz {n}", media=True, error=None)
    folder = store.session_dir(root, session_id)
    for name in ("artwork.png", "thumbnail.jpg", "final.mp4"):
        (folder / name).write_bytes(b"media")
    state = json.loads((folder / "state.json").read_text())
    state["steps"]["metadata"]["outputs"] = {"metadata": "metadata.json"}
    (folder / "state.json").write_text(json.dumps(state))
    (folder / "metadata.json").write_text(json.dumps({"title": "t", "description": "d", "tags": ["lofi"]}))
    for seq in range(1, 4):
        add_event(root, session_id, seq, "step_done", f"event {seq}", step="music", ts=NOW, seconds=1.0)
    add_ledger(root, session_id, "c1", 0.1, phase="estimate")
    add_ledger(root, session_id, "c1", 0.1, phase="actual")
    target = rng.choice(["state.json"] * 5 + ["events.jsonl", "ledger.jsonl", "metadata.json"])
    path = folder / target
    if rng.random() < 0.2:
        path.write_bytes(corrupt_bytes(rng, path.read_bytes()))
    elif target.endswith(".jsonl"):
        lines = path.read_text().splitlines()
        i = rng.randrange(len(lines))
        lines[i] = encode(rng, mutate_value(rng, json.loads(lines[i]))).decode("utf-8", "surrogateescape")
        path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    else:
        path.write_bytes(encode(rng, mutate_value(rng, json.loads(path.read_text()))))
    return session_id


def test_200_mutated_sessions_break_nothing(root):
    rng = random.Random(SEED)
    healthy = [sid(90000 + i, slug="healthy") for i in range(3)]
    for h in healthy:
        make_session(root, h, title="healthy", spent=0.5)
    cases = [plant_case(root, n, rng) for n in range(CASES)]
    log(root, "a good line", session=healthy[0])
    with open(store.log_path(root), "ab") as fh:
        fh.write(rng.randbytes(3000) + b"\n" + b"\xff" * 300_000 + b"\n" + b"[" * 5000 + b"\n")
    log(root, "the last good line", session=healthy[0])

    app = make_app(root, launcher=False, now=lambda: NOW)
    # The live watcher sweeps and follows every session in motion; nothing it meets may fail.
    assert app.hub.subscribe()
    try:
        app.watcher.step()
        app.watcher.step()
        bad: list[tuple[str, int]] = []

        def check(method: str, path: str, allowed: tuple[int, ...] = (200, 404)) -> None:
            resp = call(app, method, path, body={} if method == "POST" else None, write=method == "POST")
            body_bytes(resp)
            if resp.status not in allowed:
                bad.append((path, resp.status))

        sorts = [s for key in query.SORTABLE for s in (key, "-" + key)]
        for path in ["/api/sessions?limit=10000", "/api/kpis?series=10000", "/api/sessions.csv",
                     "/api/sessions.json", "/api/launcher", "/api/logs?limit=2000", "/api/logs?q=good",
                     "/api/logs?after=0&limit=2000", "/api/sessions?q=fuzz", "/api/sessions?status=unreadable",
                     "/api/sessions?from=2026-11-21&to=2026-11-22", "/api/config", "/",
                     *[f"/api/sessions?sort={s}" for s in sorts]]:
            check("GET", path)
        for session_id in cases + healthy:
            for path in (f"/api/sessions/{session_id}", f"/api/sessions/{session_id}?progress=1",
                         f"/api/sessions/{session_id}/events", f"/api/sessions/{session_id}/ledger",
                         f"/media/{session_id}/artwork.png", f"/media/{session_id}/tracks/01.wav"):
                check("GET", path)
            # The launcher is off: refused (403 off, 409 not resumable), never an error reading it.
            check("POST", f"/api/sessions/{session_id}/resume", (403, 404, 409))
        stream = call(app, "GET", "/api/stream")
        assert stream.status == 200 and next(iter(stream.body)).startswith(b"retry:")
        stream.body.close()
        assert bad == [], bad[:10]

        rows = {r["id"]: r for r in get_json(app, "/api/sessions?limit=10000")["items"]}
        assert len(rows) == CASES + len(healthy)
        for h in healthy:
            assert rows[h]["readable"] and rows[h]["title"] == "healthy" and rows[h]["spent_usd"] == 0.5
        unreadable = [r for r in rows.values() if not r["readable"]]
        assert all(r["error"] and r["status"] == "unreadable" for r in unreadable)
        # The mutations reach both sides: states refused whole, and sessions read with bad parts.
        assert len(unreadable) >= 20 and CASES - len(unreadable) >= 20, len(unreadable)
        kpis = get_json(app, "/api/kpis")
        assert kpis["sessions"] == len(rows) and kpis["unreadable"] == len(unreadable)
        lines = get_json(app, "/api/logs?limit=2000")["lines"]
        assert lines[-1]["message"] == "the last good line"
        errors = [e for e in app.hub.since(app.hub.start_seq) or [] if e.type == "error"]
        assert errors == [], errors[:3]
    finally:
        app.hub.unsubscribe()
        app.close()
