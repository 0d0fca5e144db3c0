"""Benchmark: wall time and peak memory of whole local sessions (not a test).

    python bench/session.py [--minutes 2 60] [--tracks auto] [--art-base REV] [--art-runs 3]

Runs `python -m runner run --no-upload` in a fresh temp root for each length and prints the
wall time, the runner process's own peak RSS (VmHWM, sampled from /proc), and the peak RSS
of the whole process tree (runner + its ffmpeg children) against the targets:
a 2-minute session <= 20 s, a 60-minute one <= 120 s, the runner <= 300 MB.

After each session it times the floor that no keyless session can beat, in the same run:
encoding the same length of audio (the session's own mix, decoded to a PCM WAV beforehand,
untimed) to AAC alone with the master's encoder settings. It prints session / encode; the
target for the hour is at most 1.5 (issue 14: synthesis overlaps the one AAC encode).

It also times the local artwork plus motion loop (painting, thumbnail, loop encode: the
same work for a session of any length, since the loop is repeated by stream copy) for the
code in this checkout against the code at --art-base (default ART_BASE, the commit before the
scenes of issue 13), extracted with `git archive` into a temp folder. The two alternate
run by run in fresh processes, so both see the same machine; the ratio of their medians is
the figure (target <= 1.5x). It also prints the ratio of their CPU time (the process and the
ffmpeg it runs), which a busy machine disturbs far less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS_S = {2.0: 20.0, 60.0: 120.0}
RSS_TARGET_MB = 300.0
# The code before issue 13's scenes and longer loop: the reference for the art + motion ratio.
ART_BASE = "a6af435d1258cd8431826898bba42ea29161c791"
ART_RATIO_TARGET = 1.5
ENCODE_RATIO_TARGET = 1.5  # a one-hour session's wall time / the AAC encode of its hour alone

# Artwork (cover + thumbnail) and the motion loop of one variation, timed in a fresh process.
# Only entry points that both the base and this checkout have: variation.draw(params, seed),
# art.make_artwork(v, png) -> scene, art.make_thumbnail(png, jpg), motion.make_loop(scene, mp4).
ART_SNIPPET = """
import asyncio, json, sys, time
from pathlib import Path
from runner import variation
from runner.media import art, motion
seed, out = int(sys.argv[1]), Path(sys.argv[2])
params = {"theme": sys.argv[3], "season": sys.argv[4], "atmosphere": sys.argv[5], "tracks": 10, "minutes": 60}
v = variation.draw(params, seed)
t0 = time.perf_counter()
scene = art.make_artwork(v, out / "artwork.png")
art.make_thumbnail(out / "artwork.png", out / "thumbnail.jpg")
t1 = time.perf_counter()
meta = asyncio.run(motion.make_loop(scene, out / "loop.mp4"))
t2 = time.perf_counter()
print(json.dumps({"artwork_s": t1 - t0, "motion_s": t2 - t1, "loop_s": meta["seconds"]}))
"""
ART_CASES = [(101, "bench night", "autumn", "rain"), (202, "sunny morning cafe", "summer", "cafe"),
             (303, "snowy cabin", "winter", "fireplace")]


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


def encode_alone_s(mix: Path, scratch: Path) -> float:
    """Seconds to encode the mix's audio to AAC with the master's settings, from a PCM WAV."""
    sys.path.insert(0, str(REPO))
    from runner.media import ffmpeg, master
    exe = ffmpeg.ffmpeg_exe()
    pcm = scratch / "floor.wav"
    subprocess.run([exe, "-y", "-v", "error", "-i", str(mix), "-c:a", "pcm_s16le", str(pcm)], check=True)
    start = time.perf_counter()
    subprocess.run([exe, "-y", "-v", "error", "-i", str(pcm), "-c:a", "aac", "-aac_coder", master.AAC_CODER,
                    "-b:a", master.AAC_BITRATE, str(scratch / "floor.m4a")], check=True)
    took = time.perf_counter() - start
    pcm.unlink()
    return took


def run_session(minutes: float, tracks: str) -> dict[str, float]:
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
        mix = next(Path(tmp, "sessions").glob("*/mix.m4a"))
        return {"wall_s": wall, "runner_peak_mb": runner_peak / 1024, "tree_peak_mb": tree_peak / 1024,
                "encode_s": encode_alone_s(mix, Path(tmp))}


def _checkout(rev: str, dest: Path) -> Path:
    """The tree of rev, extracted (not a worktree: nothing in the repository changes)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def _time_art(code: Path, case: tuple[int, str, str, str], out: Path) -> dict[str, float]:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(code))
    seed, theme, season, atmosphere = case
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", ART_SNIPPET, str(seed), str(out), theme, season, atmosphere],
                          capture_output=True, text=True, env=env, cwd=str(code))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"art timing failed in {code}: {done.stderr[-600:]}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    # CPU of the snippet and the ffmpeg it waited for: steadier than wall time on a busy machine.
    row["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return row


def compare_art(base_rev: str, runs: int) -> None:
    """Art + motion here against base_rev, alternating, in one run of this script."""
    with tempfile.TemporaryDirectory(prefix="bench-art-") as tmp:
        base = _checkout(base_rev, Path(tmp) / "base")
        rows: dict[str, list[dict[str, float]]] = {"base": [], "here": []}
        for i in range(runs):
            case = ART_CASES[i % len(ART_CASES)]
            for name, code in (("base", base), ("here", REPO)) if i % 2 == 0 else (("here", REPO), ("base", base)):
                rows[name].append(_time_art(code, case, Path(tmp) / f"{name}-{i}"))
        med = {name: {k: statistics.median(r[k] for r in rs) for k in ("artwork_s", "motion_s", "loop_s", "cpu_s")}
               for name, rs in rows.items()}
        for name, label in (("base", f"base {base_rev[:10]}"), ("here", "this checkout")):
            m = med[name]
            print(f"art + motion, {label}: artwork {m['artwork_s']:.2f} s + motion {m['motion_s']:.2f} s "
                  f"({m['loop_s']:g} s loop) = {m['artwork_s'] + m['motion_s']:.2f} s, {m['cpu_s']:.2f} s of CPU "
                  f"with ffmpeg (medians of {runs})")
        ratio = (med["here"]["artwork_s"] + med["here"]["motion_s"]) / (med["base"]["artwork_s"] + med["base"]["motion_s"])
        print(f"art + motion ratio here / base = {ratio:.2f}x (target <= {ART_RATIO_TARGET:g}x: "
              f"{'met' if ratio <= ART_RATIO_TARGET else 'MISSED'}); CPU ratio {med['here']['cpu_s'] / med['base']['cpu_s']:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="*", default=[2.0, 60.0], help="session lengths (none: skip the sessions)")
    ap.add_argument("--tracks", default="auto", help="a count, or auto (the runner's default)")
    ap.add_argument("--art-base", default=ART_BASE, help="git revision to time art + motion against")
    ap.add_argument("--art-runs", type=int, default=3, help="runs per side (0: skip the art comparison)")
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
        ratio = r["wall_s"] / r["encode_s"]
        goal = (f" (target <= {ENCODE_RATIO_TARGET:g}: {'met' if ratio <= ENCODE_RATIO_TARGET else 'MISSED'})"
                if minutes == 60 else "")
        print(f"  the same {minutes:g} minutes of audio encoded to AAC alone: {r['encode_s']:.1f} s; "
              f"session / encode = {ratio:.2f}{goal}")
    if args.art_runs > 0:
        compare_art(args.art_base, args.art_runs)


if __name__ == "__main__":
    main()
