"""Step 4: the tracks, the ambience bed, and the mastered mix.

The mix is planned before any track is made: each track's length is its share of the video
plus the crossfade into the next (`track_seconds`). With the local provider, whose tracks come
out exactly as long as asked, the one AAC encode of the mix starts at once and takes each
track as soon as it is made, so synthesis and encoding overlap on two cores; paid tracks
(whose lengths are only known once they arrive) are all made first, then mastered in one
pass. Either way every track made is heard once.

Each finished track is checkpointed in the step's outputs as soon as it is on disk, so a run
killed after seven of ten tracks resumes with the eighth and never asks for the first seven
again. Our own tracks and bed are written as WAV (read in place by the master) and kept as
FLAC once the mix is done.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Mapping

from .. import library, metadata
from ..budget import BudgetExceeded
from ..media import ffmpeg, master
from ..pipeline import StepContext, StepResult

# Tracks overlap by the mix's crossfade; each asks for that much more than its share.
CROSSFADE_PAD_S = master.CROSSFADE_S


def track_seconds(params: Mapping[str, Any], index: int) -> float:
    """Seconds to ask of track index (1-based): its share of the video, plus the crossfade into
    the next track; the last one ends with the video, so it gets no pad."""
    n = int(params["tracks"])
    share = float(params["minutes"]) * 60.0 / n
    return share + (CROSSFADE_PAD_S if index < n else 0.0)


async def run(ctx: StepContext) -> StepResult:
    if ctx.params.get("music"):
        return await _own(ctx)
    out = ctx.outputs
    specs = ctx.variation["tracks"][: int(ctx.params["tracks"])]
    total = len(specs)
    (ctx.session_dir / "tracks").mkdir(exist_ok=True)
    done = {t["index"]: t for t in out.get("tracks", []) if (ctx.session_dir / t["file"]).is_file()}
    out["tracks"] = sorted(done.values(), key=lambda t: t["index"])
    if done:
        ctx.log("INFO", f"{len(done)} of {total} tracks already made; resuming with the rest")
    ctx.progress(done=len(done), total=total, label=f"music {len(done)}/{total}")

    keeper = _FlacKeeper(ctx)
    try:
        if getattr(ctx.providers.music, "exact_length", False):
            plan = await _stream(ctx, specs, keeper)
        else:
            await _make_all(ctx, [s for s in specs if s["index"] not in done], total)
            await _ambience(ctx)
            ctx.progress(percent=0, label="mastering the mix")
            plan = await master.master_audio([_track_in(ctx, t) for t in out["tracks"]], _bed_in(ctx), _target(ctx),
                                             ctx.session_dir / "mix.m4a", on_progress=_mastering(ctx))
        await keeper.finish()
    finally:
        await keeper.close()
    return _mixed(ctx, plan, f"{metadata.count(total, 'track')}, {plan.get('integrated_lufs')} LUFS")


def _mixed(ctx: StepContext, plan: dict[str, Any], note: str) -> StepResult:
    out = ctx.outputs
    out["mix"] = str(Path(plan["file"]).relative_to(ctx.session_dir))
    out["segments"] = plan["segments"]
    for entry, lufs in zip(out["tracks"], plan.get("track_lufs") or []):
        entry["lufs"] = lufs  # measured by the master, before its gain
    out["integrated_lufs"] = plan.get("integrated_lufs")
    out["true_peak_dbtp"] = plan.get("true_peak_dbtp")
    return StepResult(out, note)


async def _own(ctx: StepContext) -> StepResult:
    """The person's own tracks (--music): nothing is made or paid. Exactly the files checked
    before the run (runner/library.py) are mastered like made ones, each with its real length,
    in the playlist's order and repeated to fill the video; the bed is made as usual."""
    out = ctx.outputs
    kept = ctx.state.get("own", {}).get("music", {}).get("tracks") or []
    if not kept:
        raise ffmpeg.MediaError("this session names --music but holds no record of the tracks checked (state.own); "
                                "start a new run")
    paths = [library.verified(ctx.root, t) for t in kept]
    keeper = _FlacKeeper(ctx)
    try:
        await _ambience(ctx)
        ctx.progress(percent=0, label="mastering the mix")
        plan = await master.master_audio([master.TrackIn(p) for p in paths], _bed_in(ctx), _target(ctx),
                                         ctx.session_dir / "mix.m4a", on_progress=_mastering(ctx))
        out["tracks"] = [{"index": i, "file": None, "source": t["path"], "title": t["title"], "artist": t.get("artist"),
                          "album": t.get("album"), "seconds": t["seconds"], "lufs": lufs, "provider": "own",
                          "model": None, "origin": {"provider": "own", "path": t["path"], "sha256": t["sha256"]}}
                         for i, (t, lufs) in enumerate(zip(kept, plan["track_lufs"]), 1)]
        await keeper.finish()
    finally:
        await keeper.close()
    heard = len({s["track"] for s in plan["segments"]})
    return _mixed(ctx, plan, f"{metadata.count(len(kept), 'track')} of yours"
                  + (f" ({heard} heard)" if heard < len(kept) else "") + f", {plan.get('integrated_lufs')} LUFS")


def _target(ctx: StepContext) -> float:
    return float(ctx.params["minutes"]) * 60.0


def _mastering(ctx: StepContext) -> master.ProgressFn:
    def on_progress(pct: float) -> None:
        ctx.progress(percent=pct, label=f"mastering {pct:.0f}%")
    return on_progress


async def _stream(ctx: StepContext, specs: list[dict[str, Any]], keeper: "_FlacKeeper") -> dict[str, Any]:
    """Make the tracks in playlist order, each fed to the running encoder as it is finished.

    The FLAC copies start only once every track is made: while the synthesis runs, the two
    cores are the synthesis's and the encoder's, and the copies fill the one the synthesis
    leaves during the encoder's last stretch (measured, a keyless hour: copying each track as
    it was made took the encoder's CPU and added about 10 s to the step).
    """
    await _ambience(ctx)
    total = len(specs)
    planned = [int(round(track_seconds(ctx.params, s["index"]) * master.RATE)) for s in specs]
    made = {t["index"]: t for t in ctx.outputs["tracks"]}
    tracks_done = [len(made) == total]

    def on_progress(pct: float) -> None:
        if tracks_done[0]:  # while tracks are being made, the count is the news
            ctx.progress(percent=pct, label=f"mastering {pct:.0f}%")

    async with master.MixStream(planned, _target(ctx), ctx.session_dir / "mix.m4a", ambience=_bed_in(ctx),
                                on_progress=on_progress) as stream:
        for k, spec in enumerate(specs):
            entry = made.get(spec["index"])
            if entry is None:
                entry = await _make_one(ctx, spec, total)  # checks the new file
            else:
                ffmpeg.check_input(ctx.session_dir / entry["file"], "audio")  # made before a resume
            await stream.add(k, _track_in(ctx, entry))
        tracks_done[0] = True
        keeper.start(ctx.outputs.get("ambience"))
        for entry in ctx.outputs["tracks"]:
            keeper.start(entry["file"])
        return await stream.finish()


async def _make_all(ctx: StepContext, todo: list[dict[str, Any]], total: int) -> None:
    """Make tracks as concurrently as the provider allows; checkpoint each as it lands."""
    gate = asyncio.Semaphore(max(1, int(getattr(ctx.providers.music, "concurrency", 1))))

    async def make(spec: dict[str, Any]) -> None:
        async with gate:
            await _make_one(ctx, spec, total)

    results = await asyncio.gather(*(make(s) for s in todo), return_exceptions=True)
    # Finished tracks are already checkpointed; now report the most telling failure.
    errors = [r for r in results if isinstance(r, BaseException)]
    for err in errors:
        if isinstance(err, BudgetExceeded):
            raise err
    if errors:
        raise errors[0]


async def _make_one(ctx: StepContext, spec: dict[str, Any], total: int) -> dict[str, Any]:
    out = ctx.outputs
    base = ctx.session_dir / "tracks" / f"{spec['index']:02d}"
    meta = await ctx.providers.music.make_track(ctx, spec, track_seconds(ctx.params, spec["index"]), base)
    path = Path(meta["file"])
    ffmpeg.check_input(path, "audio")
    entry = {"index": spec["index"], "file": str(path.relative_to(ctx.session_dir)),
             "title": spec["title"], "seconds": meta.get("seconds"), "bpm": meta.get("bpm", spec.get("bpm")),
             "key": meta.get("key", spec.get("key")), "mood": spec.get("mood"), "lufs": None,
             "provider": meta.get("provider"), "model": meta.get("model"), "origin": meta.get("origin")}
    out["tracks"] = sorted([*out["tracks"], entry], key=lambda t: t["index"])
    ctx.progress(done=len(out["tracks"]), total=total, label=f"music {len(out['tracks'])}/{total}")
    ctx.log("INFO", f"track {spec['index']}/{total} \u201c{spec['title']}\u201d ready")
    return entry


async def _ambience(ctx: StepContext) -> None:
    out = ctx.outputs
    if "ambience" in out and (out["ambience"] is None or (ctx.session_dir / out["ambience"]).is_file()):
        return
    atmosphere = ctx.params["atmosphere"]
    if atmosphere == "none":
        out["ambience"] = None
    else:
        meta = await ctx.providers.ambience.make_ambience(ctx, atmosphere, ctx.session_dir / "ambience")
        path = Path(meta["file"])
        ffmpeg.check_input(path, "audio")
        out["ambience"] = str(path.relative_to(ctx.session_dir))
        out["ambience_provider"] = meta.get("provider")
        out["ambience_origin"] = meta.get("origin")
    ctx.save()


def _track_in(ctx: StepContext, entry: dict[str, Any]) -> master.TrackIn:
    return master.TrackIn(ctx.session_dir / entry["file"])


def _bed_in(ctx: StepContext) -> master.TrackIn | None:
    out = ctx.outputs
    if not out.get("ambience"):
        return None
    return master.TrackIn(ctx.session_dir / out["ambience"])


class _FlacKeeper:
    """Our WAVs (tracks and bed) are kept as FLAC: the same samples in about half the bytes
    (issue 16). Each is encoded beside its WAV once start() names it (one ffmpeg at a time,
    overlapping the mix's encoder), the WAV stays while the master may still read it, and finish()
    points the outputs at the FLAC files, saves, and only then removes the WAVs."""

    def __init__(self, ctx: StepContext):
        self.ctx = ctx
        self.gate = asyncio.Semaphore(1)
        self.jobs: dict[str, asyncio.Future[None]] = {}

    def start(self, rel: str | None) -> None:
        if rel and rel.endswith(".wav") and rel not in self.jobs:
            self.jobs[rel] = asyncio.ensure_future(self._encode(self.ctx.session_dir / rel))

    async def _encode(self, path: Path) -> None:
        async with self.gate:
            flac = path.with_suffix(".flac")
            tmp = flac.with_name(f".{flac.name}.tmp")
            try:
                await ffmpeg.run(["-y", "-v", "error", "-i", str(path), "-map", "0:a:0", "-c:a", "flac", "-f", "flac",
                                  str(tmp)])
                tmp.replace(flac)
            finally:
                tmp.unlink(missing_ok=True)

    async def finish(self) -> None:
        out = self.ctx.outputs
        for entry in out["tracks"]:
            self.start(entry["file"])
        self.start(out.get("ambience"))
        await asyncio.gather(*self.jobs.values())
        flac = lambda rel: str(Path(rel).with_suffix(".flac"))  # noqa: E731
        for entry in out["tracks"]:
            if entry["file"] in self.jobs:
                entry["file"] = flac(entry["file"])
        if out.get("ambience") in self.jobs:
            out["ambience"] = flac(out["ambience"])
        self.ctx.save()
        for rel in self.jobs:
            (self.ctx.session_dir / rel).unlink(missing_ok=True)

    async def close(self) -> None:
        """Stop what is still encoding (a failed or interrupted step leaves no ffmpeg behind)."""
        for job in self.jobs.values():
            job.cancel()
        await asyncio.gather(*self.jobs.values(), return_exceptions=True)
