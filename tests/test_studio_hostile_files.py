"""Files planted where the studio reads: one bad session never breaks the others, and no file
is read through a link, as a FIFO, through a second hard link or without a size bound.

Each attack plants its file in a temp data root; every defence named here is in
studio/disk.py (opening), studio/sessionfiles.py (lines) or store.decode_state (the model).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from runner import store
from studio import disk, sessionfiles
from test_studio_support import (SECRET, SSEClient, add_event, add_ledger, body_bytes, call, get_json, log,
                                 make_app, make_session, serving, sid, wait_for_sweeps)


def routes(session_id: str) -> list[str]:
    """Every read route the page uses, for one session id."""
    return ["/api/sessions", "/api/sessions?q=rain&sort=title", "/api/sessions?sort=-spent_usd",
            "/api/sessions?sort=created_at", "/api/sessions?status=unreadable", "/api/kpis",
            "/api/sessions.csv", "/api/sessions.json", "/api/launcher", "/api/logs",
            f"/api/sessions/{session_id}", f"/api/sessions/{session_id}/events",
            f"/api/sessions/{session_id}/ledger", f"/media/{session_id}/artwork.png", "/", "/api/config"]


def answers(app: Any, session_id: str) -> dict[str, int]:
    """Status of every route, the stream included (its body is closed after the first bytes)."""
    out = {}
    for path in routes(session_id):
        resp = call(app, "GET", path)
        body_bytes(resp)
        out[path] = resp.status
    stream = call(app, "GET", "/api/stream")
    out["/api/stream"] = stream.status
    if stream.status == 200:
        assert next(iter(stream.body)).startswith(b"retry:")
        stream.body.close()
    return out


def in_thread(fn: Any, timeout: float = 20.0) -> Any:
    """fn() on a daemon thread; fails (instead of hanging the suite) when it does not return."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "the studio hung reading a planted file"
    if "error" in box:
        raise box["error"]
    return box["value"]


def healthy_neighbour(root: Path) -> str:
    make_session(root, sid(1), title="the good one", spent=0.5)
    return sid(1)


def row_of(app: Any, session_id: str) -> dict[str, Any]:
    items = get_json(app, "/api/sessions?limit=10000")["items"]
    return next(r for r in items if r["id"] == session_id)


# ------------------------------------------------------------------ 1. one bad session

def _write_state_bytes(root: Path, session_id: str, data: bytes) -> None:
    folder = store.session_dir(root, session_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.json").write_bytes(data)


def _mutated_state(root: Path, session_id: str, change: Any) -> None:
    state = make_session(root, session_id)
    change(state)
    _write_state_bytes(root, session_id, json.dumps(state).encode())


BAD_STATES = {
    "nested 900 levels": lambda s: s.update(extra=json.loads("[" * 900 + "]" * 900)),
    "a step that is not an object": lambda s: s["steps"].update(music=[1, 2]),
    "created_at a number": lambda s: s.update(created_at=1764547200),
    "spent_usd NaN": lambda s: s["cost"].update(spent_usd=float("nan")),
    "spent_usd Infinity": lambda s: s["cost"].update(spent_usd=float("inf")),
    "cap a string": lambda s: s["cost"].update(cap_usd="2"),
    "steps a list": lambda s: s.update(steps=[]),
    "params missing": lambda s: s.pop("params"),
    "progress a list": lambda s: s["steps"]["music"].update(status="running", progress=[50]),
    "title an object": lambda s: s.update(title={"a": 1}),
    "status unknown": lambda s: s.update(status="exploded"),
    "season a number": lambda s: s["params"].update(season=3),
}


@pytest.mark.parametrize("name", list(BAD_STATES))
def test_one_misshapen_state_is_one_unreadable_row_and_every_route_answers(root, name):
    good = healthy_neighbour(root)
    bad = sid(2)
    _mutated_state(root, bad, BAD_STATES[name])
    app = make_app(root)
    assert set(answers(app, bad).values()) <= {200, 404}, answers(app, bad)
    assert answers(app, good)[f"/api/sessions/{good}"] == 200
    row = row_of(app, bad)
    assert row["readable"] is False and row["status"] == "unreadable" and row["error"]
    assert row_of(app, good)["title"] == "the good one"
    detail = get_json(app, f"/api/sessions/{bad}")
    assert detail["readable"] is False and detail["error"] == row["error"]
    assert get_json(app, "/api/kpis")["unreadable"] == 1


def test_a_state_nested_3000_levels_deep_is_unreadable(root):
    healthy_neighbour(root)
    _write_state_bytes(root, sid(2), b'{"id": ' + b"[" * 3000 + b"]" * 3000 + b"}")
    app = make_app(root)
    assert set(answers(app, sid(2)).values()) <= {200, 404}
    assert "nested" in row_of(app, sid(2))["error"]


def test_a_bad_events_line_is_skipped_with_a_note_and_later_lines_still_count(root):
    s = healthy_neighbour(root)
    add_event(root, s, 1, "step_started", "first", step="artwork")
    path = store.session_dir(root, s) / "events.jsonl"
    with open(path, "ab") as fh:
        fh.write(b'{"seq": 2, "ts": NaN}\n' + b"[" * 3000 + b"\n" + b'{"seq": "3"}\n' + b"\xff\xfe\n" + b"[1]\n")
    add_event(root, s, 7, "step_done", "last", step="artwork")
    app = make_app(root)
    d = get_json(app, f"/api/sessions/{s}")
    assert [e["message"] for e in d["timeline"]] == ["first", "last"]
    assert d["notes"] == ["events.jsonl: 5 lines skipped (not a JSON object of the documented shape)"]
    events = get_json(app, f"/api/sessions/{s}/events")
    assert [e["seq"] for e in events["events"]] == [1, 7] and events["notes"]


def test_a_bad_events_line_does_not_stop_the_stream(root):
    state = make_session(root, sid(1), status="running", steps_done=3, pid=os.getpid(),
                         heartbeat=store.utc_now())
    app = make_app(root, now=store.utc_now, tick=0.05, heartbeat_s=0.3, stream_poll_s=0.05)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        wait_for_sweeps(app)
        path = store.session_dir(root, sid(1)) / "events.jsonl"
        with open(path, "ab") as fh:
            fh.write(b'{"seq": 1, "ts": Infinity, "type": "x"}\n' + b"[" * 5000 + b"\n")
        add_event(root, sid(1), 2, "step_done", "still streaming", step="music", ts=store.utc_now())
        ev = c.wait_for("timeline", message="still streaming")
        assert ev["data"]["session"] == sid(1)
        c.close()
    assert state["id"] == sid(1)


def test_an_event_nested_900_levels_deep_goes_out_cut_to_32(root):
    """Deep enough to break any recursive encoder, shallow enough for the parser to accept."""
    s = healthy_neighbour(root)
    with open(store.session_dir(root, s) / "events.jsonl", "ab") as fh:
        fh.write(b'{"seq": 1, "ts": "2026-11-21T12:00:00.000Z", "type": "log", "step": null, "message": "deep", '
                 b'"data": ' + b"[" * 900 + b"]" * 900 + b"}\n")
    app = make_app(root)
    for path in (f"/api/sessions/{s}", f"/api/sessions/{s}/events"):
        resp = call(app, "GET", path)
        assert resp.status == 200, path
    event = get_json(app, f"/api/sessions/{s}/events")["events"][0]
    depth, value = 0, event["data"]
    while isinstance(value, list) and value:
        depth, value = depth + 1, value[0]
    assert event["message"] == "deep" and value is None and depth < 40


def test_a_bad_ledger_line_is_skipped_and_the_calls_still_add_up(root):
    s = healthy_neighbour(root)
    add_ledger(root, s, "c1", 0.25, phase="estimate")
    with open(store.session_dir(root, s) / "ledger.jsonl", "ab") as fh:
        fh.write(b'{"call_id": ["x"], "usd": 1}\n{"call_id": "c2", "usd": NaN}\n{"usd": "1"}\n')
    add_ledger(root, s, "c1", 0.25, phase="actual")
    app = make_app(root)
    d = get_json(app, f"/api/sessions/{s}")
    assert [c["call_id"] for c in d["calls"]] == ["c1"] and d["ledger_total_usd"] == 0.25
    assert d["notes"] == ["ledger.jsonl: 3 lines skipped (not a JSON object of the documented shape)"]
    assert get_json(app, f"/api/sessions/{s}/ledger")["calls"][0]["actual_usd"] == 0.25


# ------------------------------------------------------------------ 2. regular files only

def _fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


@pytest.mark.parametrize("name", ["state.json", "events.jsonl", "ledger.jsonl", "metadata.json", "artwork.png"])
def test_a_fifo_in_a_session_hangs_nothing(root, name):
    good = healthy_neighbour(root)
    make_session(root, sid(2), steps_done=7)
    folder = store.session_dir(root, sid(2))
    state = json.loads((folder / "state.json").read_text())
    state["steps"]["metadata"]["outputs"] = {"metadata": "metadata.json"}
    (folder / "state.json").write_text(json.dumps(state))
    _fifo(folder / name)
    app = make_app(root)
    statuses = in_thread(lambda: answers(app, sid(2)))
    assert set(statuses.values()) <= {200, 404}
    assert statuses[f"/media/{sid(2)}/artwork.png"] == 404
    assert in_thread(lambda: row_of(app, good))["readable"]
    if name == "state.json":
        assert row_of(app, sid(2))["error"] == "state.json is a FIFO"


def test_a_fifo_as_the_log_hangs_nothing(root):
    healthy_neighbour(root)
    store.log_path(root).parent.mkdir(parents=True, exist_ok=True)
    _fifo(store.log_path(root))
    app = make_app(root)
    page = in_thread(lambda: get_json(app, "/api/logs"))
    assert page["lines"] == [] and page["size"] == 0


def test_a_state_linked_to_dev_zero_or_to_another_state_is_refused(root):
    healthy_neighbour(root)
    make_session(root, sid(2))
    make_session(root, sid(3))
    os.unlink(store.session_dir(root, sid(2)) / "state.json")
    os.symlink("/dev/zero", store.session_dir(root, sid(2)) / "state.json")
    other = store.session_dir(root, sid(1)) / "state.json"
    os.unlink(store.session_dir(root, sid(3)) / "state.json")
    os.symlink(other, store.session_dir(root, sid(3)) / "state.json")
    app = make_app(root)
    assert set(in_thread(lambda: answers(app, sid(2))).values()) <= {200, 404}
    assert row_of(app, sid(2))["error"] == "state.json is a symbolic link"
    assert row_of(app, sid(3))["error"] == "state.json is a symbolic link"


def test_a_session_folder_that_is_a_link_is_unreadable(root, tmp_path):
    healthy_neighbour(root)
    elsewhere = tmp_path / "elsewhere"
    make_session(tmp_path / "other-root", sid(2))
    os.rename(store.session_dir(tmp_path / "other-root", sid(2)), elsewhere)
    os.symlink(elsewhere, store.session_dir(root, sid(2)))
    app = make_app(root)
    assert row_of(app, sid(2))["error"] == "the session folder is a symbolic link"
    assert get_json(app, f"/api/sessions/{sid(2)}")["readable"] is False


@pytest.mark.parametrize("name", ["events.jsonl", "ledger.jsonl"])
def test_events_or_ledger_linked_outside_the_folder_are_not_served(root, tmp_path, name):
    s = healthy_neighbour(root)
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps({"seq": 1, "ts": "2026-11-21T12:00:00.000Z", "type": "log", "step": None,
                                   "message": "outside " + SECRET, "data": {}, "call_id": "leak",
                                   "usd": 1.0, "phase": "actual"}) + "\n")
    os.symlink(outside, store.session_dir(root, s) / name)
    app = make_app(root)
    for path in (f"/api/sessions/{s}", f"/api/sessions/{s}/events", f"/api/sessions/{s}/ledger"):
        body = body_bytes(call(app, "GET", path))
        assert b"outside" not in body and b"leak" not in body, path
    assert get_json(app, f"/api/sessions/{s}")["notes"] == [f"{name} is a symbolic link; nothing of it is shown"]


@pytest.mark.parametrize("name", ["artwork.png", "events.jsonl", "ledger.jsonl", "state.json"])
def test_a_hard_link_to_env_is_not_served(root, name):
    s = healthy_neighbour(root)
    env = root / ".env"
    env.write_text(json.dumps({"seq": 1, "ts": "2026-11-21T12:00:00.000Z", "type": "log", "message": SECRET,
                               "call_id": SECRET, "usd": 0}) + "\n")
    target = store.session_dir(root, s) / name
    target.unlink(missing_ok=True)
    os.link(env, target)
    app = make_app(root)
    for path in routes(s):
        assert SECRET.encode() not in body_bytes(call(app, "GET", path)), path
    assert call(app, "GET", f"/media/{s}/artwork.png").status == 404
    if name == "state.json":
        assert row_of(app, s)["error"] == "state.json has 2 hard links"


def test_a_log_that_is_a_link_or_a_second_name_is_not_read(root):
    env = root / ".env"
    env.write_text(f"2026-11-21T12:00:00.000Z INFO  [{sid(1)}] music: {SECRET}\n")
    store.log_path(root).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(env, store.log_path(root))
    app = make_app(root)
    assert get_json(app, "/api/logs")["lines"] == []
    os.unlink(store.log_path(root))
    os.link(env, store.log_path(root))
    assert get_json(app, "/api/logs")["lines"] == []
    os.unlink(store.log_path(root))
    log(root, "plain line")
    assert [l["message"] for l in get_json(app, "/api/logs")["lines"]] == ["plain line"]


def test_media_swapped_for_a_link_after_opening_still_serves_the_opened_file(root, tmp_path):
    s = healthy_neighbour(root)
    folder = store.session_dir(root, s)
    (folder / "artwork.png").write_bytes(b"PNG-the-real-one")
    env = tmp_path / ".env"
    env.write_text(f"FAL_KEY={SECRET}\n")
    app = make_app(root)
    resp = call(app, "GET", f"/media/{s}/artwork.png")
    # The file is swapped for a link to .env between the open and the read of the body.
    os.unlink(folder / "artwork.png")
    os.symlink(env, folder / "artwork.png")
    assert resp.status == 200 and body_bytes(resp) == b"PNG-the-real-one"
    assert call(app, "GET", f"/media/{s}/artwork.png").status == 404


def test_media_swapped_for_a_link_during_requests_never_serves_the_link(root, tmp_path):
    s = healthy_neighbour(root)
    folder = store.session_dir(root, s)
    env = tmp_path / ".env"
    env.write_text(f"FAL_KEY={SECRET}\n")
    real = tmp_path / "real.png"
    real.write_bytes(b"PNG")
    stop = threading.Event()

    def swap() -> None:
        tmp_link, tmp_file = folder / ".l", folder / ".f"
        while not stop.is_set():
            os.symlink(env, tmp_link)
            os.replace(tmp_link, folder / "artwork.png")
            tmp_file.write_bytes(b"PNG")
            os.replace(tmp_file, folder / "artwork.png")

    app = make_app(root)
    swapper = threading.Thread(target=swap, daemon=True)
    swapper.start()
    try:
        served = [body_bytes(call(app, "GET", f"/media/{s}/artwork.png")) for _ in range(2000)]
    finally:
        stop.set()
        swapper.join(5)
    assert not any(SECRET.encode() in b for b in served)
    assert b"PNG" in served   # the real file was served in between


def test_sizes_are_capped(root):
    s = healthy_neighbour(root)
    big = sid(2)
    make_session(root, big)
    folder = store.session_dir(root, big)
    state = json.loads((folder / "state.json").read_text())
    state["title"] = "x" * (store.MAX_STATE_BYTES + 10)
    (folder / "state.json").write_text(json.dumps(state))
    with open(store.session_dir(root, s) / "ledger.jsonl", "wb") as fh:
        fh.write(b" " * (sessionfiles.MAX_LEDGER_BYTES + 1))
    events = store.session_dir(root, s) / "events.jsonl"
    line = json.dumps({"seq": 0, "ts": "2026-11-21T12:00:00.000Z", "type": "log", "step": None,
                       "message": "m" * 1000, "data": {}}).encode() + b"\n"
    with open(events, "wb") as fh:
        fh.write(line * ((sessionfiles.EVENTS_WINDOW // len(line)) * 2))
    app = make_app(root)
    assert row_of(app, big)["error"] == "state.json is larger than 8 MiB"
    d = get_json(app, f"/api/sessions/{s}")
    assert d["notes"] == ["ledger.jsonl is larger than 4 MiB; nothing of it is shown"]
    assert d["timeline_total"] <= sessionfiles.EVENTS_WINDOW // len(line)


def test_no_file_is_read_while_the_index_lock_is_held(root, monkeypatch):
    """A sweep stuck reading one state.json leaves the index readable by every request."""
    healthy_neighbour(root)
    app = make_app(root)
    assert row_of(app, sid(1))["readable"]            # the first sweep is done
    make_session(root, sid(2))
    reading, release = threading.Event(), threading.Event()
    real = disk.read_in

    def slow(dir_fd: int, folder: str, *args: Any) -> Any:
        if folder == sid(2):
            reading.set()
            release.wait(20)
        return real(dir_fd, folder, *args)

    monkeypatch.setattr(disk, "read_in", slow)
    sweeper = threading.Thread(target=lambda: app.index.refresh(store.utc_now(), 1e9), daemon=True)
    sweeper.start()
    try:
        assert reading.wait(10)
        # Requests neither wait for the sweep nor see half of it.
        page = in_thread(lambda: get_json(app, "/api/sessions"), timeout=5)
        assert [r["id"] for r in page["items"]] == [sid(1)]
        assert in_thread(lambda: app.index.moving(), timeout=5) == []
    finally:
        release.set()
        sweeper.join(10)
    assert not sweeper.is_alive()
    assert {r["id"] for r in in_thread(lambda: get_json(app, "/api/sessions"), timeout=5)["items"]} == {sid(1), sid(2)}
