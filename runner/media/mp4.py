"""A direct MP4 writer for the final: the loop's frames repeated and the mix's packets copied.

Why not just ffmpeg? `ffmpeg -stream_loop -1 ... -c copy -movflags +faststart` writes the
hour once and then copies it all again to move the index (moov) to the front. Here every
size is known before the first byte is written (the loop's frames repeat, the mix's
packets are fixed), so the index is computed first and the file is written once, front to
back: moov before mdat, half the I/O of even a plain remux. Nothing is decoded or encoded;
packets are copied byte for byte, and the sample tables say exactly what ffmpeg's would.

Only the simple, single-track inputs our own encoders make are handled (no B-frame
reordering, one sample description, samples stored contiguously); `parse` raises
Unsupported for anything else and the caller falls back to ffmpeg.
"""

from __future__ import annotations

import math
import os
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator


class Unsupported(ValueError):
    """The input is valid media but not in the simple shape this writer copies."""


# ----------------------------------------------------------------------------- reading

def _walk(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise Unsupported("malformed box")
        yield kind, pos + head, pos + size
        pos += size


def _find(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, a, b in _walk(data, start, end):
        if k == kind:
            return a, b
    return None


def _need(data: bytes, start: int, end: int, kind: bytes) -> tuple[int, int]:
    found = _find(data, start, end, kind)
    if found is None:
        raise Unsupported(f"no {kind.decode()} box")
    return found


@dataclass
class Track:
    kind: str                      # "vide" or "soun"
    timescale: int
    stsd: bytes                    # the whole sample description box, copied as is
    sizes: list[int]
    durations: list[int]           # per sample, in the track's timescale
    sync: list[int] | None         # 0-based sync samples (None: every sample is one)
    data_offset: int               # where the (contiguous) sample bytes start in the file
    data_size: int
    media_time: int = 0            # edit list: media time of the first presented sample
    presented: int | None = None   # edit list: presented duration (track timescale), if trimmed
    width: float = 0.0
    height: float = 0.0
    offsets: list[int] = field(default_factory=list, repr=False)


def parse(path: Path) -> Track:
    """The single track of a simple MP4/M4A file (see the module docstring)."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
        size = os.fstat(fh.fileno()).st_size
        moov = None
        pos = 0
        # Find moov (front or back) without reading the media data.
        while pos + 8 <= size:
            fh.seek(pos)
            h = fh.read(16)
            n, kind = struct.unpack(">I4s", h[:8])
            if n == 1:
                n = struct.unpack(">Q", h[8:16])[0]
            elif n == 0:
                n = size - pos
            if n < 8:
                raise Unsupported("malformed top-level box")
            if kind == b"moov":
                fh.seek(pos)
                moov = fh.read(n)
                break
            pos += n
    del head
    if moov is None:
        raise Unsupported("no moov box")
    traks = [(a, b) for k, a, b in _walk(moov, 8, len(moov)) if k == b"trak"]
    mvhd = _need(moov, 8, len(moov), b"mvhd")
    movie_scale = struct.unpack(">I", moov[mvhd[0] + (20 if moov[mvhd[0]] == 1 else 12):][:4])[0]
    if len(traks) != 1:
        raise Unsupported("expected exactly one track")
    ta, tb = traks[0]
    mdia = _need(moov, ta, tb, b"mdia")
    mdhd = _need(moov, *mdia, b"mdhd")
    ver = moov[mdhd[0]]
    timescale = struct.unpack(">I", moov[mdhd[0] + (20 if ver == 1 else 12):][:4])[0]
    hdlr = _need(moov, *mdia, b"hdlr")
    kind = moov[hdlr[0] + 8:hdlr[0] + 12].decode("latin-1")
    if kind not in ("vide", "soun"):
        raise Unsupported(f"unexpected {kind} track")
    minf = _need(moov, *mdia, b"minf")
    stbl = _need(moov, *minf, b"stbl")
    if _find(moov, *stbl, b"ctts") is not None:
        raise Unsupported("frames are reordered (B-frames)")
    sa, sb = _need(moov, *stbl, b"stsd")
    stsd = moov[sa - 8:sb]
    if struct.unpack(">I", moov[sa + 4:sa + 8])[0] != 1:
        raise Unsupported("more than one sample description")

    a, _ = _need(moov, *stbl, b"stsz")
    fixed, count = struct.unpack(">II", moov[a + 4:a + 12])
    sizes = [fixed] * count if fixed else list(struct.unpack(f">{count}I", moov[a + 12:a + 12 + 4 * count]))

    a, _ = _need(moov, *stbl, b"stts")
    n = struct.unpack(">I", moov[a + 4:a + 8])[0]
    durations: list[int] = []
    for i in range(n):
        c, d = struct.unpack(">II", moov[a + 8 + 8 * i:a + 16 + 8 * i])
        durations.extend([d] * c)
    if len(durations) != count:
        raise Unsupported("stts and stsz disagree")

    sync = None
    found = _find(moov, *stbl, b"stss")
    if found:
        a = found[0]
        n = struct.unpack(">I", moov[a + 4:a + 8])[0]
        sync = [s - 1 for s in struct.unpack(f">{n}I", moov[a + 8:a + 8 + 4 * n])]

    found = _find(moov, *stbl, b"stco")
    if found:
        a = found[0]
        n = struct.unpack(">I", moov[a + 4:a + 8])[0]
        chunk_offsets = list(struct.unpack(f">{n}I", moov[a + 8:a + 8 + 4 * n]))
    else:
        a, _ = _need(moov, *stbl, b"co64")
        n = struct.unpack(">I", moov[a + 4:a + 8])[0]
        chunk_offsets = list(struct.unpack(f">{n}Q", moov[a + 8:a + 8 + 8 * n]))
    a, _ = _need(moov, *stbl, b"stsc")
    n = struct.unpack(">I", moov[a + 4:a + 8])[0]
    stsc = [struct.unpack(">III", moov[a + 8 + 12 * i:a + 20 + 12 * i]) for i in range(n)]
    offsets: list[int] = []
    for ci, off in enumerate(chunk_offsets, start=1):
        per = next(spc for first, spc, _ in reversed(stsc) if first <= ci)
        for _ in range(per):
            if len(offsets) >= count:
                break
            offsets.append(off)
            off += sizes[len(offsets) - 1]
    if len(offsets) != count or not count:
        raise Unsupported("sample tables do not add up")
    if any(offsets[i + 1] != offsets[i] + sizes[i] for i in range(count - 1)):
        raise Unsupported("samples are not stored contiguously")

    t = Track(kind=kind, timescale=timescale, stsd=stsd, sizes=sizes, durations=durations, sync=sync,
              data_offset=offsets[0], data_size=sum(sizes), offsets=offsets)
    edts = _find(moov, ta, tb, b"edts")
    if edts:
        a, _ = _need(moov, *edts, b"elst")
        ver = moov[a]
        n = struct.unpack(">I", moov[a + 4:a + 8])[0]
        entries = []
        p = a + 8
        for _ in range(n):
            if ver == 1:
                seg, mt = struct.unpack(">Qq", moov[p:p + 16])
                p += 20
            else:
                seg, mt = struct.unpack(">Ii", moov[p:p + 8])
                p += 12
            entries.append((seg, mt))
        entries = [e for e in entries if e[1] != -1]  # empty edits (delays) are not ours
        if len(entries) > 1:
            raise Unsupported("complex edit list")
        if entries:
            seg, mt = entries[0]
            t.media_time = max(0, mt)
            if seg:
                t.presented = round(seg * timescale / movie_scale)
    tkhd = _need(moov, ta, tb, b"tkhd")
    wh = moov[tkhd[1] - 8:tkhd[1]]
    t.width, t.height = (v / 65536 for v in struct.unpack(">II", wh))
    return t


# ----------------------------------------------------------------------------- writing

def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


def _run_lengths(values: list[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for v in values:
        if out and out[-1][1] == v:
            out[-1][0] += 1
        else:
            out.append([1, v])
    return [(c, v) for c, v in out]


def _stbl(t: Track, sizes: list[int], durations: list[int], sync: list[int] | None,
          chunk_counts: list[int], chunk_offsets: list[int]) -> bytes:
    stts_rows = _run_lengths(durations)
    parts = [t.stsd,
             _full(b"stts", 0, 0, struct.pack(">I", len(stts_rows)), b"".join(struct.pack(">II", c, d) for c, d in stts_rows))]
    if sync is not None:
        parts.append(_full(b"stss", 0, 0, struct.pack(">I", len(sync)), struct.pack(f">{len(sync)}I", *[s + 1 for s in sync])))
    rows = []
    for i, c in enumerate(chunk_counts, start=1):
        if not rows or rows[-1][1] != c:
            rows.append((i, c))
    parts.append(_full(b"stsc", 0, 0, struct.pack(">I", len(rows)), b"".join(struct.pack(">III", f, c, 1) for f, c in rows)))
    parts.append(_full(b"stsz", 0, 0, struct.pack(">II", 0, len(sizes)), struct.pack(f">{len(sizes)}I", *sizes)))
    parts.append(_full(b"co64", 0, 0, struct.pack(">I", len(chunk_offsets)), struct.pack(f">{len(chunk_offsets)}Q", *chunk_offsets)))
    return _box(b"stbl", *parts)


def _trak(track_id: int, t: Track, movie_scale: int, media_duration: int, presented: int,
          stbl: bytes, media_time: int | None) -> bytes:
    video = t.kind == "vide"
    tk_dur = presented * movie_scale // t.timescale
    tkhd = _full(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, track_id, 0, tk_dur), bytes(8),
                 struct.pack(">hhHH", 0, 0 if video else 1, 0 if video else 0x0100, 0), _MATRIX,
                 struct.pack(">II", int(t.width * 65536) if video else 0, int(t.height * 65536) if video else 0))
    parts = [tkhd]
    if media_time is not None:
        parts.append(_box(b"edts", _full(b"elst", 0, 0, struct.pack(">IIiI", 1, tk_dur, media_time, 0x00010000))))
    mdhd = _full(b"mdhd", 0, 0, struct.pack(">IIII", 0, 0, t.timescale, media_duration), struct.pack(">HH", 0x55C4, 0))
    name = b"VideoHandler\0" if video else b"SoundHandler\0"
    hdlr = _full(b"hdlr", 0, 0, struct.pack(">I4s", 0, b"vide" if video else b"soun"), bytes(12), name)
    head = _full(b"vmhd", 0, 1, bytes(8)) if video else _full(b"smhd", 0, 0, bytes(4))
    dinf = _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1)))
    minf = _box(b"minf", head, dinf, stbl)
    parts.append(_box(b"mdia", mdhd, hdlr, minf))
    return _box(b"trak", *parts)


@dataclass
class Layout:
    """What goes where: per output chunk, how many video frames and which audio packets."""

    frames: int
    video_chunks: list[int]
    audio_chunks: list[tuple[int, int]]  # [first packet, end packet) per chunk


def plan(video: Track, audio: Track, target_s: float) -> Layout:
    fps = video.timescale / video.durations[0]
    n = len(video.sizes)
    frames = max(1, round(target_s * fps))  # ends within half a frame of the audio
    loops = math.ceil(frames / n)
    video_chunks = [min(n, frames - k * n) for k in range(loops)]
    # Audio packets go with the loop they play under (by presentation time).
    loop_ticks = sum(video.durations) / video.timescale * audio.timescale
    chunks: list[list[int]] = [[] for _ in range(loops)]
    t = -audio.media_time
    for j, d in enumerate(audio.durations):
        k = min(loops - 1, max(0, int(t // loop_ticks)))
        chunks[k].append(j)
        t += d
    audio_chunks = [(c[0], c[-1] + 1) if c else (0, 0) for c in chunks]
    return Layout(frames, video_chunks, audio_chunks)


class Stopped(Exception):
    """The caller asked the writer to stop (its task was cancelled)."""


def write(video_path: Path, audio_path: Path, target_s: float, out: Path, *,
          on_progress: Callable[[float], None] | None = None, stop: "threading.Event | None" = None) -> None:
    """Write out (moov first) = video_path's frames repeated for target_s, plus audio_path.

    Runs in a worker thread; setting stop makes it give up at the next chunk.
    """
    video, audio = parse(Path(video_path)), parse(Path(audio_path))
    if video.kind != "vide" or audio.kind != "soun":
        raise Unsupported("expected a video loop and an audio mix")
    if len(set(video.durations)) != 1 or video.media_time:
        raise Unsupported("the loop does not have a constant frame rate from zero")
    if video.sync is not None and 0 not in video.sync:
        raise Unsupported("the loop does not start on a keyframe")
    lay = plan(video, audio, target_s)
    n = len(video.sizes)
    movie_scale = audio.timescale  # so the audio edit is exact to the sample

    v_sizes = [video.sizes[i % n] for i in range(lay.frames)]
    v_durs = [video.durations[0]] * lay.frames
    v_sync = None
    if video.sync is not None:
        v_sync = [k * n + s for k in range(len(lay.video_chunks)) for s in video.sync if k * n + s < lay.frames]
    a_sizes, a_durs = audio.sizes, audio.durations
    a_media = sum(a_durs)
    avail = a_media - audio.media_time
    a_presented = min(avail, audio.presented if audio.presented is not None else avail,
                      round(target_s * audio.timescale))

    chunk_bytes_v = [sum(video.sizes[:c]) for c in lay.video_chunks]
    chunk_bytes_a = [sum(a_sizes[a:b]) for a, b in lay.audio_chunks]
    a_counts = [b - a for a, b in lay.audio_chunks]
    a_nonempty = [i for i, c in enumerate(a_counts) if c]

    def moov(v_offsets: list[int], a_offsets: list[int]) -> bytes:
        v_stbl = _stbl(video, v_sizes, v_durs, v_sync, lay.video_chunks, v_offsets)
        a_stbl = _stbl(audio, a_sizes, a_durs, None, [a_counts[i] for i in a_nonempty], a_offsets)
        v_presented = lay.frames * video.durations[0]
        duration = max(v_presented * movie_scale // video.timescale, a_presented)
        mvhd = _full(b"mvhd", 0, 0, struct.pack(">IIIIIH", 0, 0, movie_scale, duration, 0x00010000, 0x0100),
                     bytes(10), _MATRIX, bytes(24), struct.pack(">I", 3))
        return _box(b"moov", mvhd,
                    _trak(1, video, movie_scale, v_presented, v_presented, v_stbl, None),
                    _trak(2, audio, movie_scale, a_media, a_presented, a_stbl, audio.media_time))

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 512), b"isomiso2avc1mp41")
    size_probe = moov([0] * len(lay.video_chunks), [0] * len(a_nonempty))
    mdat_start = len(ftyp) + len(size_probe) + 16
    v_offsets, a_offsets = [], []
    pos = mdat_start
    for k, vb in enumerate(chunk_bytes_v):
        v_offsets.append(pos)
        pos += vb
        if a_counts[k]:
            a_offsets.append(pos)
            pos += chunk_bytes_a[k]
    header = ftyp + moov(v_offsets, a_offsets)
    assert len(header) + 16 == mdat_start
    mdat_size = pos - mdat_start + 16

    with open(video_path, "rb") as vf:
        vf.seek(video.data_offset)
        loop_bytes = vf.read(video.data_size)
    total = pos
    with open(audio_path, "rb") as af, open(out, "wb") as of:
        of.write(header)
        of.write(struct.pack(">I4sQ", 1, b"mdat", mdat_size))
        a_base = audio.data_offset
        a_starts = [0]
        for s in a_sizes:
            a_starts.append(a_starts[-1] + s)
        last = -1.0
        for k, vb in enumerate(chunk_bytes_v):
            if stop is not None and stop.is_set():
                raise Stopped()
            of.write(memoryview(loop_bytes)[:vb])
            if a_counts[k]:
                a, b = lay.audio_chunks[k]
                _copy(af, of, a_base + a_starts[a], a_starts[b] - a_starts[a])
            if on_progress is not None:
                pct = 100.0 * of.tell() / total
                if pct - last >= 1.0:
                    last = pct
                    on_progress(min(99.9, pct))
        if of.tell() != total:
            raise Unsupported(f"wrote {of.tell()} bytes, planned {total}")


def _copy(src, dst, offset: int, count: int) -> None:
    """Copy count bytes at offset of src to the current end of dst (in the kernel where possible)."""
    dst.flush()
    fd_in, fd_out = src.fileno(), dst.fileno()
    out_pos = os.lseek(fd_out, 0, os.SEEK_CUR)
    done = 0
    try:
        while done < count:
            n = os.copy_file_range(fd_in, fd_out, count - done, offset + done, out_pos + done)
            if n <= 0:
                break
            done += n
    except (AttributeError, OSError):
        pass
    if done < count:
        src.seek(offset + done)
        rest = count - done
        dst.seek(out_pos + done)
        while rest:
            block = src.read(min(rest, 1 << 20))
            if not block:
                raise Unsupported("audio ended early")
            dst.write(block)
            rest -= len(block)
    else:
        dst.seek(out_pos + count)
