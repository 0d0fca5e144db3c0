"""Whether a compressed audio file ends with a whole frame: the mark of a download cut short.

MP3 (MPEG audio Layer III) and ADTS (raw AAC, .aac) files are plain runs of frames, each header
saying how many bytes its frame holds, and nothing says how many frames there should be (an MP3
with a Xing/Info header is the exception runner/library.py checks by length). ffmpeg decodes
a file cut in the middle of its last frame without a word (MP3) or, mostly, with a decoder
error (AAC: measured with Debian's ffmpeg 5.1, a cut just after a frame's 7-byte header passes).
So the frames are walked here, header to header: a last frame that claims more bytes than the
file has left was cut. A cut exactly between two frames leaves a valid, shorter file; nothing
can tell it from one made that short.

Ogg (Vorbis, Opus, FLAC in Ogg) is a run of pages, and its encoder marks the last page of a
stream end-of-stream (RFC 3533 section 6, header_type 0x04), so an Ogg file cut anywhere, even
between two pages, is told: its last page is cut off, or is not marked last.

Sources: ISO/IEC 11172-3 2.4.1.3 and 13818-3 (MPEG audio header, Layer III frame size
144 x bitrate / sample rate + padding, 72 x for MPEG-2 and 2.5), ISO/IEC 13818-7 6.2 (ADTS
header: 13-bit aac_frame_length counting the header), RFC 3533 (Ogg page header), ID3v2.4
section 3.1 (a tag's syncsafe size), ID3v1 (128 bytes "TAG" at the end), APEv2 ("APETAGEX").

The bytes may be hostile: the walk is bounded by the file's size and MAX_FRAMES, every header
field is checked before it is used, and a file the walk cannot follow (no frame near its start,
another layer, a free-format bitrate, junk between frames) gets no verdict (None), not a refusal:
ffmpeg's own checks in library.py still apply to it.
"""

from __future__ import annotations

import mmap
from pathlib import Path

MAX_FRAMES = 10_000_000     # a 12-hour MP3 has 1.6 million; beyond this, no verdict
FIRST_FRAME_WITHIN = 1 << 16
OGG_MAX_PAGE = 27 + 255 + 255 * 255
TRAILERS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN")

# Layer III bitrates in kbit/s by header index (0 = free format, 15 = invalid).
_KBPS_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0)
_KBPS_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0)
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}  # by version bits


def cut_off(path: Path) -> str | None:
    """Why path's last frame or page shows it was cut short, in a few words; None when it ends
    whole or the walk has no verdict (not MP3, ADTS or Ogg; see the module doc).
    Raises OSError when the file cannot be read."""
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < 4:
            return None
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data[:4] == b"OggS":
                return _ogg(data, size)
            start = _after_id3v2(data, size)
            return _frames(data, start, size)


def _after_id3v2(data: mmap.mmap, size: int) -> int:
    pos = 0
    while pos + 10 <= size and data[pos:pos + 3] == b"ID3":
        raw = data[pos + 6:pos + 10]
        if any(b & 0x80 for b in raw):
            return pos
        length = (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]
        pos += 10 + length + (10 if data[pos + 5] & 0x10 else 0)   # a footer repeats the header
    return pos


def _mp3(h: bytes) -> tuple[tuple[int, ...], int] | None:
    """(the fields every frame of the file shares, frame length) for a Layer III header."""
    if h[0] != 0xFF or h[1] & 0xE0 != 0xE0:
        return None
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    index, rate_index, padding = h[2] >> 4, (h[2] >> 2) & 3, (h[2] >> 1) & 1
    if version == 1 or layer != 1 or rate_index == 3 or index in (0, 15):
        return None
    rate = _RATES[version][rate_index]
    kbps = (_KBPS_V1 if version == 3 else _KBPS_V2)[index]
    per = 144 if version == 3 else 72
    return (1, version, rate_index), per * kbps * 1000 // rate + padding


def _adts(h: bytes) -> tuple[tuple[int, ...], int] | None:
    if h[0] != 0xFF or h[1] & 0xF6 != 0xF0 or len(h) < 6:
        return None                                  # sync, then layer 00
    if (h[2] >> 2) & 0xF > 12:
        return None                                  # no such sampling frequency index
    length = ((h[3] & 3) << 11) | (h[4] << 3) | (h[5] >> 5)
    head = 7 if h[1] & 1 else 9                      # 9 with a CRC
    if length < head:
        return None
    return (2, h[1], h[2] & 0xFD, h[3] & 0xC0), length


def _header(data: mmap.mmap, pos: int, size: int) -> tuple[tuple[int, ...], int] | None:
    h = data[pos:min(pos + 6, size)]
    if len(h) < 4:
        return None
    return _mp3(h) or (_adts(h) if len(h) == 6 else None)


def _frames(data: mmap.mmap, start: int, size: int) -> str | None:
    first = _first_frame(data, start, size)
    if first is None:
        return None
    pos, kind = first
    name, head, byte1 = ("MP3", 4, data[pos + 1]) if kind[0] == 1 else ("AAC (ADTS)", 7, data[pos + 1])
    for _ in range(MAX_FRAMES):
        if pos == size:
            return None
        left = size - pos
        found = _header(data, pos, size)
        if found is None or found[0] != kind:
            if left < head and data[pos] == 0xFF and (left < 2 or data[pos + 1] == byte1):
                return f"it ends inside an {name} frame header ({left} of its {head} bytes)"
            return None                              # a tag at the end, or junk: no verdict
        if found[1] > left:
            return f"its last {name} frame is cut off ({left} of its {found[1]} bytes)"
        pos += found[1]
    return None


def _first_frame(data: mmap.mmap, start: int, size: int) -> tuple[int, tuple[int, ...]] | None:
    """The first frame: a header whose frame is followed by another of the same kind (or by
    the end), within FIRST_FRAME_WITHIN bytes of the start."""
    for pos in range(start, min(size - 3, start + FIRST_FRAME_WITHIN)):
        if data[pos] != 0xFF:
            continue
        found = _header(data, pos, size)
        if found is None:
            continue
        nxt = pos + found[1]
        if nxt >= size:
            return (pos, found[0]) if nxt == size else None
        after = _header(data, nxt, size)
        if after is not None and after[0] == found[0]:
            return pos, found[0]
    return None


def _ogg(data: mmap.mmap, size: int) -> str | None:
    end = size
    if size >= 128 and data[size - 128:size - 125] == b"TAG":
        end = size - 128                             # an ID3v1 tag some taggers append to anything
    lo = max(0, end - OGG_MAX_PAGE)
    window = data[lo:end]
    at = window.rfind(b"OggS")
    while at >= 0:
        if at + 27 <= len(window) and window[at + 4] == 0:
            segments = window[at + 26]
            table = window[at + 27:at + 27 + segments]
            if len(table) == segments and at + 27 + segments + sum(table) == len(window):
                if window[at + 5] & 0x04:
                    return None
                return "its last Ogg page is not marked end-of-stream (the encoder never finished it)"
        at = window.rfind(b"OggS", 0, at)
    return "its last Ogg page is cut off"

