"""Benchmark of the studio server against 10,000 sessions on disk.

    python bench/studio.py [--sessions 10000] [--repeat 100] [--clients 50] [--keep DIR]

Measures, against a real `python -m studio` child process:
- cold: the first /api/sessions page and the first /api/kpis after the server starts, with the
  state files evicted from the page cache (posix_fadvise DONTNEED) so they are read from disk;
- warm: median and p95 of the same two requests over a keep-alive connection;
- live: how long a state change takes to reach an SSE client, and to reach each of 50 clients;
- memory: the server's resident set size (VmRSS) and its peak (VmHWM) at the end.
Targets (issue 5): first page and KPIs <= 50 ms median warm and <= 2 s cold; change to SSE
client <= 1 s; <= 80 MB RSS; 50 concurrent SSE clients.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner import store  # noqa: E402

THEMES = ["rainy night", "snow cabin", "cherry blossom", "beach sunset", "autumn library", "midnight train",
          "forest cabin", "city lights", "tea house", "harbour fog"]


def seed_sessions(root: Path, n: int, rng: random.Random) -> str:
    """n plausible finished sessions (2 % failed, 1 % unreadable) and one live running session."""
    sessions = store.sessions_dir(root)
    sessions.mkdir(parents=True, exist_ok=True)
    store.logs_dir(root).mkdir(exist_ok=True)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(n):
        created = start + dt.timedelta(minutes=70 * i)
        theme = rng.choice(THEMES)
        sid = store.new_session_id(f"{theme} {i}", created)
        folder = sessions / sid
        folder.mkdir()
        if i % 100 == 0:
            (folder / "state.json").write_text('{"id": "' + sid + '", "sta')   # partial: unreadable
            continue
        params = store.validate_params({"theme": theme, "season": rng.choice(store.SEASONS),
                                        "minutes": 60, "tracks": 10, "provider": rng.choice(store.PROVIDERS)})
        state = store.new_state(sid, params, now=created)
        t = created
        failed = i % 50 == 1
        for k, name in enumerate(store.STEPS):
            step = state["steps"][name]
            step["attempts"] = 1
            step["started_at"] = store.iso(t)
            t += dt.timedelta(seconds=rng.uniform(5, 600))
            step["finished_at"] = store.iso(t)
            step["status"] = "failed" if failed and name == "music" else "done"
            step["note"] = f"{name} ok"
            if failed and name == "music":
                step["error"] = "provider timed out"
                break
        state["steps"]["artwork"]["outputs"] = {"artwork": "artwork.png", "thumbnail": "thumbnail.jpg",
                                                "provider": "local", "model": "procedural"}
        state["steps"]["motion"]["outputs"] = {"loop": "loop.mp4", "seconds": 8, "fps": 24}
        state["steps"]["music"]["outputs"] = {
            "tracks": [{"index": k + 1, "file": f"tracks/{k + 1:02d}.wav", "title": f"track {k + 1}",
                        "seconds": 360.0, "provider": "local", "model": "procedural", "bpm": 80, "key": "D minor"}
                       for k in range(10)], "ambience": "ambience.wav", "mix": "mix.m4a"}
        state["status"] = "failed" if failed else "completed"
        state["error"] = "music: provider timed out" if failed else None
        spent = round(rng.uniform(0, 1.8), 3) if params["provider"] == "fal" else 0.0
        state["cost"]["spent_usd"] = spent
        state["cost"]["by_asset"]["music"] = spent
        state["title"] = f"{theme.title()} | lofi beats to study to"
        state["finished_at"] = state["updated_at"] = store.iso(t)
        (folder / "state.json").write_text(json.dumps(state, indent=2))
    # One live session the bench keeps "running" (its pid is ours, its heartbeat fresh).
    sid = store.new_session_id("bench live", start + dt.timedelta(minutes=70 * n + 5))
    params = store.validate_params({"theme": "bench live"})
    state = store.new_state(sid, params, now=store.utc_now())
    state["status"] = "running"
    state["pid"] = os.getpid()
    state["heartbeat_at"] = store.iso()
    state["steps"]["variation"]["status"] = "running"
    (sessions / sid).mkdir()
    store.write_state(root, state)
    return sid


def evict(root: Path) -> int:
    """Drop the state files from the page cache, so the first scan reads the disk."""
    count = 0
    for sid in os.listdir(store.sessions_dir(root)):
        p = store.sessions_dir(root) / sid / "state.json"
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            count += 1
        finally:
            os.close(fd)
    return count


class Server:
    def __init__(self, root: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen([sys.executable, "-m", "studio", "--port", "0", "--root", str(root)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=str(REPO))
        line = self.proc.stdout.readline().decode()
        m = re.match(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            raise SystemExit(f"studio did not start: {line!r}")
        self.port = int(m.group(1))

    def rss(self) -> tuple[float, float]:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024
        hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
        return rss, hwm

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far (proc(5) stat fields 14-15).

        On a shared machine the wall time of the cold start mostly measures the other jobs;
        the CPU time is what the server itself spent, and what it needs on a quiet machine
        (plus the disk's wait, which the eviction makes real)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def timed_get(conn: http.client.HTTPConnection, port: int, path: str) -> tuple[float, bytes]:
    t = time.perf_counter()
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    r = conn.getresponse()
    body = r.read()
    elapsed = time.perf_counter() - t
    if r.status != 200:
        raise SystemExit(f"{path}: {r.status} {body[:200]!r}")
    return elapsed, body


class Listener(threading.Thread):
    """A raw SSE client that timestamps every "session" event about one session."""

    def __init__(self, port: int, sid: str) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(f"GET /api/stream?topics=session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        self.sid = sid
        self.seen: dict[str, float] = {}     # marker title -> arrival time
        self.ready = threading.Event()
        self.start()

    def run(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n\n" in buf:
                frame, buf = buf.split(b"\n\n", 1)
                text = frame.decode("utf-8", "replace")
                if "event: hello" in text:
                    self.ready.set()
                if "event: session\n" in text:
                    data = json.loads(text.split("data: ", 1)[1])
                    if data.get("id") == self.sid and data["row"].get("title"):
                        self.seen.setdefault(data["row"]["title"], time.perf_counter())

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def change(root: Path, sid: str, marker: str) -> float:
    state = store.read_state(root, sid)
    state["title"] = marker
    state["heartbeat_at"] = store.iso()
    t = time.perf_counter()
    store.write_state(root, state)
    return t


def wait_all(listeners: list[Listener], marker: str, timeout: float = 5.0) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline and not all(marker in l.seen for l in listeners):
        time.sleep(0.005)


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=100)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--changes", type=int, default=20)
    ap.add_argument("--keep", help="build the data root here and keep it")
    args = ap.parse_args()

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="studio-bench-"))
    rng = random.Random(7)
    t = time.perf_counter()
    live = seed_sessions(root, args.sessions, rng)
    seeded = time.perf_counter() - t
    evicted = evict(root)
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor() or "?")
    print(f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, {platform.system()}, "
          f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews the cold number most)")
    print(f"seeded {args.sessions} sessions in {seeded:.1f} s; evicted {evicted} state files from the page cache")

    server = Server(root)
    results: dict[str, object] = {}
    try:
        port = server.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        cold_page, body = timed_get(conn, port, "/api/sessions?limit=50")
        total = json.loads(body)["total"]
        cold_cpu = server.cpu_seconds()
        cold_kpis, _ = timed_get(conn, port, "/api/kpis")
        print(f"cold  first page {ms(cold_page)} ({total} sessions), first KPIs {ms(cold_kpis)}; "
              f"server CPU from its start to the first page {cold_cpu:.2f} s")
        for path in ("/api/sessions?limit=50", "/api/kpis"):
            samples = sorted(timed_get(conn, port, path)[0] for _ in range(args.repeat))
            med, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
            results[path] = (med, p95)
            print(f"warm  {path:<24} median {ms(med)}  p95 {ms(p95)}  ({args.repeat} requests)")
        # The same while a run is live: its state.json is rewritten every 0.5 s (the runner
        # heartbeats every 2 s and writes on each progress step), so caches keep expiring.
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.wait(0.5):
                i += 1
                change(root, live, f"heartbeat {i}")

        beat = threading.Thread(target=writer, daemon=True)
        beat.start()
        for path in ("/api/sessions?limit=50", "/api/kpis"):
            samples = []
            for _ in range(args.repeat):
                samples.append(timed_get(conn, port, path)[0])
                time.sleep(0.02)
            samples.sort()
            med, p95 = statistics.median(samples), samples[int(len(samples) * 0.95) - 1]
            print(f"warm  {path:<24} median {ms(med)}  p95 {ms(p95)}  (during a live run)")
        stop.set()
        beat.join()
        filtered = sorted(timed_get(conn, port, "/api/sessions?status=failed&season=winter&q=rain&sort=-spent_usd")[0]
                          for _ in range(20))
        print(f"warm  filtered+sorted page     median {ms(statistics.median(filtered))}")
        conn.close()

        # One client: latency of a state change.
        one = Listener(port, live)
        one.ready.wait(10)
        lat = []
        for i in range(args.changes):
            marker = f"change {i}"
            t0 = change(root, live, marker)
            wait_all([one], marker)
            lat.append(one.seen.get(marker, float("inf")) - t0)
            time.sleep(0.05)
        one.close()
        lat.sort()
        print(f"live  state change -> 1 SSE client: median {ms(statistics.median(lat))}, max {ms(lat[-1])} "
              f"({args.changes} changes)")

        # Many clients at once.
        crowd = [Listener(port, live) for _ in range(args.clients)]
        for c in crowd:
            c.ready.wait(10)
        worst = []
        for i in range(5):
            marker = f"crowd {i}"
            t0 = change(root, live, marker)
            wait_all(crowd, marker)
            got = [c.seen.get(marker) for c in crowd]
            worst.append(max((g - t0) if g else float("inf") for g in got))
            time.sleep(0.1)
        delivered = sum(1 for c in crowd if f"crowd 4" in c.seen)
        rss, hwm = server.rss()
        print(f"live  {args.clients} concurrent SSE clients: all {delivered}/{args.clients} got each change; "
              f"slowest client median {ms(statistics.median(worst))}, max {ms(max(worst))}")
        print(f"memory  RSS {rss:.1f} MB now, peak {hwm:.1f} MB (with {args.clients} streams open)")
        for c in crowd:
            c.close()
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
