"""--artwork from a phone: a JPEG stored on its side with an EXIF Orientation tag is judged, covered
or contained and shown upright, by the size it is shown at (runner/media/exif.py, picture.py)."""

from __future__ import annotations

import os
import random
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from media_helpers import FFMPEG, decode_rgb, run
from own_helpers import exif_app1, ff, with_orientation

from runner import library
from runner.media import exif, picture

# A 720x480 picture in six solid blocks (3 across, 2 down), each its own colour: every mirror
# or turn of it puts a different colour in each corner.
COLOURS = [(230, 30, 30), (30, 200, 30), (30, 30, 230), (230, 230, 30), (30, 220, 220), (220, 30, 220)]


def _upright() -> np.ndarray:
    img = np.zeros((480, 720, 3), np.uint8)
    for i, colour in enumerate(COLOURS):
        row, col = divmod(i, 3)
        img[row * 240:(row + 1) * 240, col * 240:(col + 1) * 240] = colour
    return img


# How a camera stores a picture it wants shown upright under each orientation: the inverse of
# the turn the tag asks for (EXIF 2.32 4.6.5; np.rot90 turns anticlockwise).
STORED = {
    1: lambda u: u,
    2: lambda u: u[:, ::-1],
    3: lambda u: u[::-1, ::-1],
    4: lambda u: u[::-1],
    5: lambda u: u.transpose(1, 0, 2),
    6: lambda u: np.rot90(u, 1),
    7: lambda u: u[::-1, ::-1].transpose(1, 0, 2),
    8: lambda u: np.rot90(u, -1),
}


def _jpeg(path: Path, img: np.ndarray) -> Path:
    h, w = img.shape[:2]
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "-",
                    "-frames:v", "1", "-q:v", "2", str(path)], input=np.ascontiguousarray(img).tobytes(), check=True)
    return path


def _fit(src: Path, out: Path, fit: str) -> np.ndarray:
    run(picture.fit_picture(src, out, fit=fit))
    return decode_rgb(out, 1920, 1080).astype(int)


def test_every_exif_orientation_is_shown_upright_and_judged_by_its_shown_size(tmp_path):
    upright = _upright()
    want = _fit(_jpeg(tmp_path / "upright.jpg", upright), tmp_path / "want.png", "contain")
    for value, store in STORED.items():
        src = with_orientation(_jpeg(tmp_path / f"o{value}.jpg", store(upright)), value)
        assert exif.orientation(src) == value
        # Judged as shown: 720x480, though 5-8 are stored 480x720 (too narrow, read as stored).
        checked = library.inspect_picture(tmp_path, src)
        assert (checked.width, checked.height) == (720, 480), value
        got = _fit(src, tmp_path / f"o{value}.png", "contain")
        assert np.abs(got - want).mean() < 4, value
        if value != 1:  # the stored pixels are not the upright ones: the tag made the difference
            stored = store(upright)
            assert stored.shape != upright.shape or np.abs(stored.astype(int) - upright).mean() > 50, value


def test_a_phone_photo_stored_landscape_is_a_portrait_covered_upright(tmp_path):
    # 4000x3000 as the sensor stored it; Orientation 6 shows it 3000x4000: red over a tall green
    # band over blue.
    src = tmp_path / "IMG_0001.jpg"
    ff("-f", "lavfi", "-i", "color=c=red:s=3000x1000", "-f", "lavfi", "-i", "color=c=0x00ff00:s=3000x2000",
       "-f", "lavfi", "-i", "color=c=blue:s=3000x1000", "-filter_complex", "[0][1][2]vstack=inputs=3,transpose=cclock",
       "-frames:v", "1", "-q:v", "3", str(src))
    with_orientation(src, 6, order=b"MM")
    own = library.check(tmp_path, {"artwork": str(src)})
    assert own.artwork is not None and (own.artwork.width, own.artwork.height) == (3000, 4000)
    img = _fit(src, tmp_path / "cover.png", "cover")
    # Covered as a portrait: 1920 wide (rows 1156-2844 of 4000 show), so only the green middle
    # shows, edge to edge. Read as stored, the bands would stand side by side, red at the left.
    for y, x in [(5, 5), (5, 1914), (540, 960), (1074, 5), (1074, 1914)]:
        assert np.all(np.abs(img[y, x] - (0, 255, 0)) <= 40), (y, x, img[y, x])


def test_the_orientation_reader_is_safe_on_hostile_bytes():
    soi = b"\xff\xd8"
    good = soi + exif_app1(6) + b"\xff\xda\x00\x02"
    assert exif.orientation_of(good) == 6
    assert exif.orientation_of(soi + exif_app1(8, b"MM")) == 8
    # An XMP APP1 and fill bytes before the EXIF one; a restart marker (no length) on the way.
    xmp = b"http://ns.adobe.com/xap/1.0/\0<x/>"
    assert exif.orientation_of(soi + b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
                               + b"\xff\xff\xd0" + exif_app1(3)) == 3
    app1 = exif_app1(6)
    # 65535 entries claimed: only those the segment holds are read.
    assert exif.orientation_of(soi + app1.replace(b"\x01\x00\x12\x01", b"\xff\xff\x12\x01")) == 6
    assert exif.orientation_of(soi + app1.replace(b"\x01\x00\x12\x01", b"\xff\xff\x13\x01")) == 1
    for bad in [
        b"", soi, b"\x89PNG\r\n\x1a\n" + app1,                 # not a JPEG
        soi + b"\xff\xda" + app1,                               # EXIF only counts before the picture data
        soi + app1[:-9],                                        # cut inside the IFD entry
        soi + app1.replace(b"II*\0", b"II+\0"),                 # not a TIFF header
        soi + app1.replace(b"\x08\x00\x00\x00", b"\xff\xff\xff\x7f", 1),   # IFD0 far past the end
        soi + app1.replace(struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0), struct.pack("<HHIHH", 0x0112, 3, 1, 9, 0)),
        soi + app1.replace(struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0), struct.pack("<HHIHH", 0x0112, 4, 9, 6, 0)),
        soi + b"\xff\xe0\x00\x00" + app1,                       # a length below 2
        soi + b"\xff\xe2\xff\xff" + b"\0" * 10,                 # a segment longer than the file
        soi + (b"\xff\xe2\x00\x02") * 100 + app1,               # more segments than are looked at
    ]:
        assert exif.orientation_of(bad) == exif.AS_STORED, bad[:40]
    rng = random.Random(15)
    for _ in range(3000):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        assert 1 <= exif.orientation_of(bytes(data[:rng.randint(0, len(data))])) <= 8
    for _ in range(300):
        assert 1 <= exif.orientation_of(soi + os.urandom(rng.randint(0, 4096))) <= 8

