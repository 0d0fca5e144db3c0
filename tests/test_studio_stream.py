"""GET /api/stream: live session, timeline and log events over real sockets."""

from __future__ import annotations

import os
import socket
import time

import pytest

from runner import store
from studio import sse
from test_studio_support import (NOW, SSEClient, add_event, at, fetch, log, make_app, make_session, serving, sid,
                                 write_state)

FAST = {"tick": 0.05, "heartbeat_s": 0.3, "stream_poll_s": 0.05}


def running_session(root, n=1):
    return make_session(root, sid(n), status="running", steps_done=3, pid=os.getpid(), heartbeat=NOW)


def wait_until(cond, timeout=3.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_a_state_change_reaches_the_client_within_a_second(root):
    state = running_session(root)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        assert c.status == 200 and "text/event-stream" in c.headers
        hello = c.wait_for("hello")
        assert hello["data"]["resumed"] is False
        state["steps"]["music"]["progress"] = {"done": 3, "total": 4, "percent": 75.0, "label": "music 3/4"}
        t = time.monotonic()
        write_state(root, state)
        ev = c.wait_for("session", id=sid(1))
        assert time.monotonic() - t < 1.0
        music = next(s for s in ev["data"]["steps"] if s["name"] == "music")
        assert music["progress"]["percent"] == 75.0 and ev["data"]["row"]["status"] == "running"
        assert ev["data"]["spend"]["cap_usd"] == 2.0
        c.close()


def test_log_lines_and_timeline_events_are_streamed_redacted(root):
    running_session(root)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        assert wait_until(lambda: app.watcher.ticks >= 2)
        log(root, f"key is FAL_KEY=whatever123456 in /home/porsuk/x", session=sid(1))
        ev = c.wait_for("log")
        assert ev["data"]["session"] == sid(1) and "whatever123456" not in ev["data"]["message"]
        assert "~/x" in ev["data"]["message"]
        add_event(root, sid(1), 1, "step_started", "render started", step="render", ts=at(5))
        add_event(root, sid(1), 2, "progress", "render 10%", step="render", ts=at(6))
        add_event(root, sid(1), 3, "step_done", "render done", step="render", ts=at(7))
        first = c.wait_for("timeline")
        second = c.wait_for("timeline")
        assert [first["data"]["seq"], second["data"]["seq"]] == [1, 3]   # progress ticks ride on "session"
        assert first["data"]["session"] == sid(1)
        c.close()


def test_ids_are_monotonic_and_a_reconnect_with_last_event_id_resumes_exactly(root):
    state = running_session(root)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        assert wait_until(lambda: app.watcher.ticks >= 2)
        log(root, "one", session=sid(1))
        log(root, "two", session=sid(1))
        a = c.wait_for("log")
        b = c.wait_for("log")
        assert b["id"] > a["id"]
        last = b["id"]
        c.close()
        assert wait_until(lambda: not app.watcher.running)
        # While nobody listens: a log line and a state change.
        log(root, "three", session=sid(1))
        state["steps"]["music"]["status"] = "done"
        write_state(root, state)
        c2 = SSEClient(port, last_id=last)
        hello = c2.wait_for("hello")
        assert hello["data"]["resumed"] is True
        seen = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not ({"log", "session"} <= {e["event"] for e in seen}):
            ev = c2.next_event()
            if ev["event"] in ("log", "session"):
                seen.append(ev)
        logs = [e["data"]["message"] for e in seen if e["event"] == "log"]
        assert logs == ["three"]                      # not "one" or "two" again
        assert all(e["id"] > last for e in seen)
        ids = [e["id"] for e in seen]
        assert ids == sorted(ids)
        c2.close()
        # Reconnecting with an id we still hold replays what came after it.
        c3 = SSEClient(port, last_id=last)
        c3.wait_for("hello")
        replay = c3.wait_for("log")
        assert replay["data"]["message"] == "three" and replay["id"] == next(e["id"] for e in seen if e["event"] == "log")
        c3.close()


def test_a_last_event_id_that_can_no_longer_be_served_gets_a_reset(root):
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port, last_id=5)                      # an id from an earlier process
        ev = c.next_event()
        assert ev["event"] == "reset" and ev["id"] == app.hub.last_id
        assert c.wait_for("hello")["data"]["resumed"] is False
        c.close()


def test_the_stream_sends_heartbeats(root):
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        hb = c.wait_for("heartbeat", timeout=2)
        assert "id" not in hb                                # heartbeats are not positions
        c.close()


def test_polling_stops_once_the_client_has_gone(root):
    running_session(root)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        assert wait_until(lambda: app.watcher.running and app.hub.subscribers == 1)
        c.close()
        # A watcher that is not running has left its loop (it clears its thread as it returns), so
        # nothing polls the disk any more: no need to sleep and count ticks to prove it.
        assert wait_until(lambda: app.hub.subscribers == 0 and not app.watcher.running, timeout=2)
        assert fetch(port, "GET", "/api/health")[0] == 200


def test_a_session_filter_keeps_other_sessions_out(root):
    running_session(root, 1)
    running_session(root, 2)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port, path=f"/api/stream?session={sid(2)}&topics=log")
        c.wait_for("hello")
        assert wait_until(lambda: app.watcher.ticks >= 2)
        log(root, "for one", session=sid(1))
        log(root, "for two", session=sid(2))
        assert c.wait_for("log")["data"]["message"] == "for two"
        c.close()


def test_fifty_clients_at_once_all_get_the_change(root):
    state = running_session(root)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        clients = [SSEClient(port) for _ in range(50)]
        for c in clients:
            c.wait_for("hello")
        state["title"] = "a change"
        write_state(root, state)
        for c in clients:
            assert c.wait_for("session", id=sid(1))["data"]["row"]["title"] == "a change"
        for c in clients:
            c.close()
        assert wait_until(lambda: app.hub.subscribers == 0, timeout=3)


def test_clients_that_vanish_or_misbehave_never_take_the_server_down(root):
    make_session(root, sid(1))
    folder = store.session_dir(root, sid(1))
    (folder / "final.mp4").write_bytes(os.urandom(4 << 20))
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        for payload in (b"GET /api/stream HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % port,
                        f"GET /media/{sid(1)}/final.mp4 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode(),
                        b"GET /api/sessions HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Len" % port,
                        b"\x16\x03\x01\x02\x00garbage\r\n\r\n",
                        b"POST /api/launch HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 500\r\n\r\n{" % port):
            s = socket.create_connection(("127.0.0.1", port))
            s.settimeout(0.3)
            s.sendall(payload)
            try:
                s.recv(100)        # half a request gets no answer yet; that is fine
            except socket.timeout:
                pass
            # An abrupt reset instead of a polite close.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()
        assert fetch(port, "GET", "/api/health")[0] == 200
        assert wait_until(lambda: app.hub.subscribers == 0)


def test_too_many_streams_are_refused_politely(root):
    app = make_app(root, max_streams=1, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        status, _, body = fetch(port, "GET", "/api/stream")
        assert status == 503 and b"too many" in body
        c.close()


def test_the_hub_replays_from_its_ring_and_admits_what_it_lost():
    hub = sse.Hub(start_seq=1000, capacity=3)
    for i in range(5):
        hub.publish("log", {"i": i})
    assert hub.last_id == 1005
    assert [e.id for e in hub.since(1002)] == [1003, 1004, 1005]
    assert hub.since(1001) is None          # 1002 fell out of the ring
    assert hub.since(1005) == []
    assert hub.since(2000) is None           # never issued


def test_stream_generator_ends_when_the_client_goes():
    hub = sse.Hub(start_seq=0)
    gone = {"v": False}
    gen = sse.stream(hub, last_id=None, accept=lambda e: True, client_gone=lambda: gone["v"],
                     mono=time.monotonic, hello=lambda: {}, heartbeat_s=100, poll_s=0.01)
    assert next(gen).startswith(b"retry:")
    assert next(gen).startswith(b"event: hello")
    hub.publish("log", {"m": 1})
    assert next(gen) == b'event: log\nid: 1\ndata: {"m":1}\n\n'
    gone["v"] = True
    with pytest.raises(StopIteration):
        next(gen)


def test_the_last_timeline_lines_of_a_session_that_just_finished_are_streamed(root):
    state = running_session(root)
    app = make_app(root, **FAST)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        assert wait_until(lambda: app.watcher.ticks >= 2)
        add_event(root, sid(1), 1, "step_done", "upload skipped", step="upload", ts=at(9))
        state["status"] = "completed"
        state["pid"] = None
        write_state(root, state)
        seen: dict[str, dict] = {}
        deadline = time.monotonic() + 3
        while len(seen) < 2 and time.monotonic() < deadline:
            ev = c.next_event()
            if ev["event"] in ("timeline", "session"):
                seen[ev["event"]] = ev["data"]
        assert seen["timeline"]["message"] == "upload skipped"
        assert seen["session"]["row"]["status"] == "completed"
        c.close()
