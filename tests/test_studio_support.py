"""Builders and clients shared by the studio tests (no tests of its own).

Session folders are written the way runner/store.py describes them: state.json through
store.new_state and store.atomic_write_json, events and ledger through store.append_jsonl,
log lines through store.format_log_line.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from runner import store
from studio.app import App, Config
from studio.server import make_server
from studio.web import Headers, Request, Response

NOW = dt.datetime(2026, 11, 21, 12, 0, 0, tzinfo=dt.timezone.utc)
PORT = 8765
HOST = f"127.0.0.1:{PORT}"
ORIGIN = f"http://{HOST}"
HOME = "/home/porsuk"
SECRET = "fal-secret-Zq8Xv1Lm3Np5Rt7"
ENV = {"FAL_KEY": SECRET, "ELEVENLABS_API_KEY": "el-key-Aa1Bb2Cc3Dd4", "PATH": "/usr/bin", "HOME": HOME}


def sid(n: int, slug: str = "rainy-night", day: int = 21) -> str:
    return f"202611{day:02d}-{n // 3600 % 24:02d}{n // 60 % 60:02d}{n % 60:02d}-{slug}"


def at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def make_session(root: Path, session_id: str, *, status: str = "completed", theme: str = "rainy night",
                 season: str = "autumn", spent: float = 0.0, cap: float = 2.0, created: dt.datetime | None = None,
                 steps_done: int = 7, title: str | None = None, upload: str | None = None,
                 youtube: dict[str, Any] | None = None, pid: int | None = None, heartbeat: dt.datetime | None = None,
                 provider: str = "local", minutes: float = 60.0, tracks: int = 3, error: str | None = None,
                 media: bool = False, **params: Any) -> dict[str, Any]:
    """A session folder with a plausible state.json; returns the state."""
    p = store.validate_params({"theme": theme, "season": season, "cap": cap, "provider": provider,
                               "minutes": minutes, "tracks": tracks, **params})
    created = created or NOW
    state = store.new_state(session_id, p, now=created)
    state["status"] = status
    state["title"] = title
    state["error"] = error
    state["pid"] = pid
    state["heartbeat_at"] = store.iso(heartbeat) if heartbeat else None
    state["youtube"] = youtube
    state["cost"]["spent_usd"] = spent
    state["cost"]["by_asset"]["image"] = spent
    t = created
    for i, name in enumerate(store.STEPS):
        step = state["steps"][name]
        if i < steps_done:
            step["status"] = "done"
            step["started_at"] = store.iso(t)
            t = t + dt.timedelta(seconds=10 * (i + 1))
            step["finished_at"] = store.iso(t)
            step["attempts"] = 1
        elif i == steps_done and status == "running":
            step["status"] = "running"
            step["started_at"] = store.iso(t)
            step["progress"] = {"done": 1, "total": 4, "percent": 25.0, "label": f"{name} 1/4"}
    if upload:
        state["steps"]["upload"]["status"] = upload
    if media or steps_done >= 4:
        state["steps"]["artwork"]["outputs"] = {"artwork": "artwork.png", "thumbnail": "thumbnail.jpg"}
        state["steps"]["motion"]["outputs"] = {"loop": "loop.mp4"}
        state["steps"]["music"]["outputs"] = {
            "tracks": [{"index": i + 1, "file": f"tracks/{i + 1:02d}.wav", "title": f"track {i + 1}",
                        "seconds": 60.0, "provider": "local", "model": "procedural", "bpm": 80, "key": "D minor"}
                       for i in range(tracks)],
            "ambience": "ambience.wav", "mix": "mix.m4a", "segments": []}
    if steps_done >= 5:
        state["steps"]["render"]["outputs"] = {"final": "final.mp4"}
    if status in store.FINAL_STATUSES or status == "awaiting_review":
        state["finished_at"] = store.iso(t)
    state["updated_at"] = store.iso(t)
    folder = store.session_dir(root, session_id)
    folder.mkdir(parents=True, exist_ok=True)
    store.atomic_write_json(folder / "state.json", state)
    return state


def write_state(root: Path, state: dict[str, Any]) -> None:
    store.atomic_write_json(store.session_dir(root, state["id"]) / "state.json", state)


def add_event(root: Path, session_id: str, seq: int, type_: str = "log", message: str = "hello",
              step: str | None = None, ts: dt.datetime | None = None, **data: Any) -> None:
    store.append_jsonl(store.session_dir(root, session_id) / "events.jsonl",
                       {"seq": seq, "ts": store.iso(ts or NOW), "type": type_, "step": step,
                        "message": message, "data": data})


def add_ledger(root: Path, session_id: str, call_id: str, usd: float, phase: str = "actual",
               asset: str = "image") -> None:
    store.append_jsonl(store.session_dir(root, session_id) / "ledger.jsonl",
                       {"ts": store.iso(NOW), "call_id": call_id, "phase": phase, "provider": "fal",
                        "model": "fal-ai/flux/dev", "asset": asset, "step": "artwork", "label": "cover art",
                        "usd": usd, "cache_key": "3f2a9b3f2a9b3f2a9b3f2a9b3f2a9b3f"})


def log(root: Path, message: str, *, level: str = "INFO", session: str = "20261121-120000-rainy-night",
        step: str | None = "music", when: dt.datetime | None = None) -> None:
    path = store.log_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(store.format_log_line(level, session, step, message, when or NOW))


def make_static(folder: Path) -> Path:
    (folder / "js").mkdir(parents=True, exist_ok=True)
    (folder / "css").mkdir(exist_ok=True)
    (folder / "index.html").write_text(
        '<!doctype html><meta name="studio-token" content="{{studio_token}}"><script type="module" '
        'src="/app.js"></script><title>studio</title>\n')
    (folder / "app.js").write_text("import './js/views.js';\n")
    (folder / "js" / "views.js").write_text("export const views = [];\n")
    (folder / "css" / "studio.css").write_text("body { color: #eee; }\n")
    return folder


def make_app(root: Path, tmp: Path | None = None, **options: Any) -> App:
    static = make_static((tmp or root) / "static-under-test")
    launcher_options = options.pop("launcher_options", None)
    command = options.pop("command", None)
    now = options.pop("now", lambda: NOW)
    config = Config(root=root, static_dir=static, port=PORT, quick_interval=0.0, full_interval=0.0,
                    **options)
    kw: dict[str, Any] = {}
    if command is not None:
        kw["command"] = command
    return App(config, now=now, env=ENV, home=HOME, token="t0ken-for-tests",
               launcher_options=launcher_options, **kw)


def call(app: App, method: str, target: str, *, headers: dict[str, str] | None = None,
         body: bytes | dict[str, Any] | None = None, write: bool = False) -> Response:
    """One in-process request. write=True adds what our own page sends with a write."""
    h = {"Host": HOST}
    if write:
        h.update({"Origin": ORIGIN, "X-Studio-Token": app.token, "Content-Type": "application/json",
                  "Sec-Fetch-Site": "same-origin"})
    h.update(headers or {})
    raw = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    return app.handle(Request(method, target, Headers(h), raw))


def get_json(app: App, target: str, status: int = 200) -> Any:
    resp = call(app, "GET", target)
    assert resp.status == status, (resp.status, resp.body)
    return resp.json()


def body_bytes(resp: Response) -> bytes:
    if isinstance(resp.body, bytes):
        return resp.body
    return b"".join(resp.body)


@contextmanager
def serving(app: App) -> Iterator[tuple[str, int]]:
    """The app on a real socket at 127.0.0.1:<free port>."""
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def fetch(port: int, method: str, path: str, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        h = {"Host": f"127.0.0.1:{port}", **(headers or {})}
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def wait_for_sweeps(app: App, sweeps: int = 2, timeout_s: float = 5.0) -> None:
    """Until the app's watcher has swept `sweeps` times (a stream's baseline is then taken)."""
    deadline = time.monotonic() + timeout_s
    while app.watcher.ticks < sweeps and time.monotonic() < deadline:
        time.sleep(0.02)


class SSEClient:
    """A raw-socket EventSource: reads frames, can hang up abruptly."""

    def __init__(self, port: int, path: str = "/api/stream", last_id: int | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        extra = f"Last-Event-ID: {last_id}\r\n" if last_id is not None else ""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
                          f"{extra}\r\n".encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        self.status = int(head.split(b" ", 2)[1])
        self.headers = head.decode("latin-1")

    def _until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf.split(sep, 1)
        return out

    def next_event(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next frame with an event name (comments and retry lines skipped)."""
        self.sock.settimeout(timeout)
        while True:
            raw = self._until(b"\n\n").decode()
            ev: dict[str, Any] = {}
            for line in raw.split("\n"):
                k, _, v = line.partition(": ")
                if k in ("event", "id", "data"):
                    ev[k] = v
            if "event" in ev:
                ev["data"] = json.loads(ev.get("data") or "null")
                if "id" in ev:
                    ev["id"] = int(ev["id"])
                return ev

    def wait_for(self, event_type: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        import time
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(event_type)
            ev = self.next_event(left)
            if ev["event"] == event_type and all(ev["data"].get(k) == v for k, v in match.items()):
                return ev

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def fake_runner(folder: Path) -> Path:
    """A stand-in for `python -m runner` that follows its CLI contract, for the spawn path.

    run: validates nothing, creates a session folder the way the runner does, prints its id
    first, then keeps running briefly. estimate: prints JSON (exit 1 when over the cap).
    """
    script = folder / "fake_runner.py"
    script.write_text(r'''
import json, os, sys, time
sys.path.insert(0, os.environ["FAKE_REPO"])
from runner import store
args = sys.argv[1:]
cmd = args[0]
opts = dict(a[2:].split("=", 1) for a in args[1:] if a.startswith("--") and "=" in a)
flags = [a for a in args[1:] if a.startswith("--") and "=" not in a]
root = store.data_root(opts["root"])
with open(os.path.join(os.environ["FAKE_LOG"]), "a") as fh:
    fh.write(json.dumps(args) + "\n")
if cmd == "estimate":
    cap = float(opts["cap"])
    total = 0.5 if opts.get("provider") == "fal" else 0.0
    print(json.dumps({"provider": opts["provider"], "by_asset": {"image": total, "video": 0, "music": 0,
                      "ambience": 0}, "total_usd": total, "cap_usd": cap, "over_cap": total > cap}))
    sys.exit(1 if total > cap else 0)
if cmd == "run":
    if os.environ.get("FAKE_MODE") == "crash":
        print("Traceback (most recent call last):\nRuntimeError: ffmpeg not found", file=sys.stderr)
        sys.exit(1)
    if os.environ.get("FAKE_MODE") == "silent":
        time.sleep(30)
        sys.exit(0)
    params = store.validate_params({"theme": opts["theme"], "minutes": opts["minutes"], "tracks": opts["tracks"],
                                    "cap": opts["cap"], "upload": "--no-upload" not in flags,
                                    "review": "--review" in flags, "music": opts.get("music")})
    if params.get("music"):  # the real runner reads the playlist for these
        params.update(minutes=1.0 if params["minutes"] == "auto" else params["minutes"], tracks=2)
    sid = store.new_session_id(params["theme"])
    state = store.new_state(sid, params)
    state["status"] = "running"
    state["pid"] = os.getpid()
    state["heartbeat_at"] = store.iso()
    store.session_dir(root, sid).mkdir(parents=True)
    store.write_state(root, state)
    print(sid, flush=True)
    for i in range(200):
        print("progress line", i, flush=True)
    time.sleep(float(os.environ.get("FAKE_SECONDS", "1")))
    state["status"] = "completed"
    state["pid"] = None
    store.write_state(root, state)
    sys.exit(0)
if cmd in ("approve", "resume"):
    if os.environ.get("FAKE_MODE") == "refuse":
        print(f"error: session {args[1]} cannot be {cmd}d", file=sys.stderr)
        sys.exit(2)
    print(args[1], flush=True)
    time.sleep(float(os.environ.get("FAKE_SECONDS", "1")))
    sys.exit(0)
sys.exit(2)
''')
    return script


def fake_env(folder: Path, repo: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_"))}
    env.update({"FAKE_REPO": str(repo), "FAKE_LOG": str(folder / "fake_runner.calls"), **extra})
    return env
