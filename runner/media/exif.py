"""The EXIF Orientation tag of a JPEG: how a camera asks for its picture to be turned for display.

A phone stores a photo the way its sensor was held and writes in this tag how to show it: 6
means "turn it 90 degrees clockwise", so a picture stored 4000x3000 is seen 3000x4000. Values
1-8 (EXIF 2.32, CIPA DC-008-2019, 4.6.5 "Orientation"): 1 as stored, 2 mirrored left-right,
3 turned 180 degrees, 4 mirrored top-bottom, 5 mirrored along the top-left diagonal
(transposed), 6 turned 90 degrees clockwise, 7 mirrored along the other diagonal, 8 turned 90
degrees anticlockwise. 5-8 swap width and height.

Only the tag is read, and only from where EXIF puts it: the JPEG's APP1 segment starting
"Exif\\0\\0" (JPEG, ITU-T T.81 B.1.1; EXIF 4.5.4), a TIFF header (TIFF 6.0 section 2: byte
order, 42, offset of IFD0) and IFD0's entry 0x0112 (type SHORT, count 1). The bytes may be
hostile: at most MAX_HEAD bytes of the file are read, at most MAX_SEGMENTS segments and
MAX_ENTRIES IFD entries looked at, every offset is checked against what was read, and anything
unexpected reads as 1 (as stored). PNG and WebP files read as 1.
"""

from __future__ import annotations

import struct
from pathlib import Path

AS_STORED = 1
TAG_ORIENTATION = 0x0112
MAX_HEAD = 1 << 18        # EXIF sits in the first segments; one APP segment is at most 64 KB
MAX_SEGMENTS = 64
MAX_ENTRIES = 512
_SOI, _SOS, _EOI, _APP1 = 0xD8, 0xDA, 0xD9, 0xE1
_STANDALONE = {0x01, *range(0xD0, 0xD8)}   # TEM and RST0-7 carry no length


def orientation(path: Path) -> int:
    """The EXIF orientation (1-8) the file at path asks for; 1 when it names none or is no JPEG.

    Raises OSError when the file cannot be read."""
    with open(path, "rb") as fh:
        return orientation_of(fh.read(MAX_HEAD))


def orientation_of(data: bytes) -> int:
    """orientation() of a file's first bytes."""
    if data[:2] != b"\xff" + bytes([_SOI]):
        return AS_STORED
    pos = 2
    for _ in range(MAX_SEGMENTS):
        while pos < len(data) and data[pos] == 0xFF:   # fill bytes may precede a marker
            pos += 1
        if pos >= len(data) or data[pos - 1] != 0xFF:
            return AS_STORED
        marker = data[pos]
        if marker in _STANDALONE:
            pos += 1
            continue
        if marker in (_SOS, _EOI) or pos + 3 > len(data):
            return AS_STORED                            # the picture data begins: no EXIF before it
        length = struct.unpack(">H", data[pos + 1:pos + 3])[0]
        if length < 2:
            return AS_STORED
        segment = data[pos + 3:pos + 1 + length]
        if marker == _APP1 and segment[:6] == b"Exif\0\0":
            return _tiff_orientation(segment[6:])
        pos += 1 + length
    return AS_STORED


def _tiff_orientation(tiff: bytes) -> int:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8 or struct.unpack(order + "H", tiff[2:4])[0] != 42:
        return AS_STORED
    ifd = struct.unpack(order + "I", tiff[4:8])[0]
    if ifd < 8 or ifd + 2 > len(tiff):
        return AS_STORED
    count = struct.unpack(order + "H", tiff[ifd:ifd + 2])[0]
    for i in range(min(count, MAX_ENTRIES)):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            break
        tag, kind, n = struct.unpack(order + "HHI", tiff[at:at + 8])
        if tag == TAG_ORIENTATION:
            if kind != 3 or n != 1:                     # SHORT, one value, held in the entry itself
                return AS_STORED
            value = struct.unpack(order + "H", tiff[at + 8:at + 10])[0]
            return value if 1 <= value <= 8 else AS_STORED
    return AS_STORED


def turned(width: int, height: int, value: int) -> tuple[int, int]:
    """The size a width x height picture is shown at under orientation value."""
    return (height, width) if value in (5, 6, 7, 8) else (width, height)
