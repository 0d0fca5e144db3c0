"""Benchmark: wall time and peak memory of whole local sessions (not a test).

    python bench/session.py [--minutes 2 60] [--tracks 10]

Runs `python -m runner run --no-upload` in a fresh temp root for each length and prints the
wall time, the runner process's own peak RSS (VmHWM, sampled from /proc), and the peak RSS
of the whole process tree (runner + its ffmpeg children) against the targets:
a 2-minute session <= 20 s, a 60-minute one <= 120 s, the runner <= 300 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS_S = {2.0: 20.0, 60.0: 120.0}
RSS_TARGET_MB = 300.0


def _status_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(k) for k in kids)
    return out


def run_session(minutes: float, tracks: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-session-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(REPO))
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "runner", "run", "--theme", "bench night",
                                 "--minutes", str(minutes), "--tracks", str(tracks), "--no-upload", "--root", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        runner_peak = tree_peak = 0
        while proc.poll() is None:
            runner_peak = max(runner_peak, _status_kb(proc.pid, "VmHWM"))
            tree_peak = max(tree_peak, sum(_status_kb(p, "VmRSS") for p in _tree(proc.pid)))
            time.sleep(0.05)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"session failed ({proc.returncode}): {proc.stderr.read().decode()[-400:]}")
        return {"wall_s": wall, "runner_peak_mb": runner_peak / 1024, "tree_peak_mb": tree_peak / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[2.0, 60.0])
    ap.add_argument("--tracks", type=int, default=10)
    args = ap.parse_args()
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
    for minutes in args.minutes:
        r = run_session(minutes, args.tracks)
        target = TARGETS_S.get(minutes)
        verdict = f" (target <= {target:.0f} s: {'met' if r['wall_s'] <= target else 'MISSED'})" if target else ""
        print(f"{minutes:g}-minute session, {args.tracks} tracks: {r['wall_s']:.1f} s wall{verdict}; "
              f"runner peak {r['runner_peak_mb']:.0f} MB (target <= {RSS_TARGET_MB:.0f}: "
              f"{'met' if r['runner_peak_mb'] <= RSS_TARGET_MB else 'MISSED'}), "
              f"process tree peak {r['tree_peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
