"""Render benchmark: our stream-copy render against a naive re-encode and the remux floor.

    python bench/render.py                     # build a local loop and a 60-minute mix, then measure
    python bench/render.py --session DIR       # measure with a session's own loop.mp4 and mix.m4a
    python bench/render.py --minutes 60 --runs 3 --json

In one run, on the same inputs, it times:
  ours   render_final(): the loop's packets repeated and the mix's packets copied by ffmpeg
         (`-stream_loop -1 -c copy -t ... -movflags +faststart`), probed and checked;
  naive  what most tools do: re-encode the whole video with libx264 (veryfast, the kindest
         preset to it) and the audio with AAC, measured on a 60 s sample and scaled up;
  floor  `ffmpeg -i final.mp4 -c copy -movflags +faststart`: a pure remux of our own final,
         the least work any tool can do to write that file.
and prints the ratios (targets: ours <= 2x the floor, naive >= 100x ours) with the machine.
Not a test: the numbers depend on the machine and on what else it is doing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runner import variation as V  # noqa: E402
from runner.media import ffmpeg, master, motion, music, render  # noqa: E402

SAMPLE_S = 60.0


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import subprocess

    version = subprocess.run([ffmpeg.ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    return {"cpus": str(os.cpu_count()), "cpu": model, "python": platform.python_version(),
            "ffmpeg": version, "load_1min": f"{load:.2f}"}


async def build_inputs(work: Path, minutes: float) -> tuple[Path, Path]:
    """A real local loop and a real mastered mix of the target length (tracks repeat to fill it)."""
    v = V.draw({"theme": "bench", "season": "autumn", "atmosphere": "rain", "tracks": 2}, 2026)
    loop = work / "loop.mp4"
    print(f"  building the loop ...", flush=True)
    await motion.make_local_loop(v, loop)
    tracks = []
    for spec in v["tracks"][:2]:
        out = work / f"{spec['index']:02d}.wav"
        await asyncio.to_thread(music.render_track, spec, 90.0, out)
        tracks.append(out)
    print(f"  mastering a {minutes:g}-minute mix ...", flush=True)
    await master.master_audio(tracks, None, minutes * 60, work / "mix.m4a")
    return loop, work / "mix.m4a"


async def timed(coro) -> float:
    t0 = time.perf_counter()
    await coro
    return time.perf_counter() - t0


async def ours(loop: Path, mix: Path, target: float, out: Path) -> float:
    out.unlink(missing_ok=True)
    return await timed(render.render_final(loop, mix, target, out))


async def floor(final: Path, out: Path) -> float:
    out.unlink(missing_ok=True)
    return await timed(ffmpeg.run(["-y", "-v", "error", "-i", str(final), "-map", "0", "-c", "copy",
                                   "-movflags", "+faststart", str(out)]))


async def naive_sample(loop: Path, mix: Path, out: Path) -> float:
    out.unlink(missing_ok=True)
    return await timed(ffmpeg.run(["-y", "-v", "error", "-stream_loop", "-1", "-i", str(loop), "-i", str(mix),
                                   "-map", "0:v:0", "-map", "1:a:0", "-t", f"{SAMPLE_S}", "-c:v", "libx264",
                                   "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "192k",
                                   "-movflags", "+faststart", str(out)]))


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--session", type=Path, help="a session folder with loop.mp4 and mix.m4a")
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the render (default 60)")
    ap.add_argument("--runs", type=int, default=3, help="repeats of ours and the floor; the median is kept")
    ap.add_argument("--work", type=Path, help="keep inputs and outputs here (default: a temporary folder)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = ap.parse_args()
    target = args.minutes * 60.0

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-render-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"machine: {machine()}")
        if args.session:
            loop, mix = args.session / "loop.mp4", args.session / "mix.m4a"
        else:
            loop, mix = await build_inputs(work, args.minutes)
        print(f"inputs: loop {loop.stat().st_size / 1e6:.2f} MB, mix {mix.stat().st_size / 1e6:.1f} MB, "
              f"target {target:g} s")
        final, copy, sample = work / "final.mp4", work / "remux.mp4", work / "naive-sample.mp4"

        ours_t, floor_t = [], []
        for i in range(max(1, args.runs)):
            ours_t.append(await ours(loop, mix, target, final))
            floor_t.append(await floor(final, copy))
            copy.unlink(missing_ok=True)
            print(f"  run {i + 1}: ours {ours_t[-1]:.2f} s, floor {floor_t[-1]:.2f} s", flush=True)
        naive_t = await naive_sample(loop, mix, sample)
        naive_full = naive_t * target / SAMPLE_S

        o, f = statistics.median(ours_t), statistics.median(floor_t)
        size = final.stat().st_size
        figures = {
            "machine": machine(), "target_s": target, "final_bytes": size, "loop_bytes": loop.stat().st_size,
            "ours_s": round(o, 2), "floor_s": round(f, 2),
            "naive_sample_s": round(naive_t, 2), "naive_scaled_s": round(naive_full, 1),
            "ours_over_floor": round(o / f, 2), "naive_over_ours": round(naive_full / o, 1),
            "runs": {"ours": [round(x, 2) for x in ours_t], "floor": [round(x, 2) for x in floor_t]},
        }
        print()
        print(f"final.mp4          {size / 1e6:.0f} MB for {target / 60:g} min")
        print(f"ours (median)      {o:7.2f} s")
        print(f"floor: remux copy  {f:7.2f} s")
        print(f"naive: libx264     {naive_t:7.2f} s for {SAMPLE_S:g} s  ->  {naive_full:8.1f} s for the whole")
        print(f"ours / floor       {o / f:7.2f} x   (target <= 2)   {'ok' if o / f <= 2 else 'MISSED'}")
        print(f"naive / ours       {naive_full / o:7.1f} x   (target >= 100) {'ok' if naive_full / o >= 100 else 'MISSED'}")
        if args.json:
            print(json.dumps(figures, indent=2))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
