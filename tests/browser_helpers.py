"""Helpers for the dashboard's browser tests: a seeded data root, the studio server, Chromium.

The seeded root is written in the on-disk format of runner/store.py (the same functions the
runner uses), with small real media made by numpy + ffmpeg, so the page is exercised against
files the studio really serves (images, a looping clip, a seekable final video, audio tracks).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# The README's pictures. Tests write theirs to a temporary folder; only `pytest
# --update-screenshots` (tests/test_browser_screenshots.py, from real runner sessions) writes here.
README_SCREENSHOTS = REPO / "docs" / "screenshots"

sys.path.insert(0, str(REPO))
from runner import store  # noqa: E402

# --------------------------------------------------------------------------- availability


def browser_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright for Python is not installed (pip install -e '.[test]')"
    if shutil.which("ffmpeg") is None:
        return "ffmpeg is missing (apt-get install ffmpeg)"
    return None


# --------------------------------------------------------------------------- media

PALETTES: list[dict[str, Any]] = [
    {"name": "ember dusk", "top": "#14112e", "bottom": "#6b3a5e", "glow": "#ffb26b", "lamp": "#ffcf8a"},
    {"name": "blue hour", "top": "#07142b", "bottom": "#1f4d7a", "glow": "#8fd3ff", "lamp": "#ffd38a"},
    {"name": "violet rain", "top": "#120b24", "bottom": "#4b2a78", "glow": "#d59bff", "lamp": "#ffc37a"},
    {"name": "pine snow", "top": "#0a1a1c", "bottom": "#2f5e5a", "glow": "#bff5e6", "lamp": "#ffe2a8"},
    {"name": "rose neon", "top": "#1a0d1f", "bottom": "#7a2d4f", "glow": "#ff8fb8", "lamp": "#ffd59a"},
    {"name": "amber cafe", "top": "#1c1208", "bottom": "#6e4420", "glow": "#ffc46b", "lamp": "#fff0c2"},
]


def _rgb(hexstr: str) -> tuple[float, float, float]:
    h = hexstr.lstrip("#")
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def paint_artwork(palette: dict[str, Any], w: int = 640, h: int = 360, seed: int = 1) -> bytes:
    """A small night-window scene (sky, moon, skyline, window frame, Porsuk on the sill) as RGB24."""
    import numpy as np

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    top, bottom, glow, lamp = (np.array(_rgb(palette[k]), np.float32) for k in ("top", "bottom", "glow", "lamp"))
    t = (y / h)[..., None]
    img = top * (1 - t) + bottom * t
    # Moon with a soft halo.
    mx, my = w * 0.68, h * 0.28
    d = np.hypot(x - mx, y - my)
    img += glow * (np.exp(-(d / (h * 0.22)) ** 2) * 0.35)[..., None]
    moon = np.clip(1 - (d - h * 0.06) / 1.5, 0, 1)[..., None]
    img = img * (1 - moon) + np.array([1.0, 0.97, 0.9], np.float32) * moon
    # Stars.
    for _ in range(60):
        sx, sy = rng.integers(0, w), rng.integers(0, int(h * 0.55))
        img[sy, sx] = np.clip(img[sy, sx] + 0.5 * rng.random(), 0, 1)
    # Skyline with lit windows.
    base = h * 0.78
    xs = 0
    while xs < w:
        bw = int(rng.integers(w // 20, w // 9))
        bh = float(rng.uniform(h * 0.12, h * 0.42))
        sl = (slice(int(base - bh), int(base) + 1), slice(xs, min(w, xs + bw)))
        img[sl] = img[sl] * 0.25 + top * 0.55
        for _ in range(int(bw * bh / 220)):
            wx = xs + int(rng.integers(2, max(3, bw - 3)))
            wy = int(base - bh + rng.integers(3, max(4, int(bh) - 3)))
            if rng.random() < 0.45 and wx < w - 2:
                img[wy:wy + 2, wx:wx + 2] = lamp * 0.9
        xs += bw + int(rng.integers(0, 6))
    # Sill and lamp glow from the room.
    img[int(base):, :] = img[int(base):, :] * 0.2 + np.array([0.05, 0.04, 0.06], np.float32)
    d2 = np.hypot(x - w * 0.16, y - h * 0.86)
    img += lamp * (np.exp(-(d2 / (h * 0.35)) ** 2) * 0.35)[..., None]
    # Window frame (the room side).
    frame = np.zeros((h, w), bool)
    frame[:, : int(w * 0.05)] = frame[:, int(w * 0.95):] = True
    frame[: int(h * 0.06), :] = True
    frame[:, int(w * 0.497): int(w * 0.503)] = True
    frame[int(h * 0.45): int(h * 0.46), :] = True
    img[frame] = img[frame] * 0.15 + np.array([0.04, 0.03, 0.05], np.float32)
    # Porsuk: a round cat silhouette with headphones, sitting on the sill.
    cx, cy = w * 0.32, base - h * 0.02
    body = ((x - cx) / (h * 0.11)) ** 2 + ((y - cy) / (h * 0.13)) ** 2 < 1
    head = np.hypot(x - cx, y - (cy - h * 0.16)) < h * 0.075
    ear_l = (y > cy - h * 0.29) & (y < cy - h * 0.2) & (np.abs(x - (cx - h * 0.05)) < (y - (cy - h * 0.29)) * 0.5)
    ear_r = (y > cy - h * 0.29) & (y < cy - h * 0.2) & (np.abs(x - (cx + h * 0.05)) < (y - (cy - h * 0.29)) * 0.5)
    cat = body | head | ear_l | ear_r
    img[cat] = np.array([0.03, 0.025, 0.04], np.float32)
    band = np.abs(np.hypot(x - cx, y - (cy - h * 0.16)) - h * 0.085) < h * 0.01
    band &= y < cy - h * 0.16
    cups = (np.hypot(x - (cx - h * 0.082), y - (cy - h * 0.15)) < h * 0.028) | (
        np.hypot(x - (cx + h * 0.082), y - (cy - h * 0.15)) < h * 0.028)
    img[band | cups] = glow * 0.85
    rim = np.hypot(x - cx, y - (cy - h * 0.16))
    img += (glow * 0.25) * ((np.abs(rim - h * 0.075) < 1.2) & (x > cx))[..., None]
    out = (np.clip(img, 0, 1) * 255).astype(np.uint8)
    return out.tobytes()


def _ffmpeg(*args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], input=stdin, check=True, timeout=60)


def make_media(folder: Path, count: int = len(PALETTES)) -> list[Path]:
    """`count` media sets (artwork, thumbnail, loop, final, one track), one folder each."""
    from concurrent.futures import ThreadPoolExecutor

    # ffmpeg is the cost; the sets are independent, so make them side by side.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return list(pool.map(lambda i: _make_set(folder, i), range(count)))


def _make_set(folder: Path, i: int) -> Path:
    pal = PALETTES[i % len(PALETTES)]
    d = folder / f"set{i}"
    (d / "tracks").mkdir(parents=True, exist_ok=True)
    raw = paint_artwork(pal, seed=i + 7)
    _ffmpeg("-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "640x360", "-i", "-", "-frames:v", "1",
            str(d / "artwork.png"), stdin=raw)
    _ffmpeg("-i", str(d / "artwork.png"), "-vf", "scale=320:180", "-q:v", "4", str(d / "thumbnail.jpg"))
    # A two-second loop: film grain and a slow glow pulse over the still.
    _ffmpeg("-loop", "1", "-i", str(d / "artwork.png"), "-t", "2", "-r", "12",
            "-vf", "noise=alls=14:allf=t,eq=brightness='0.03*sin(2*PI*t/2)':eval=frame,format=yuv420p",
            "-c:v", "libx264", "-preset", "ultrafast", "-crf", "32", "-movflags", "+faststart",
            str(d / "loop.mp4"))
    _ffmpeg("-stream_loop", "2", "-i", str(d / "loop.mp4"), "-f", "lavfi", "-i",
            f"sine=frequency={220 + 40 * i}:duration=6", "-t", "6", "-c:v", "copy", "-c:a", "aac",
            "-b:a", "48k", "-movflags", "+faststart", str(d / "final.mp4"))
    _ffmpeg("-f", "lavfi", "-i", f"sine=frequency={330 + 20 * i}:duration=3", "-c:a", "aac", "-b:a", "32k",
            str(d / "tracks" / "01.m4a"))
    return d


# --------------------------------------------------------------------------- sessions

THEMES = [
    "rainy night", "snowy cabin", "late train home", "city lights", "autumn library",
    "midnight ramen", "foggy harbour", "neon alley", "sunday morning", "forest cabin",
    "study with porsuk", "rooftop garden", "quiet bookstore", "lighthouse keeper",
    "desert stars", "cherry blossom walk", "night bus", "lakeside fireplace",
]
MOODS = ["mellow", "dreamy", "warm", "hazy", "wistful", "cosy", "drifting", "soft"]
KEYS = ["C", "D", "Eb", "F", "G", "A", "Bb"]


def _iso(t: dt.datetime) -> str:
    return store.iso(t)


def _write_session(root: Path, sid: str, state: dict[str, Any], events: list[dict[str, Any]],
                   ledger: list[dict[str, Any]], media: Path | None) -> None:
    d = store.sessions_dir(root) / sid
    d.mkdir(parents=True, exist_ok=True)
    (d / "state.json").write_text(json.dumps(state, indent=1) + "\n")
    with open(d / "events.jsonl", "w") as fh:
        for e in events:
            fh.write(json.dumps(e, separators=(",", ":")) + "\n")
    with open(d / "ledger.jsonl", "w") as fh:
        for e in ledger:
            fh.write(json.dumps(e, separators=(",", ":")) + "\n")
    if state["steps"]["metadata"]["status"] == "done":
        tracks = state["steps"]["music"]["outputs"].get("tracks", [])
        segs = state["steps"]["music"]["outputs"].get("segments", [])
        lines = [f"{int(sg['start'] // 60):02d}:{int(sg['start'] % 60):02d} {t['title']}" for t, sg in zip(tracks, segs)]
        theme = state["params"]["theme"]
        (d / "metadata.json").write_text(json.dumps({
            "title": state["title"], "description": f"an hour of lofi for {theme}, with porsuk at the window.\n\n"
            + "\n".join(lines), "tags": ["lofi", "study music", theme, state["params"]["season"], "porsuk"],
            "category_id": "10", "default_language": "en", "contains_synthetic_media": True,
            "made_for_kids": False, "privacy": "private"}))
    if media is not None:
        for name in ("artwork.png", "thumbnail.jpg", "loop.mp4", "final.mp4"):
            if (media / name).exists() and name in _wanted_files(state):
                # Copied, not hard-linked: the studio refuses a file with more than one link.
                shutil.copy(media / name, d / name)
        if "tracks" in _wanted_files(state):
            (d / "tracks").mkdir(exist_ok=True)
            n = len(state["steps"]["music"]["outputs"].get("tracks", []))
            for k in range(1, n + 1):
                shutil.copy(media / "tracks" / "01.m4a", d / "tracks" / f"{k:02d}.m4a")


def _wanted_files(state: dict[str, Any]) -> set[str]:
    steps = state["steps"]
    want: set[str] = set()
    if steps["artwork"]["status"] == "done":
        want |= {"artwork.png", "thumbnail.jpg"}
    if steps["motion"]["status"] == "done":
        want.add("loop.mp4")
    if steps["music"]["outputs"].get("tracks"):
        want.add("tracks")
    if steps["render"]["status"] == "done":
        want.add("final.mp4")
    return want


# Which statuses the seeded sessions get, in order; the mix gives every badge and chart colour.
SEED_PLAN = [
    "completed", "completed", "failed", "completed", "halted_budget", "completed", "awaiting_review",
    "completed", "interrupted", "completed", "completed", "failed", "completed", "completed",
    "completed", "halted_budget", "completed", "completed", "failed", "completed", "completed",
    "completed", "interrupted",
]


def seed_root(root: Path, media_sets: list[Path] | None = None, now: dt.datetime | None = None,
              plan: list[str] | None = None, unreadable: int = 1) -> list[str]:
    """Write a realistic mix of sessions (and their log lines) under root; returns their ids."""
    now = now or store.utc_now()
    rng = random.Random(42)
    store.sessions_dir(root).mkdir(parents=True, exist_ok=True)
    store.logs_dir(root).mkdir(parents=True, exist_ok=True)
    plan = plan if plan is not None else SEED_PLAN
    ids: list[str] = []
    log_lines: list[tuple[dt.datetime, str]] = []
    for i, status in enumerate(plan):
        created = now - dt.timedelta(days=(len(plan) - i) * 1.7, minutes=rng.randint(0, 600))
        theme = THEMES[i % len(THEMES)]
        sid = store.new_session_id(theme, created)
        media = media_sets[i % len(media_sets)] if media_sets else None
        state, events, ledger, logs = build_session(sid, theme, status, created, rng, i)
        _write_session(root, sid, state, events, ledger, media)
        log_lines.extend(logs)
        ids.append(sid)
    for k in range(unreadable):
        created = now - dt.timedelta(days=3 + k, hours=5)
        sid = store.new_session_id(f"broken state {k + 1}", created)
        d = store.sessions_dir(root) / sid
        d.mkdir(parents=True, exist_ok=True)
        (d / "state.json").write_text('{"schema": 1, "id": "' + sid + '", "status": "runn')
        ids.append(sid)
    log_lines.sort(key=lambda p: p[0])
    with open(store.log_path(root), "w") as fh:
        for _, line in log_lines:
            fh.write(line)
    return ids


def build_session(sid: str, theme: str, status: str, created: dt.datetime, rng: random.Random,
                  i: int) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]],
                                   list[tuple[dt.datetime, str]]]:
    season = store.SEASONS[i % 4]
    provider = "fal" if i % 3 != 1 else "local"
    n_tracks = [10, 10, 12, 8, 10, 6][i % 6]
    cap = [2.0, 2.0, 3.0, 1.5][i % 4]
    params = store.validate_params({
        "theme": theme, "season": season, "atmosphere": store.ATMOSPHERES[i % 5],
        "minutes": [60, 60, 90, 120, 45][i % 5], "tracks": n_tracks, "cap": cap, "provider": provider,
        "privacy": "private", "upload": i % 4 != 3, "review": status == "awaiting_review",
    })
    state = store.new_state(sid, params, created)
    events: list[dict[str, Any]] = []
    ledger: list[dict[str, Any]] = []
    logs: list[tuple[dt.datetime, str]] = []
    clock = [created]

    def tick(seconds: float) -> dt.datetime:
        clock[0] = clock[0] + dt.timedelta(seconds=seconds)
        return clock[0]

    def ev(type_: str, text: str, step: str | None = None, **data: Any) -> None:
        events.append({"seq": len(events) + 1, "ts": _iso(clock[0]), "type": type_, "step": step,
                       "message": text, "data": data})

    def log(level: str, step: str | None, message: str) -> None:
        logs.append((clock[0], store.format_log_line(level, sid, step, message, clock[0])))

    spent = 0.0
    prices = {"artwork": ("image", "fal-ai/flux/dev", 0.025), "motion": ("video", "fal-ai/kling-video/v2.5-turbo", 0.35),
              "music": ("music", "fal-ai/minimax-music/v2", 0.035)}
    # Where this session stops, by status.
    stop_at = {"failed": ["render", "music", "upload"][i % 3], "halted_budget": "music",
               "interrupted": "music", "awaiting_review": "upload"}.get(status)
    ev("session_status", "queued", None, status="queued")
    ev("session_status", "running", None, status="running")
    log("INFO", None, f"session started: theme “{theme}”, {params['minutes']:g} min, {n_tracks} tracks, cap ${cap:.2f}")
    tracks_out: list[dict[str, Any]] = []
    for step in store.STEPS:
        s = state["steps"][step]
        if step == stop_at:
            s["started_at"] = _iso(tick(3))
            s["attempts"] = 1
            ev("step_started", f"{step} started", step, attempt=1)
            log("INFO", step, "started")
            if status == "failed":
                s.update(status="failed", finished_at=_iso(tick(rng.uniform(5, 40))),
                         error="YouTube answered 403: quotaExceeded (daily upload limit)" if step == "upload"
                         else "ffmpeg exited with status 1: Invalid data found when processing input")
                state["error"] = f"{step}: {s['error']}"
                ev("step_failed", s["error"], step)
                log("ERROR", step, s["error"])
            elif status == "halted_budget":
                est = prices["music"][2]
                committed = round(cap - 0.02, 4)
                spent = committed
                s.update(status="pending")
                state["halt"] = {"call": f"track {rng.randint(3, 9)}/{n_tracks}", "model": prices["music"][1],
                                 "estimate_usd": est, "committed_usd": committed, "cap_usd": cap,
                                 "message": f"next call would cross the cap: ${committed:.2f} + ${est:.3f} > ${cap:.2f}"}
                ev("budget_halt", state["halt"]["message"], step, **state["halt"])
                log("WARN", step, state["halt"]["message"])
            elif status == "interrupted":
                s.update(status="running", progress={"done": 4, "total": n_tracks, "percent": 40.0,
                                                     "label": f"music 4/{n_tracks}"})
                state["pid"] = 999_999_99
                state["heartbeat_at"] = _iso(tick(30))
                log("WARN", step, "runner stopped responding (no heartbeat)")
            elif status == "awaiting_review":
                s.update(status="pending", started_at=None, attempts=0)
                events.pop()
                ev("session_status", "awaiting review", None, status="awaiting_review")
                log("INFO", "upload", "waiting for review before upload")
            break
        s["status"] = "running"
        s["started_at"] = _iso(tick(rng.uniform(0.5, 2)))
        s["attempts"] = 1
        ev("step_started", f"{step} started", step, attempt=1)
        log("INFO", step, "started")
        dur = {"variation": 0.2, "artwork": 18, "motion": 64, "music": 240, "render": 150, "metadata": 0.4,
               "upload": 95}[step] * rng.uniform(0.7, 1.4)
        out: dict[str, Any] = {}
        cost = 0.0
        if step == "variation":
            out = {"variation": {"seed": 1000 + i, "variation_key": f"k{i:04d}", "palette_name": PALETTES[i % 6]["name"],
                                 "scene": "window", "pose": "headphones", "weather": params["atmosphere"],
                                 "tracks": []}}
        elif step == "artwork":
            out = {"artwork": "artwork.png", "thumbnail": "thumbnail.jpg", "provider": provider,
                   "model": prices["artwork"][1] if provider == "fal" else "porsuk-procedural-1"}
            cost = prices["artwork"][2] if provider == "fal" else 0.0
        elif step == "motion":
            out = {"loop": "loop.mp4", "seconds": 2.0, "fps": 12, "provider": provider,
                   "model": prices["motion"][1] if provider == "fal" else "procedural-motion-1"}
            cost = prices["motion"][2] if provider == "fal" else 0.0
        elif step == "music":
            start = 0.0
            segs = []
            for k in range(1, n_tracks + 1):
                secs = params["minutes"] * 60 / n_tracks
                title = f"{rng.choice(MOODS)} {rng.choice(['ink', 'lanterns', 'tea', 'window', 'moth', 'tram', 'paper'])}"
                tracks_out.append({"index": k, "file": f"tracks/{k:02d}.m4a", "title": title, "seconds": round(secs, 2),
                                   "bpm": rng.randint(68, 88), "key": rng.choice(KEYS), "mood": rng.choice(MOODS),
                                   "provider": provider,
                                   "model": prices["music"][1] if provider == "fal" else "porsuk-lofi-1"})
                segs.append({"track": k, "start": round(start, 2), "end": round(start + secs, 2)})
                start += secs
                ev("progress", f"music {k}/{n_tracks}", step, done=k, total=n_tracks,
                   percent=round(100 * k / n_tracks, 1), label=f"music {k}/{n_tracks}")
            out = {"tracks": tracks_out, "ambience": None, "mix": "mix.m4a", "segments": segs,
                   "integrated_lufs": -14.1, "true_peak_dbtp": -1.2}
            cost = prices["music"][2] * n_tracks if provider == "fal" else 0.0
        elif step == "render":
            out = {"final": "final.mp4", "seconds": params["minutes"] * 60, "bytes": 412_000_000}
        elif step == "metadata":
            title = f"{theme} · lofi beats to relax and study to"
            out = {"metadata": "metadata.json", "title": title}
            state["title"] = title
        elif step == "upload":
            if not params["upload"]:
                s.update(status="skipped", note="--no-upload", finished_at=_iso(tick(0.1)))
                ev("step_skipped", "upload skipped: --no-upload", step)
                log("INFO", step, "skipped: --no-upload")
                continue
            vid = f"dQw{i:02d}xYz{i:02d}A"
            out = {"video_id": vid, "url": f"https://www.youtube.com/watch?v={vid}", "privacy": "private",
                   "quota_units": 1600}
            state["youtube"] = {"id": vid, "url": out["url"], "privacy": "private"}
        if cost:
            asset, model, _ = prices[step]
            per = cost / (n_tracks if step == "music" else 1)
            for k in range(n_tracks if step == "music" else 1):
                cid = f"{i:04x}{step[:3]}{k:03d}"
                label = f"track {k + 1}/{n_tracks}" if step == "music" else step
                ledger.append({"ts": _iso(clock[0]), "call_id": cid, "provider": "fal", "model": model, "asset": asset,
                               "step": step, "label": label, "cache_key": cid * 2, "phase": "estimate", "usd": per})
                ledger.append({"ts": _iso(clock[0]), "call_id": cid, "provider": "fal", "model": model, "asset": asset,
                               "step": step, "label": label, "cache_key": cid * 2, "phase": "actual", "usd": per})
                spent += per
                state["cost"]["by_asset"][asset] = round(state["cost"]["by_asset"][asset] + per, 4)
                ev("paid_call", f"{label}: ${per:.3f}", step, provider="fal", model=model, asset=asset, usd=per,
                   spent_usd=round(spent, 4), cap_usd=cap)
        s.update(status="done", outputs=out, cost_usd=round(cost, 4), finished_at=_iso(tick(dur)))
        ev("step_done", f"{step} done in {dur:.1f}s", step, seconds=round(dur, 2))
        log("INFO", step, f"done in {dur:.1f}s")
        if step == "music" and i % 5 == 2:
            log("WARN", step, "track 4 was quieter than the rest; gain +2.1 dB")
        log("DEBUG", step, f"outputs: {', '.join(sorted(out))}")
    # Sessions that spent near their cap make the amber/red colours visible.
    if status == "completed" and provider == "fal" and i % 4 == 0:
        extra = round(cap * 0.78 - spent, 4) if i % 8 == 0 else round(cap * 0.93 - spent, 4)
        if extra > 0:
            state["cost"]["by_asset"]["ambience"] = extra
            spent += extra
    state["cost"]["spent_usd"] = round(spent, 4)
    final = {"completed": "completed", "failed": "failed", "halted_budget": "halted_budget",
             "interrupted": "running", "awaiting_review": "awaiting_review"}[status]
    state["status"] = final
    if final != "running":
        state["finished_at"] = _iso(tick(1))
        state["pid"] = None
        ev("session_status", final.replace("_", " "), None, status=final)
        log("ERROR" if final == "failed" else "INFO", None, f"session {final.replace('_', ' ')}")
    state["updated_at"] = _iso(clock[0])
    return state, events, ledger, logs


def seed_many(root: Path, count: int, now: dt.datetime | None = None) -> None:
    """`count` light sessions (state.json only) for the 10,000-row table checks.

    One template state is serialised with a few fields swapped per session: building each
    state from scratch takes seconds at this count, and only the row fields matter here.
    """
    now = now or store.utc_now()
    rng = random.Random(7)
    sd = store.sessions_dir(root)
    sd.mkdir(parents=True, exist_ok=True)
    store.logs_dir(root).mkdir(parents=True, exist_ok=True)
    statuses = ["completed"] * 7 + ["failed", "halted_budget", "completed"]
    base_params = store.validate_params({"theme": "x", "minutes": 60, "tracks": 10, "cap": 2.0})
    template = store.new_state("x", base_params, now)
    steps_done = json.dumps({n: {**store.new_step(), "status": "done"} for n in store.STEPS})
    head = json.dumps({k: v for k, v in template.items() if k not in ("steps", "params", "cost", "id", "status",
                                                                      "created_at", "updated_at", "finished_at")})[:-1]
    start = now - dt.timedelta(minutes=7 * count)
    for k in range(count):
        created = start + dt.timedelta(minutes=7 * k)
        theme = f"{THEMES[k % len(THEMES)]} {k}"
        sid = f"{created:%Y%m%d-%H%M%S}-{store.slugify(theme)}"
        fin = created + dt.timedelta(minutes=rng.randint(9, 40))
        params = {**base_params, "theme": theme, "season": store.SEASONS[k % 4], "provider": "fal" if k % 2 else "local"}
        spent = round(rng.uniform(0, 1.9), 4) if k % 2 else 0.0
        body = (head + f', "id": "{sid}", "status": "{statuses[rng.randrange(len(statuses))]}"'
                f', "created_at": "{_iso(created)}", "updated_at": "{_iso(fin)}", "finished_at": "{_iso(fin)}"'
                f', "params": {json.dumps(params)}, "steps": {steps_done}'
                f', "cost": {{"cap_usd": 2.0, "spent_usd": {spent}, "by_asset": {{}}}}}}')
        d = sd / sid
        os.mkdir(d)
        with open(d / "state.json", "w") as fh:
            fh.write(body)


# --------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StudioProcess:
    """`python -m studio --port 0 --root DIR` as a child; reads the URL it prints."""

    def __init__(self, root: Path, *extra: str, port: int = 0) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.log_path = root / f"studio-stdout-{time.monotonic_ns()}.txt"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "studio", "--host", "127.0.0.1", "--port", str(port), "--root", str(root), *extra],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=str(root), env=env, start_new_session=True)
        self.url = self._wait_url()

    def _wait_url(self, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        pat = re.compile(rb"http://127\.0\.0\.1:(\d+)")
        while time.monotonic() < deadline:
            m = pat.search(self.log_path.read_bytes())
            if m and m.group(1) != b"0":
                return f"http://127.0.0.1:{m.group(1).decode()}"
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("studio did not start: " + self.log_path.read_text(errors="replace")[-2000:])

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._log.close()


def wait_until(condition: Any, what: str, timeout: float = 10.0) -> None:
    """Poll condition() until it is true; fail naming what was awaited after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


# --------------------------------------------------------------------------- accessibility

# axe-core comes from the npm registry (`.ci/run`: npm install --prefix .cache/node axe-core@4);
# AXE_CORE_JS names another copy of axe.min.js.
AXE_JS = Path(os.environ.get("AXE_CORE_JS") or REPO / ".cache" / "node" / "node_modules" / "axe-core" / "axe.min.js")
AXE_FAILS = ("serious", "critical")


def require_axe() -> Path:
    """axe.min.js, or skip with how to get it (under CI, fail instead)."""
    if AXE_JS.is_file():
        return AXE_JS
    reason = f"{AXE_JS} is missing (npm install --prefix .cache/node axe-core@4, as .ci/run does)"
    if os.environ.get("CI"):
        pytest.fail(f"accessibility tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each.

    axe is evaluated through the DevTools protocol, which the page's CSP does not govern; the
    page itself never loads it.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(require_axe().read_text("utf-8"))
    found = page.evaluate("""async (fails) => {
        const r = await axe.run(document, { resultTypes: ["violations"] });
        return r.violations.filter(v => fails.includes(v.impact)).map(v =>
            `${v.impact} ${v.id}: ${v.help} at ` + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | "));
    }""", list(AXE_FAILS))
    return list(found)


def iter_static_files() -> Iterator[Path]:
    for p in sorted((REPO / "static").rglob("*")):
        if p.is_file():
            yield p


# --------------------------------------------------------------------------- in-process studio


class InProcessStudio:
    """The real studio (App + StudioServer) on 127.0.0.1, port 0, served from a thread."""

    def __init__(self, root: Path, *, now: Any = None, **config: Any) -> None:
        import threading

        from studio.app import App, Config
        from studio.server import make_server

        # now: a clock for a seeded root whose meaning depends on the day (the Series view).
        self.app = App(Config(root=root, port=0, **config), **({"now": now} if now is not None else {}))
        self.server = make_server(self.app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="studio-under-test", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        # Runs the launcher started must not outlive the test.
        for child in self.app.launcher.children():
            try:
                os.killpg(child.proc.pid, 15)
            except OSError:
                pass
            try:
                child.proc.wait(10)
            except subprocess.TimeoutExpired:
                child.proc.kill()
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- pytest fixtures
# Imported by name into each test_browser_*.py module (pytest finds fixtures in module globals).

import pytest  # noqa: E402


def require_browser() -> None:
    """Skip with the reason when Chromium or Playwright is missing; under CI, fail instead."""
    reason = browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


_MEDIA: list[Path] = []


@pytest.fixture(scope="module")
def media_sets(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    require_browser()
    # Made once per test run, whichever module asks first.
    if not _MEDIA:
        _MEDIA.extend(make_media(tmp_path_factory.mktemp("media")))
    return list(_MEDIA)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, media_sets: list[Path]) -> Iterator[tuple[InProcessStudio, list[str]]]:
    """A studio over a seeded root with every kind of session, and the seeded ids."""
    root = tmp_path_factory.mktemp("seeded-root")
    ids = seed_root(root, media_sets)
    studio = InProcessStudio(root)
    try:
        yield studio, ids
    finally:
        studio.stop()


class Console:
    """Console errors, uncaught exceptions and failed requests of one page."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("requestfailed", self._failed)

    def _failed(self, req: Any) -> None:
        # A media player cancels its own range requests when it seeks or pauses, and the
        # stream is cut when the page closes: neither is a failure.
        if "/api/stream" in req.url or ("/media/" in req.url and req.failure == "net::ERR_ABORTED"):
            return
        self.errors.append(f"requestfailed: {req.url} {req.failure}")

    def assert_clean(self, where: str = "") -> None:
        assert not self.errors, f"console errors {where}:\n" + "\n".join(self.errors)


# Pages of the test now running, so a failure can say what they showed (see conftest.py).
OPEN_PAGES: list[Any] = []


def new_page(browser: Any, base_url: str, *, width: int = 1440, height: int = 900, **kw: Any) -> tuple[Any, Any, Console]:
    ctx = browser.new_context(viewport={"width": width, "height": height}, base_url=base_url,
                              accept_downloads=True, **kw)
    page = ctx.new_page()
    OPEN_PAGES.append(page)
    return ctx, page, Console(page)


@pytest.fixture()
def open_page(chromium: Any) -> Iterator[Any]:
    """new_page(base_url, **kw) -> (page, console); the pages close after the test's report, so a
    failure can still describe them."""
    contexts: list[Any] = []

    def make(base_url: str, **kw: Any) -> tuple[Any, Console]:
        ctx, page, console = new_page(chromium, base_url, **kw)
        contexts.append(ctx)
        return page, console

    yield make
    for ctx in contexts:
        ctx.close()


def what_the_pages_showed(folder: Path) -> str:
    """Each open page's address, the text of its main area and a screenshot under folder."""
    out = []
    for i, page in enumerate(OPEN_PAGES):
        if page.is_closed():
            continue
        try:
            text = page.evaluate("() => (document.querySelector('main') || document.body).innerText")
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / f"failed-{i}.png"
            page.screenshot(path=str(shot))
        except Exception as exc:  # noqa: BLE001 - a dead page says why instead
            out.append(f"{page.url}: could not be read ({exc})")
            continue
        text = re.sub(r"\n\s*\n+", "\n", text).strip()
        out.append(f"{page.url} (screenshot {shot}):\n{text[:2000]}")
    return "\n\n".join(out)


def screenshot(page: Any, name: str, folder: Path) -> Path:
    """folder/<name>.png of the viewport, animations settled, as an 8-bit palette PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    # Loaded images may still be decoding (decoding="async") and paint blank: wait for that.
    page.evaluate("() => Promise.all([...document.images].filter(i => i.complete && i.naturalWidth)"
                  ".map(i => i.decode().catch(() => null)))")
    raw = page.screenshot(animations="disabled", caret="hide")
    # An 8-bit palette (dithered) keeps each committed picture a few hundred KB, not a few MB.
    try:
        _ffmpeg("-f", "png_pipe", "-i", "-", "-vf",
                "split[a][b];[a]palettegen=max_colors=256:stats_mode=full[p];[b][p]paletteuse=dither=sierra2_4a",
                str(path), stdin=raw)
    except (OSError, subprocess.SubprocessError):
        path.write_bytes(raw)
    return path
