"""PNG writing and note reading (runner/media/png.py): pixels survive, hostile files don't hurt."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from media_helpers import decode_rgb
from runner.media import png


def test_a_written_png_decodes_to_the_same_pixels_and_keeps_its_notes(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    path = tmp_path / "p.png"
    png.write_png(path, rgb, text={"Scene": "abc123", "Software": "badger-tape"})
    assert np.array_equal(decode_rgb(path, 53, 37), rgb)
    assert png.read_png_text(path) == {"Scene": "abc123", "Software": "badger-tape"}
    assert [p.name for p in tmp_path.iterdir()] == ["p.png"]  # no temporary left behind


def _chunk(tag: bytes, body: bytes, length: int | None = None) -> bytes:
    n = len(body) if length is None else length
    return struct.pack(">I", n) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)


def test_notes_of_hostile_or_foreign_files_read_as_empty(tmp_path):
    cases = {
        "jpeg.png": b"\xff\xd8\xff\xe0" + b"\0" * 40,
        "truncated.png": png.SIGNATURE + _chunk(b"tEXt", b"Scene\0abc")[:9],
        # A note that claims 4 GiB: skipped, never read into memory.
        "huge.png": png.SIGNATURE + _chunk(b"tEXt", b"Scene\0abc", length=0xFFFFFFF0),
        "empty.png": b"",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        assert png.read_png_text(tmp_path / name) == {}, name
    assert png.read_png_text(tmp_path / "missing.png") == {}


def test_notes_after_the_image_data_are_not_ours(tmp_path):
    path = tmp_path / "late.png"
    data = png.encode(np.zeros((2, 2, 3), np.uint8))
    iend = data.rindex(b"IEND") - 4
    path.write_bytes(data[:iend] + _chunk(b"tEXt", b"Scene\0late") + data[iend:])
    assert png.read_png_text(path) == {}
