"""Mix and master: the playlist, crossfaded, over a looped ambience bed, at -14 LUFS.

Each track is mastered on its own, as streaming services do: its integrated loudness (BS.1770,
measured once as it arrives) sets one gain that brings it to the target, so every track sits
at the same loudness and the bed a fixed distance under the music. The mix is then streamed,
4 s at a time, through a look-ahead peak limiter into ONE AAC encode. Its loudness is
worked out from the sources' measured 100 ms energies, their gains and the fades (sources add
as uncorrelated), not metered a second time on the way out. Tracks may still be on their way when it starts (`MixStream`): the encoder waits only
for the samples that need a track not yet made, so making tracks and encoding overlap on two
cores. `master_audio` is the same path for files that all exist (paid, resumed or a person's
own tracks, each with its real length).

The output lasts exactly the target, to the sample. The returned plan names every segment's
real start and end (the metadata step turns them into chapters) and the loudness measured on
the way; the true peak is measured by ffmpeg on the encoded file, at the loudest moments.
Only if the result misses a target (loudness off by more than LOUDNESS_SLACK_LU, true peak
above -1 dBTP) is the mix encoded once more from the tracks on disk.
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
from typing import Any, Callable, Sequence

import numpy as np

from . import ffmpeg, loudness, memory, wav

memory.tune()  # big numpy buffers go back to the system when freed (see memory.py)

RATE = 48000
CROSSFADE_S = 4.0
TARGET_LUFS = -14.0
AMBIENCE_LU_BELOW = 15.0      # the bed sits this far under the music
LOUDNESS_SLACK_LU = 0.5       # a mix further than this from the target is encoded again
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
BED_CROSSFADE_S = 2.0         # where a looped bed meets its own start

ProgressFn = Callable[[float], None]


# ----------------------------------------------------------------------------- sources

@dataclass
class TrackIn:
    """An audio file for the mix, and where its samples can be read.

    pcm: a 48 kHz 16-bit stereo WAV of the same audio to read in place (the file itself may
    be FLAC, MP3 or AAC); None decodes the file once to a scratch WAV (or reads it in place
    when it is such a WAV itself).
    """

    file: Path
    pcm: Path | None = None


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
        """Samples [start, start + n) as float32 (n, 2); zeros outside the track."""
        a, b = max(0, start), min(self.frames, start + n)
        if a == start and b - a == n:
            data = os.pread(self.fh.fileno(), n * 4, self.offset + a * 4)
            if len(data) == n * 4:
                return np.frombuffer(data, "<i2").reshape(-1, 2).astype(np.float32) * np.float32(1 / 32768)
        out = np.zeros((n, 2), np.float32)
        if b > a:
            data = os.pread(self.fh.fileno(), (b - a) * 4, self.offset + a * 4)
            got = len(data) // 4
            if got:
                out[a - start:a - start + got] = np.frombuffer(data[:got * 4], "<i2").reshape(-1, 2)
                out[a - start:a - start + got] *= np.float32(1 / 32768)
        return out

    def close(self) -> None:
        self.fh.close()


def _pcm_in_place(path: Path) -> tuple[int, int] | None:
    """(data offset, frames) of a 48 kHz 16-bit stereo WAV, else None."""
    try:
        off, size, ch, rate, bits = wav.data_offset(path)
    except (OSError, ValueError):
        return None
    if (ch, rate, bits) != (2, RATE, 16):
        return None
    frames = min(size, path.stat().st_size - off) // 4
    return (off, frames) if frames > 0 else None


async def open_source(track: TrackIn | Path, scratch: Path) -> Source:
    """Our own WAVs are read in place; anything else is decoded once to a scratch WAV."""
    track = track if isinstance(track, TrackIn) else TrackIn(Path(track))
    path = Path(track.file)
    for candidate in (track.pcm, path):
        if candidate is not None and (found := _pcm_in_place(Path(candidate))):
            return Source(path, Path(candidate), *found)
    out = scratch / f"{len(list(scratch.iterdir())):03d}.wav"
    try:
        await ffmpeg.run(["-y", "-v", "error", "-i", str(path), "-map", "0:a:0", "-vn", "-ac", "2", "-ar", str(RATE),
                          "-c:a", "pcm_s16le", "-f", "wav", str(out)])
    except ffmpeg.FFmpegError as exc:
        raise ffmpeg.MediaError(f"audio track is corrupt or unreadable: {path} "
                                f"({ffmpeg.summarize_stderr(exc.stderr, 160)})") from None
    found = _pcm_in_place(out)
    if found is None:
        raise ffmpeg.MediaError(f"audio track decodes to no audio: {path}")
    return Source(path, out, *found)


MEASURE_STRIDE = 3  # measure one 100 ms block in three; the others repeat it
BED_MEASURE_S = 120.0  # a bed is steady by design: its first two minutes give its level


def measure(src: Source, seconds: float | None = None) -> np.ndarray:
    """K-weighted 100 ms energies of a whole source (loudness.integrated turns them into LUFS).

    One block in MEASURE_STRIDE is measured and stands for its neighbours: the integrated
    loudness of a track of minutes moves by a few hundredths of a LU (tests compare with
    ffmpeg), for a third of the work on the way to the encoder.
    """
    sub = loudness.SUB
    frames = src.frames if seconds is None else min(src.frames, int(seconds * RATE))
    blocks = frames // sub
    out = np.zeros(blocks)
    step = 200 * MEASURE_STRIDE  # 60 s of blocks per read
    for b0 in range(0, blocks, step):
        b1 = min(blocks, b0 + step)
        raw = np.frombuffer(os.pread(src.fh.fileno(), (b1 - b0) * sub * 4, src.offset + b0 * sub * 4), "<i2")
        whole = len(raw) // (sub * 2)
        if whole == 0:
            break
        # Only the blocks measured are converted to float.
        x = raw[:whole * sub * 2].reshape(whole, sub, 2)[::MEASURE_STRIDE].astype(np.float32) * np.float32(1 / 32768)
        e = loudness.block_energy(x.reshape(-1, 2))
        out[b0:b0 + whole] = np.repeat(e, MEASURE_STRIDE)[:whole]
    return out


def gain_to(target_lufs: float, lufs: float) -> float:
    """The linear gain that brings a source measured at lufs to target_lufs (bounded)."""
    gdb = 0.0 if not math.isfinite(lufs) else max(-40.0, min(MAX_TRACK_GAIN_DB, target_lufs - lufs))
    return 10 ** (gdb / 20)


class Bed:
    """A bed source repeated without a seam: each repeat fades in over the previous one's
    last BED_CROSSFADE_S (equal power), read 4 s at a time, never held whole in memory."""

    def __init__(self, src: Source, gain: float):
        self.src = src
        self.gain = gain
        self.xf = min(int(BED_CROSSFADE_S * RATE), src.frames // 4)
        self.period = src.frames - self.xf

    def read(self, a: int, b: int) -> np.ndarray:
        out = np.zeros((b - a, 2), np.float32)
        P, X = self.period, self.xf
        pos = a
        while pos < b:
            k, o = divmod(pos, P)
            n = min(b - pos, P - o)
            x = self.src.read(o, n)
            if k > 0 and o < X:
                # The start of this repeat fades in over the end of the previous one.
                m = min(n, X - o)
                ph = (np.arange(o, o + m, dtype=np.float32) + 0.5) * np.float32(0.5 * np.pi / X)
                x[:m] *= np.sin(ph)[:, None]
                x[:m] += self.src.read(P + o, m) * np.cos(ph)[:, None]
            out[pos - a:pos - a + n] = x
            pos += n
        out *= np.float32(self.gain)
        return out


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
    segs = _fill(durations, total, crossfade)
    # Only a repeat is a scrap: a track not heard before keeps its place, however short.
    if len(segs) > len(durations) and segs[-1].length < MIN_LAST_SEGMENT_S * RATE:
        segs = _absorb_last_scrap(segs, durations, total, crossfade)
    return segs


def playlist_samples(durations: Sequence[int], crossfade: int) -> int:
    """Samples of the playlist heard once through: every track whole, each crossfaded into
    the next as plan_segments() does. A target of exactly this plays each track once, the
    last one ending with the mix (`--minutes auto` with a person's own music)."""
    if not durations or min(durations) <= 0:
        raise ValueError("every track needs some audio")
    return sum(durations) - sum(_overlap(a, b, crossfade) for a, b in zip(durations, durations[1:]))


def _overlap(d: int, d_next: int, crossfade: int) -> int:
    """Samples one track overlaps the next: the crossfade, shorter between short tracks."""
    return min(crossfade, d // 3, d_next // 3)


def _fill(durations: list[int], total: int, crossfade: int) -> list[Segment]:
    n = len(durations)
    segs: list[Segment] = []
    pos, i = 0, 0
    while True:
        d = durations[i % n]
        if pos + d >= total or len(segs) > 100000:
            segs.append(Segment(i % n, pos, total - pos, 0, 0))
            break
        segs.append(Segment(i % n, pos, d, 0, 0))
        pos += d - _overlap(d, durations[(i + 1) % n], crossfade)
        i += 1
    _link_fades(segs)
    return segs


def _link_fades(segs: list[Segment]) -> None:
    for a, b in zip(segs, segs[1:]):
        a.fade_out = b.fade_in = max(0, a.start + a.length - b.start)


def _absorb_last_scrap(segs: list[Segment], durations: list[int], total: int, crossfade: int) -> list[Segment]:
    prev = segs[-2]
    need = total - (prev.start + prev.length)  # what the previous track falls short by
    joins = len(segs) - 2
    if need <= 0:
        segs = segs[:-1]
        segs[-1].length = total - segs[-1].start
        segs[-1].fade_out = 0
        return segs
    if joins <= 0 or need > joins * (crossfade - RATE // 2):
        return segs
    # Shave the same amount off every earlier crossfade.
    shave = math.ceil(need / joins)
    pos = 0
    out = []
    for k, s in enumerate(segs[:-1]):
        s = Segment(s.track, pos, s.length, 0, 0)
        out.append(s)
        if k < len(segs) - 2:
            pos += s.length - max(0, min(crossfade, durations[s.track] // 3) - shave)
    out[-1].length = min(out[-1].length, total - out[-1].start)
    if out[-1].start + out[-1].length < total - 1:
        return segs
    out[-1].length = total - out[-1].start
    _link_fades(out)
    return out


# ----------------------------------------------------------------------------- the mix

class Mixer:
    """The unmastered mix: segments of sources at their gains, crossfaded, over the bed."""

    def __init__(self, segs: list[Segment], sources: list[Source | None], gains: list[float],
                 bed: Bed | None, total: int):
        self.segs = segs
        self.sources = sources
        self.gains = gains
        self.bed = bed
        self.total = total
        self.starts = np.array([s.start for s in segs], np.int64)

    def tracks_in(self, a: int, b: int) -> set[int]:
        """The tracks whose audio output samples [a, b) need."""
        return {s.track for s in self._overlapping(a, b)}

    def _overlapping(self, a: int, b: int) -> list[Segment]:
        first = max(0, int(np.searchsorted(self.starts, a, side="right")) - 2)
        out = []
        for s in self.segs[first:]:
            if s.start >= b:
                break
            if s.start + s.length > a:
                out.append(s)
        return out

    def mix(self, a: int, b: int) -> np.ndarray:
        """The unmastered mix for output samples [a, b); zero outside [0, total)."""
        out = np.zeros((b - a, 2), np.float32)
        lo_a, hi_b = max(0, a), min(self.total, b)
        if hi_b <= lo_a:
            return out
        for s in self._overlapping(lo_a, hi_b):
            lo, hi = max(lo_a, s.start), min(hi_b, s.start + s.length)
            src = self.sources[s.track]
            assert src is not None, f"track {s.track + 1} is not ready"
            x = src.read(lo - s.start, hi - lo)
            x *= np.float32(self.gains[s.track])
            _fade(x, lo - s.start, s.fade_in, s.length - s.fade_out, s.fade_out)
            out[lo - a:hi - a] += x
        if self.bed is not None:
            out[lo_a - a:hi_b - a] += self.bed.read(lo_a, hi_b)
        # The very end fades out so the video closes softly, and the first 10 ms fade in.
        end_fade = int(END_FADE_S * RATE)
        if hi_b > self.total - end_fade:
            p = np.arange(max(lo_a, self.total - end_fade), hi_b)
            f = (((self.total - p) / end_fade) ** 1.5).astype(np.float32)
            out[p[0] - a:hi_b - a] *= f[:, None]
        if lo_a < 480:
            p = np.arange(lo_a, min(hi_b, 480))
            out[lo_a - a:lo_a - a + len(p)] *= (p / 480.0)[:, None].astype(np.float32)
        return out


def _fade(x: np.ndarray, pos0: int, fade_in: int, out_at: int, fade_out: int) -> None:
    """Equal-power fades on x, whose first sample is sample pos0 of its segment."""
    n = len(x)
    if fade_in and pos0 < fade_in:
        m = min(n, fade_in - pos0)
        ph = (np.arange(pos0, pos0 + m, dtype=np.float64) + 0.5) * (0.5 * np.pi / fade_in)
        x[:m] *= np.sin(ph).astype(np.float32)[:, None]
    if fade_out and pos0 + n > out_at:
        k = max(0, out_at - pos0)
        ph = (np.arange(pos0 + k, pos0 + n, dtype=np.float64) - out_at + 0.5) * (0.5 * np.pi / fade_out)
        x[k:] *= np.cos(ph).astype(np.float32)[:, None]


class Limiter:
    """Look-ahead peak limiter on 64-sample blocks; smooth attack, exponential release."""

    def __init__(self, ceiling_db: float):
        self.ceiling = 10 ** (ceiling_db / 20)
        self.last = 0.0  # log gain of the last node output
        self.k = RELEASE_DB_PER_BLOCK / 20 * math.log(10)
        self.engaged_blocks = 0

    def margin(self) -> int:
        return (LOOKAHEAD + LOOKAHEAD // 2 + 2) * BLOCK

    def gains(self, ext: np.ndarray, n: int) -> np.ndarray | None:
        """Per-sample gains for the n samples after the first margin() of ext (which also
        has margin() samples after them); None when every gain is 1 (nothing near the ceiling
        and the last reduction fully released: most of a -14 LUFS mix)."""
        m = self.margin()
        # (frames, 2) is contiguous, so each row of this view is one block of both channels.
        pk = np.abs(ext.reshape(-1, BLOCK * 2)).max(axis=1)
        if self.last >= 0.0 and float(pk.max()) <= self.ceiling:
            return None
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

class MixStream:
    """Master a playlist into one AAC file while its tracks are still being made.

    planned: each track's length in samples, known before it is made (the plan of the mix).
    Use it as `async with MixStream(...) as stream:`, `await stream.add(i, TrackIn(...))` for
    each track in any order as it is finished, then `plan = await stream.finish()`. The
    encoder starts at once and waits only where it needs a track not yet added. Leaving the
    block with an exception stops the encoder and leaves no output file.
    """

    def __init__(self, planned: Sequence[int], target_s: float, out_audio: Path, *,
                 ambience: TrackIn | Path | None = None, on_progress: ProgressFn | None = None,
                 crossfade_s: float = CROSSFADE_S):
        if not planned:
            raise ValueError("no tracks to master")
        if not target_s or target_s <= 0:
            raise ValueError(f"target length must be positive, got {target_s}")
        self.out_audio = Path(out_audio)
        self.total = int(round(target_s * RATE))
        self.segs = plan_segments([int(p) for p in planned], self.total, int(crossfade_s * RATE))
        n = len(planned)
        self.sources: list[Source | None] = [None] * n
        self.energies: list[np.ndarray] = [np.zeros(0)] * n
        self.levels: list[float] = [float("nan")] * n
        self.bed_energies: np.ndarray | None = None
        self.measuring: list[asyncio.Future[None]] = []
        self.gains = [1.0] * n
        self.ready = [asyncio.Event() for _ in range(n)]
        self.ambience = ambience
        self.on_progress = on_progress
        self.bed_src: Source | None = None
        self.task: asyncio.Future[dict[str, Any]] | None = None

    async def __aenter__(self) -> "MixStream":
        # A run killed mid-master leaves its scratch folder; one master runs per session at a time.
        for stale in self.out_audio.parent.glob(".master-*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.scratch = Path(tempfile.mkdtemp(prefix=".master-", dir=self.out_audio.parent))
        try:
            bed = await self._open_bed()
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise
        # With a bed under it, a track at the target would make the sum a little louder.
        self.track_target = TARGET_LUFS if bed is None else \
            TARGET_LUFS + 10 * math.log10(1 - 10 ** (-AMBIENCE_LU_BELOW / 10))
        self.mixer = Mixer(self.segs, self.sources, self.gains, bed, self.total)
        self.task = asyncio.ensure_future(_encode(self.mixer, self.total, self.out_audio, self.on_progress,
                                                  CEILING_DBFS, self._wait_for))
        return self

    async def _open_bed(self) -> Bed | None:
        if self.ambience is None:
            return None
        amb = self.ambience if isinstance(self.ambience, TrackIn) else TrackIn(Path(self.ambience))
        ffmpeg.check_input(Path(amb.file), "audio")
        self.bed_src = await open_source(amb, self.scratch)
        self.bed_energies = await asyncio.to_thread(measure, self.bed_src, BED_MEASURE_S)
        level = loudness.integrated(self.bed_energies)
        if not math.isfinite(level):
            return None
        return Bed(self.bed_src, 10 ** ((TARGET_LUFS - AMBIENCE_LU_BELOW - level) / 20))

    async def add(self, index: int, track: TrackIn | Path) -> None:
        """Track index (0-based) is finished: once measured (in a worker thread, while the
        caller goes on making the next track), the encoder uses it.

        The file must have passed ffmpeg.check_input already (the music step checks each
        track as it lands; master_audio checks them all first): a second probe of every track
        cost a keyless hour about 2 s of CPU while the encoder waited for it."""
        track = track if isinstance(track, TrackIn) else TrackIn(Path(track))
        if self.task is not None and self.task.done():
            self.task.result()  # the encoder failed: say why now, not after every track is made
        src = await open_source(track, self.scratch)
        self.sources[index] = src

        async def level() -> None:
            self.energies[index] = await asyncio.to_thread(measure, src)
            self.levels[index] = loudness.integrated(self.energies[index])
            self.gains[index] = gain_to(self.track_target, self.levels[index])
            self.ready[index].set()
        self.measuring.append(asyncio.ensure_future(level()))

    async def _wait_for(self, a: int, b: int) -> None:
        for k in sorted(self.mixer.tracks_in(a, b)):
            await self.ready[k].wait()

    async def finish(self) -> dict[str, Any]:
        """Wait for the encode (every track must have been added); check and return the plan."""
        missing = [k + 1 for k, src in enumerate(self.sources) if src is None]
        if missing:
            raise ValueError(f"track(s) {missing} were never added to the mix")
        assert self.task is not None
        await asyncio.gather(*self.measuring)
        result = await self.task
        lufs = self._loudness()
        # Missed a target? Once more from the tracks on disk, all of which are here now.
        if abs(lufs - TARGET_LUFS) > LOUDNESS_SLACK_LU and math.isfinite(lufs):
            fix = 10 ** ((TARGET_LUFS - lufs) / 20)
            self.mixer.gains[:] = [g * fix for g in self.mixer.gains]
            if self.mixer.bed is not None:
                self.mixer.bed.gain *= fix
            result = await _encode(self.mixer, self.total, self.out_audio, self.on_progress, CEILING_DBFS)
            lufs = self._loudness()
        tp = await true_peak(self.out_audio, result["peak_times"])
        if tp > -1.0:
            # AAC overshot the ceiling somewhere: once more with a lower ceiling.
            result = await _encode(self.mixer, self.total, self.out_audio, self.on_progress,
                                   CEILING_DBFS - (tp + 1.0) - 0.3)
            tp = await true_peak(self.out_audio, result["peak_times"])
        return {
            "file": self.out_audio,
            "seconds": self.total / RATE,
            "segments": [{"track": s.track + 1, "start": round(s.start / RATE, 3),
                          "end": round((s.start + s.length) / RATE, 3)} for s in self.segs],
            "integrated_lufs": round(lufs, 2),
            "true_peak_dbtp": round(tp, 2),
            "sample_peak_dbfs": round(result["sample_peak_dbfs"], 2),
            "track_lufs": [round(v, 2) if math.isfinite(v) else None for v in self.levels],
            "limited_ms": round(result["limited_blocks"] * BLOCK / RATE * 1000, 1),
        }

    def _loudness(self) -> float:
        """The mix's integrated loudness from its sources' energies, gains and fades."""
        bed = self.mixer.bed
        return predict(self.segs, self.energies, self.mixer.gains, self.bed_energies if bed is not None else None,
                       bed.gain if bed is not None else 0.0, self.total)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        for job in self.measuring:
            job.cancel()
        await asyncio.gather(*self.measuring, return_exceptions=True)
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except BaseException:  # noqa: BLE001 - cancelled or failed: the first error wins
                pass
        for s in self.sources:
            if s is not None:
                s.close()
        if self.bed_src is not None:
            self.bed_src.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


async def master_audio(tracks: Sequence[TrackIn | Path], ambience: TrackIn | Path | None, target_s: float,
                       out_audio: Path, *, on_progress: ProgressFn | None = None,
                       crossfade_s: float = CROSSFADE_S) -> dict[str, Any]:
    """Mix tracks that all exist (in order, repeated to fill target_s, each with its real
    length) over the looped ambience into one AAC file.

    Returns {"file", "segments": [{"track": 1-based, "start", "end"}], "integrated_lufs",
    "true_peak_dbtp", "seconds", "track_lufs", ...}. Raises ffmpeg.MediaError naming a file
    that is missing, corrupt or silent-empty, ValueError for no tracks or no length.
    """
    if not tracks:
        raise ValueError("no tracks to master")
    if not target_s or target_s <= 0:
        raise ValueError(f"target length must be positive, got {target_s}")
    items = [t if isinstance(t, TrackIn) else TrackIn(Path(t)) for t in tracks]
    for t in items:
        ffmpeg.check_input(Path(t.file), "audio")
    if ambience is not None:
        ffmpeg.check_input(Path(ambience.file if isinstance(ambience, TrackIn) else ambience), "audio")
    # The real lengths first: they plan the playlist.
    scratch = Path(tempfile.mkdtemp(prefix=".lengths-", dir=Path(out_audio).parent))
    try:
        planned = []
        resolved = []
        for t in items:
            src = await open_source(t, scratch)
            planned.append(src.frames)
            src.close()
            resolved.append(TrackIn(t.file, t.pcm if t.pcm is not None else
                                    (src.pcm_path if src.pcm_path != Path(t.file) else None)))
        async with MixStream(planned, target_s, out_audio, ambience=ambience, on_progress=on_progress,
                             crossfade_s=crossfade_s) as stream:
            for k, t in enumerate(resolved):
                await stream.add(k, t)
            return await stream.finish()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def _encode(mixer: Mixer, total: int, out_audio: Path, on_progress: ProgressFn | None,
                  ceiling_db: float, wait_for: Callable[[int, int], Any] | None = None) -> dict[str, Any]:
    """Mix, limit and feed one AAC encoder; write out_audio via a temp name.

    wait_for(a, b), when given, is awaited before output samples [a, b) are mixed: the
    streaming master waits there for tracks still being made.
    """
    tmp = out_audio.with_name(f".{out_audio.stem}.tmp{out_audio.suffix or '.m4a'}")
    limiter = Limiter(ceiling_db)
    m = limiter.margin()
    peaks: list[tuple[float, int]] = []  # (peak, chunk start), the loudest moments
    sample_peak = 0.0

    def chunk(a: int) -> bytes:
        nonlocal sample_peak
        n = min(CHUNK, total - a)
        npad = -(-n // BLOCK) * BLOCK
        ext = mixer.mix(a - m, a + npad + m)
        g = limiter.gains(ext, npad)
        y = ext[m:m + n] if g is None else ext[m:m + n] * g[:n, None]
        pk = float(max(y.max(), -y.min())) if n else 0.0
        sample_peak = max(sample_peak, pk)
        peaks.append((pk, a))
        # 16-bit PCM to the encoder: half the bytes of float through the pipe and about 8 % less
        # of the encoder's CPU (measured: an hour 30.6 + 1.4 s against 32.2 + 2.2 s); rounding
        # noise at -98 dBFS lies far under the AAC encoder's own at 192 kb/s.
        q = np.rint(y * np.float32(32767))
        np.clip(q, -32768, 32767, out=q)
        return q.astype("<i2").tobytes()

    async def next_chunk(a: int) -> bytes:
        if wait_for is not None:
            await wait_for(a - m, min(total, a + CHUNK) + m + BLOCK)
        return await asyncio.to_thread(chunk, a)

    args = ["-y", "-v", "error", "-f", "s16le", "-ar", str(RATE), "-ac", "2", "-i", "pipe:0",
            "-c:a", "aac", "-aac_coder", AAC_CODER, "-b:a", AAC_BITRATE, "-movflags", "+faststart", str(tmp)]
    last_pct = -1.0
    pending: asyncio.Future[bytes] | None = None
    try:
        async with ffmpeg.Pipe(args) as pipe:
            pending = asyncio.ensure_future(next_chunk(0))
            a = 0
            while a < total and pending is not None:
                data = await pending
                nxt = a + CHUNK
                pending = asyncio.ensure_future(next_chunk(nxt)) if nxt < total else None
                await pipe.write(data)
                a = nxt
                pct = min(99.0, 100.0 * a / total)
                if on_progress is not None and pct - last_pct >= 1.0:  # a few dozen updates, not thousands
                    last_pct = pct
                    on_progress(pct)
        tmp.replace(out_audio)
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
        tmp.unlink(missing_ok=True)
    peaks.sort(reverse=True)
    return {"sample_peak_dbfs": loudness.db(sample_peak),
            "peak_times": [a / RATE for _, a in peaks[:6]], "limited_blocks": limiter.engaged_blocks}


def predict(segs: list[Segment], energies: Sequence[np.ndarray], gains: Sequence[float],
            bed_e: np.ndarray | None, bed_gain: float, total: int) -> float:
    """Integrated loudness (LUFS) of the mix from its sources' 100 ms energies (sources add as
    uncorrelated; equal-power fades add energies to about one), the bed looped underneath."""
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
