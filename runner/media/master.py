"""Mix and master: the playlist, crossfaded, over a looped ambience bed, at -14 LUFS.

Two passes, neither of which holds more than a few seconds of audio:

1. measure each track (and the bed) once with the BS.1770 meter, so every track can sit
   at the same loudness and the bed a fixed distance under the music;
2. stream the mix (tracks in playlist order, repeated until the target is filled, equal-
   power crossfades, the bed looped underneath) through a look-ahead peak limiter and a
   meter straight into one AAC encode.

The output lasts exactly the target, to the sample. The returned plan names every
segment's real start and end (the metadata step turns them into chapters) and the
loudness measured on the way out; the true peak is measured by ffmpeg on the encoded file,
at the loudest moments.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import memory, ffmpeg, loudness, wav

memory.tune()  # big numpy buffers go back to the system when freed (see memory.py)

RATE = 48000
CROSSFADE_S = 4.0
TARGET_LUFS = -14.0
AMBIENCE_LU_BELOW = 15.0      # the bed sits this far under the music
CEILING_DBFS = -2.0           # sample-peak ceiling; leaves room for AAC overshoot under -1 dBTP
MAX_TRACK_GAIN_DB = 18.0
END_FADE_S = 3.0
AAC_BITRATE = "192k"
# ffmpeg's default "twoloop" coder is the better one; "fast" takes about two thirds of the
# time (an hour: roughly 27 s against 42 s on one core here) and is transparent enough at
# 192 kb/s for soft lofi, so it keeps the hour-long session inside its time budget.
AAC_CODER = "fast"
CHUNK = 192000                # 4 s: a multiple of the limiter block and the meter's 100 ms
BLOCK = 64                    # limiter resolution, 1.3 ms
LOOKAHEAD = 8                 # blocks (about 11 ms) the limiter sees ahead
RELEASE_DB_PER_BLOCK = 0.08   # 60 dB/s back to unity
MIN_LAST_SEGMENT_S = 30.0     # shorter tails are absorbed by tighter crossfades when possible


# ----------------------------------------------------------------------------- sources

class Source:
    """A track (or bed) as 48 kHz stereo 16-bit PCM, read by offset.

    Plain reads rather than a memory map: mapped pages would count towards the runner's
    memory, and an hour of tracks is 700 MB.
    """

    def __init__(self, path: Path, pcm_path: Path, offset: int, frames: int):
        self.path = path
        self.pcm_path = pcm_path
        self.offset = offset
        self.frames = frames
        self.fh = open(pcm_path, "rb")

    def read(self, start: int, n: int) -> np.ndarray:
        out = np.zeros((n, 2), np.float32)
        a, b = max(0, start), min(self.frames, start + n)
        if b > a:
            data = os.pread(self.fh.fileno(), (b - a) * 4, self.offset + a * 4)
            got = len(data) // 4
            if got:
                out[a - start:a - start + got] = np.frombuffer(data[:got * 4], "<i2").reshape(-1, 2)
                out[a - start:a - start + got] *= 1 / 32768
        return out

    def close(self) -> None:
        self.fh.close()


async def open_source(path: Path, scratch: Path) -> Source:
    """Our own WAVs are read in place; anything else is decoded once to a scratch WAV."""
    path = Path(path)
    try:
        off, size, ch, rate, bits = wav.data_offset(path)
        if ch == 2 and rate == RATE and bits == 16:
            frames = min(size, path.stat().st_size - off) // 4
            if frames > 0:
                return Source(path, path, off, frames)
    except (OSError, ValueError):
        pass
    out = scratch / f"{len(list(scratch.iterdir())):03d}.wav"
    try:
        await ffmpeg.run(["-y", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn", "-ac", "2", "-ar", str(RATE),
                          "-c:a", "pcm_s16le", "-f", "wav", str(out)])
    except ffmpeg.FFmpegError as exc:
        raise ffmpeg.MediaError(f"audio track is corrupt or unreadable: {path} "
                                f"({ffmpeg.summarize_stderr(exc.stderr, 160)})") from None
    off, size, ch, rate, bits = wav.data_offset(out)
    frames = min(size, out.stat().st_size - off) // 4
    if frames <= 0:
        raise ffmpeg.MediaError(f"audio track decodes to no audio: {path}")
    return Source(path, out, off, frames)


def measure(src: Source) -> np.ndarray:
    """K-weighted 100 ms energies of a whole source."""
    meter = loudness.Meter()
    step = RATE * 20
    for a in range(0, src.frames, step):
        meter.add(src.read(a, min(step, src.frames - a)))
    return meter.energies()


# ----------------------------------------------------------------------------- the playlist

@dataclass
class Segment:
    track: int      # 0-based
    start: int      # output sample where it begins (fading in)
    length: int     # samples it plays
    fade_in: int
    fade_out: int


def plan_segments(durations: list[int], total: int, crossfade: int) -> list[Segment]:
    """Tracks in order, repeated until total samples are filled, each overlapping the next.

    A track shorter than three crossfades gets a shorter crossfade. When the final segment
    would be a short scrap of a repeated track, the crossfades are tightened instead so the
    previous track reaches the end, where that is possible.
    """
    if not durations or min(durations) <= 0:
        raise ValueError("every track needs some audio")
    n = len(durations)

    def build(xf: int) -> list[Segment]:
        segs: list[Segment] = []
        pos, i = 0, 0
        while True:
            d = durations[i % n]
            if pos + d >= total or len(segs) > 100000:
                segs.append(Segment(i % n, pos, total - pos, 0, 0))
                break
            segs.append(Segment(i % n, pos, d, 0, 0))
            x = min(xf, d // 3, durations[(i + 1) % n] // 3)
            pos += d - x
            i += 1
        for a, b in zip(segs, segs[1:]):
            ov = a.start + a.length - b.start
            a.fade_out = b.fade_in = max(0, ov)
        return segs

    segs = build(crossfade)
    last = segs[-1]
    if len(segs) >= 2 and last.length < MIN_LAST_SEGMENT_S * RATE:
        prev = segs[-2]
        need = total - (prev.start + prev.length)  # what the previous track falls short by
        joins = len(segs) - 2
        if need <= 0:
            segs = segs[:-1]
            segs[-1].length = total - segs[-1].start
            segs[-1].fade_out = 0
        elif joins > 0 and need <= joins * (crossfade - RATE // 2):
            # Shave the same amount off every earlier crossfade.
            shave = math.ceil(need / joins)
            pos = 0
            out = []
            for k, s in enumerate(segs[:-1]):
                s = Segment(s.track, pos, s.length, 0, 0)
                out.append(s)
                if k < len(segs) - 2:
                    ov = max(0, min(crossfade, durations[s.track] // 3) - shave)
                    pos += s.length - ov
            out[-1].length = min(out[-1].length, total - out[-1].start)
            if out[-1].start + out[-1].length >= total - 1:
                out[-1].length = total - out[-1].start
                for a, b in zip(out, out[1:]):
                    a.fade_out = b.fade_in = max(0, a.start + a.length - b.start)
                segs = out
    return segs


# ----------------------------------------------------------------------------- the mix

class Mixer:
    def __init__(self, segs: list[Segment], sources: list[Source], gains: list[float],
                 bed: np.ndarray | None, bed_gain: float, total: int):
        self.segs = segs
        self.sources = sources
        self.gains = gains
        self.bed = bed
        self.bed_gain = bed_gain
        self.total = total
        if bed is not None:
            self.bed_xf = min(2 * RATE, len(bed) // 4)
            self.bed_period = len(bed) - self.bed_xf
        self.starts = np.array([s.start for s in segs], np.int64)

    def mix(self, a: int, b: int) -> np.ndarray:
        """The unmastered mix for output samples [a, b); zero outside [0, total)."""
        n = b - a
        out = np.zeros((n, 2), np.float32)
        lo_a, hi_b = max(0, a), min(self.total, b)
        if hi_b <= lo_a:
            return out
        first = max(0, int(np.searchsorted(self.starts, lo_a, side="right")) - 2)
        for s in self.segs[first:]:
            if s.start >= hi_b:
                break
            lo, hi = max(lo_a, s.start), min(hi_b, s.start + s.length)
            if hi <= lo:
                continue
            x = self.sources[s.track].read(lo - s.start, hi - lo)
            g = np.full(hi - lo, self.gains[s.track], np.float32)
            pos = np.arange(lo - s.start, hi - s.start)
            if s.fade_in:
                m = pos < s.fade_in
                if m.any():
                    g[m] *= np.sin(0.5 * np.pi * (pos[m] + 0.5) / s.fade_in)
            if s.fade_out:
                m = pos >= s.length - s.fade_out
                if m.any():
                    g[m] *= np.cos(0.5 * np.pi * (pos[m] - (s.length - s.fade_out) + 0.5) / s.fade_out)
            x *= g[:, None]
            out[lo - a:hi - a] += x
        if self.bed is not None:
            out[lo_a - a:hi_b - a] += self._bed(lo_a, hi_b) * self.bed_gain
        # The very end fades out so the video closes softly, and the first 10 ms fade in.
        end_fade = int(END_FADE_S * RATE)
        if hi_b > self.total - end_fade:
            p = np.arange(lo_a, hi_b)
            f = np.clip((self.total - p) / end_fade, 0, 1) ** 1.5
            out[lo_a - a:hi_b - a] *= f[:, None].astype(np.float32)
        if lo_a < 480:
            p = np.arange(lo_a, min(hi_b, 480))
            out[lo_a - a:lo_a - a + len(p)] *= (p / 480.0)[:, None].astype(np.float32)
        return out

    def _bed(self, a: int, b: int) -> np.ndarray:
        """The bed looped with an equal-power crossfade at each repeat."""
        bed, P, X = self.bed, self.bed_period, self.bed_xf
        p = np.arange(a, b)
        k = p // P
        o = p - k * P
        out = bed[o].copy()
        fresh = (k > 0) & (o < X)
        if fresh.any():
            of = o[fresh]
            out[fresh] *= np.sin(0.5 * np.pi * (of + 0.5) / X)[:, None]
            out[fresh] += bed[of + P] * np.cos(0.5 * np.pi * (of + 0.5) / X)[:, None]
        return out


class Limiter:
    """Look-ahead peak limiter on 64-sample blocks; smooth attack, exponential release."""

    def __init__(self, ceiling_db: float):
        self.ceiling = 10 ** (ceiling_db / 20)
        self.last = 0.0  # log gain of the last node output
        self.k = RELEASE_DB_PER_BLOCK / 20 * math.log(10)
        self.engaged_blocks = 0

    def margin(self) -> int:
        return (LOOKAHEAD + LOOKAHEAD // 2 + 2) * BLOCK

    def gains(self, ext: np.ndarray, n: int) -> np.ndarray:
        """Per-sample gains for the n samples after the first margin() of ext (which also
        has margin() samples after them)."""
        m = self.margin()
        # (frames, 2) is contiguous, so each row of this view is one block of both channels.
        pk = np.abs(ext.reshape(-1, BLOCK * 2)).max(axis=1)
        req = np.minimum(1.0, self.ceiling / np.maximum(pk, 1e-9))
        lg = np.log(req)
        A = LOOKAHEAD
        # Min over +-A blocks, then a mean over +-A/2: every value in the mean already
        # respects this block's need, so the smoothed gain still does.
        pad = np.concatenate([np.zeros(A), lg, np.zeros(A)])
        mins = lg.copy()
        for d in range(-A, A + 1):
            np.minimum(mins, pad[A + d:A + d + len(lg)], out=mins)
        h = A // 2
        c = np.concatenate([[0.0], np.cumsum(np.concatenate([np.zeros(h), mins, np.zeros(h)]))])
        smooth = (c[2 * h + 1:] - c[:-(2 * h + 1)]) / (2 * h + 1)
        smooth = np.minimum(smooth, mins)  # never above what the min filter allows here
        nb0, nb = m // BLOCK, n // BLOCK
        own = smooth[nb0:nb0 + nb + 1]
        # Release: node_j = min(own_j, node_{j-1} + k), in closed form with a running min.
        j = np.arange(len(own))
        seq = np.minimum(own - self.k * j, self.last - self.k * (-1))
        nodes = np.minimum(np.minimum.accumulate(seq) + self.k * j, 0.0)
        self.last = float(nodes[nb - 1]) if nb else self.last
        if np.any(nodes < -1e-6):
            self.engaged_blocks += int(np.sum(nodes < -1e-6))
        lin = np.exp(nodes)
        # Linear ramps between nodes, sample by sample.
        g = np.repeat(lin[:-1], BLOCK) + np.repeat(np.diff(lin), BLOCK) * np.tile((np.arange(BLOCK) + 0.5) / BLOCK, nb)
        return g.astype(np.float32)


# ----------------------------------------------------------------------------- mastering

async def master_audio(tracks: list[Path], ambience: Path | None, target_s: float, out_audio: Path, *,
                       on_progress: Callable[[float], None] | None = None,
                       crossfade_s: float = CROSSFADE_S) -> dict[str, Any]:
    """Mix tracks (in order, repeated to fill target_s) over the looped ambience into one AAC file.

    Returns {"file", "segments": [{"track": 1-based, "start", "end"}], "integrated_lufs",
    "true_peak_dbtp", "seconds", ...}.
    """
    if not tracks:
        raise ValueError("no tracks to master")
    if not target_s or target_s <= 0:
        raise ValueError(f"target length must be positive, got {target_s}")
    out_audio = Path(out_audio)
    total = int(round(target_s * RATE))
    for t in tracks:
        ffmpeg.check_input(Path(t), "audio")
    if ambience is not None:
        ffmpeg.check_input(Path(ambience), "audio")
    # A run killed mid-master leaves its scratch folder; one master runs per session at a time.
    for stale in out_audio.parent.glob(".master-*"):
        shutil.rmtree(stale, ignore_errors=True)
    scratch = Path(tempfile.mkdtemp(prefix=".master-", dir=out_audio.parent))
    sources: list[Source] = []
    bed_src: Source | None = None
    try:
        for t in tracks:
            sources.append(await open_source(Path(t), scratch))
        bed_src = await open_source(Path(ambience), scratch) if ambience is not None else None

        # Pass 1: how loud is each track (and the bed)?
        def measure_all() -> tuple[list[float], float | None, list[np.ndarray], np.ndarray | None]:
            energies = [measure(s) for s in sources]
            bed_e = measure(bed_src) if bed_src is not None else None
            return [loudness.integrated(e) for e in energies], (loudness.integrated(bed_e) if bed_e is not None else None), energies, bed_e
        levels, bed_level, energies, bed_e = await asyncio.to_thread(measure_all)
        gains = []
        for lv in levels:
            gdb = 0.0 if not math.isfinite(lv) else max(-40.0, min(MAX_TRACK_GAIN_DB, TARGET_LUFS - lv))
            gains.append(10 ** (gdb / 20))
        bed = None
        bed_gain = 0.0
        if bed_src is not None and bed_level is not None and math.isfinite(bed_level):
            bed = bed_src.read(0, bed_src.frames)
            bed_gain = 10 ** ((TARGET_LUFS - AMBIENCE_LU_BELOW - bed_level) / 20)

        segs = plan_segments([s.frames for s in sources], total, int(crossfade_s * RATE))
        # Predict the mix's loudness from the measured energies, then correct the whole mix.
        predicted = _predict(segs, energies, gains, bed_e, bed_gain, total)
        correction = 10 ** ((TARGET_LUFS - predicted) / 20) if math.isfinite(predicted) else 1.0
        mixer = Mixer(segs, sources, [g * correction for g in gains], bed, bed_gain * correction, total)

        result = await _encode(mixer, total, out_audio, on_progress)
        # A limiter that worked hard lowers loudness a little; one corrective pass if it shows.
        if abs(result["integrated_lufs"] - TARGET_LUFS) > 0.5 and math.isfinite(result["integrated_lufs"]):
            fix = 10 ** ((TARGET_LUFS - result["integrated_lufs"]) / 20)
            mixer.gains = [g * fix for g in mixer.gains]
            mixer.bed_gain *= fix
            result = await _encode(mixer, total, out_audio, on_progress)
        tp = await true_peak(out_audio, result["peak_times"])
        if tp > -1.0:
            # AAC overshot the ceiling somewhere: once more with a lower ceiling.
            result = await _encode(mixer, total, out_audio, on_progress, ceiling_db=CEILING_DBFS - (tp + 1.0) - 0.3)
            tp = await true_peak(out_audio, result["peak_times"])
    finally:
        for s in sources:
            s.close()
        if bed_src is not None:
            bed_src.close()
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "file": out_audio,
        "seconds": total / RATE,
        "segments": [{"track": s.track + 1, "start": round(s.start / RATE, 3),
                      "end": round((s.start + s.length) / RATE, 3)} for s in segs],
        "integrated_lufs": round(result["integrated_lufs"], 2),
        "true_peak_dbtp": round(tp, 2),
        "sample_peak_dbfs": round(result["sample_peak_dbfs"], 2),
        "track_lufs": [round(v, 2) if math.isfinite(v) else None for v in levels],
        "limited_ms": round(result["limited_blocks"] * BLOCK / RATE * 1000, 1),
    }


def _predict(segs: list[Segment], energies: list[np.ndarray], gains: list[float], bed_e: np.ndarray | None,
             bed_gain: float, total: int) -> float:
    """Loudness of the mix from the sources' 100 ms energies (sources add as uncorrelated)."""
    sub = loudness.SUB
    nb = total // sub
    mix = np.zeros(nb)
    for s in segs:
        e = energies[s.track]
        b0 = int(round(s.start / sub))
        k = min(len(e), s.length // sub, nb - b0)
        if k <= 0:
            continue
        w = np.ones(k)
        pos = (np.arange(k) + 0.5) * sub
        if s.fade_in:
            m = pos < s.fade_in
            w[m] = np.sin(0.5 * np.pi * pos[m] / s.fade_in) ** 2
        if s.fade_out:
            m = pos > s.length - s.fade_out
            w[m] = np.cos(0.5 * np.pi * (pos[m] - (s.length - s.fade_out)) / s.fade_out) ** 2
        mix[b0:b0 + k] += e[:k] * w * gains[s.track] ** 2
    if bed_e is not None and len(bed_e):
        mix += np.resize(bed_e, nb) * bed_gain ** 2
    end = int(END_FADE_S * 10)
    if nb > end:
        mix[-end:] *= (np.linspace(1, 0, end) ** 1.5) ** 2
    return loudness.integrated(mix)


async def _encode(mixer: Mixer, total: int, out_audio: Path, on_progress: Callable[[float], None] | None,
                  ceiling_db: float = CEILING_DBFS) -> dict[str, Any]:
    """Pass 2: mix, limit, meter and feed one AAC encoder; write out_audio via a temp name."""
    tmp = out_audio.with_name(f".{out_audio.stem}.tmp{out_audio.suffix or '.m4a'}")
    limiter = Limiter(ceiling_db)
    meter = loudness.Meter()
    m = limiter.margin()
    peaks: list[tuple[float, int]] = []  # (peak, chunk start), the loudest moments
    sample_peak = 0.0

    def chunk(a: int) -> bytes:
        nonlocal sample_peak
        n = min(CHUNK, total - a)
        npad = -(-n // BLOCK) * BLOCK
        ext = mixer.mix(a - m, a + npad + m)
        g = limiter.gains(ext, npad)
        y = ext[m:m + n] * g[:n, None]
        meter.add(y)
        pk = float(max(y.max(), -y.min())) if n else 0.0
        sample_peak = max(sample_peak, pk)
        peaks.append((pk, a))
        return y.astype("<f4").tobytes()

    args = ["-y", "-v", "error", "-f", "f32le", "-ar", str(RATE), "-ac", "2", "-i", "pipe:0",
            "-c:a", "aac", "-aac_coder", AAC_CODER, "-b:a", AAC_BITRATE, "-movflags", "+faststart", str(tmp)]
    last_pct = -1.0
    try:
        async with ffmpeg.Pipe(args) as pipe:
            pending = asyncio.ensure_future(asyncio.to_thread(chunk, 0))
            a = 0
            while a < total:
                data = await pending
                nxt = a + CHUNK
                if nxt < total:
                    pending = asyncio.ensure_future(asyncio.to_thread(chunk, nxt))
                await pipe.write(data)
                a = nxt
                pct = min(99.0, 100.0 * a / total)
                if on_progress is not None and pct - last_pct >= 1.0:  # a few dozen updates, not thousands
                    last_pct = pct
                    on_progress(pct)
        tmp.replace(out_audio)
    finally:
        tmp.unlink(missing_ok=True)
    peaks.sort(reverse=True)
    return {"integrated_lufs": meter.lufs(), "sample_peak_dbfs": loudness.db(sample_peak),
            "peak_times": [a / RATE for _, a in peaks[:6]], "limited_blocks": limiter.engaged_blocks}


_TP = re.compile(r"Peak:\s+(-?[\d.]+|-inf)\s+dBFS")


async def true_peak(path: Path, starts: list[float], window: float = CHUNK / RATE) -> float:
    """ffmpeg's true peak (dBTP) over the given windows of an encoded file."""
    async def one(t0: float) -> float:
        err = await ffmpeg.run(["-v", "info", "-nostats", "-ss", f"{max(0.0, t0 - 0.1):.3f}", "-t", f"{window + 0.2:.3f}",
                                "-i", str(path), "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"])
        found = _TP.findall(err)
        return float(found[-1]) if found and found[-1] != "-inf" else float("-inf")
    if not starts:
        return float("-inf")
    values = await asyncio.gather(*(one(t) for t in starts))
    return max(values)


async def measure_file(path: Path) -> dict[str, float]:
    """ffmpeg's ebur128 over a whole file: integrated LUFS and true peak (for tests and checks)."""
    err = await ffmpeg.run(["-v", "info", "-nostats", "-i", str(path), "-map", "0:a:0",
                            "-af", "ebur128=peak=true:framelog=verbose", "-f", "null", "-"])
    i = re.findall(r"I:\s+(-?[\d.]+) LUFS", err)
    tp = _TP.findall(err)
    return {"integrated_lufs": float(i[-1]) if i else float("nan"),
            "true_peak_dbtp": float(tp[-1]) if tp and tp[-1] != "-inf" else float("-inf")}
