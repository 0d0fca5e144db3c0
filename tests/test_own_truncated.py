"""A person's track cut short is refused in one line, whatever its format, and a good one never is.

MP3 without a Xing/Info header and raw AAC (ADTS) say nothing of their length: their last frame,
cut in the middle, tells (runner/media/ends.py). Ogg's last page is marked end-of-stream. FLAC
counts its samples exactly; M4A's boxes and WAV's header give their sizes; a decoder error on
the way (ffmpeg -v error) is damage. A cut exactly between two MP3 or ADTS frames leaves a valid
shorter file, and is accepted as one.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Callable

import pytest
from fakes.fixtures import loopback_only  # noqa: F401 - a run that got past the check must not reach fal
from media_helpers import FFPROBE
from own_helpers import ff, track
from test_bad_input import _assert_refused, main  # noqa: F401 - the in-process CLI fixture

from runner import library

MP3_CBR = ("-c:a", "libmp3lame", "-b:a", "128k", "-write_xing", "0")   # no header of its length
ADTS = ("-c:a", "aac", "-b:a", "128k", "-f", "adts")

GOOD: dict[str, tuple[str, ...]] = {
    "cbr-no-xing.mp3": MP3_CBR,
    "cbr-info.mp3": ("-c:a", "libmp3lame", "-b:a", "320k"),
    "vbr.mp3": ("-c:a", "libmp3lame", "-q:a", "2"),
    "mpeg2-mono.mp3": ("-ac", "1", "-ar", "22050", "-c:a", "libmp3lame", "-b:a", "48k", "-write_xing", "0"),
    "tagged.mp3": ("-c:a", "libmp3lame", "-b:a", "96k", "-write_id3v1", "1", "-metadata", "title=Dawn",
                   "-metadata", "artist=Ada Reed"),
    "stereo.aac": ADTS,
    "mono-low.aac": ("-ac", "1", "-ar", "16000", "-c:a", "aac", "-b:a", "24k", "-f", "adts"),
    "vorbis.ogg": ("-c:a", "libvorbis", "-q:a", "3"),
    "speech.opus": ("-c:a", "libopus", "-b:a", "24k"),
    "music.opus": ("-c:a", "libopus", "-b:a", "160k"),
    "flac-in.ogg": ("-c:a", "flac", "-f", "ogg"),
    "plain.flac": (),
    "plain.m4a": ("-c:a", "aac", "-b:a", "128k"),
    "plain.wav": (),
}


def _packets(path: Path) -> list[tuple[int, int]]:
    """(byte position, size) of each audio packet, as ffprobe finds them."""
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pos,size",
                          "-of", "json", str(path)], capture_output=True, check=True).stdout
    return [(int(p["pos"]), int(p["size"])) for p in json.loads(out)["packets"]]


def _cut(path: Path, at: int) -> Path:
    path.write_bytes(path.read_bytes()[:at])
    return path


def test_good_files_in_every_format_are_accepted_at_their_length(tmp_path):
    for name, codec in GOOD.items():
        made = track(tmp_path / name, 3, freq=330, level_db=-6, codec=codec)
        checked = library.inspect_track(tmp_path, made)
        assert abs(checked.seconds - 3) < 0.1, (name, checked.seconds)
    # An MP3 with its cover art in the ID3v2 tag, and an ID3v1 tag at its end.
    ff("-f", "lavfi", "-i", "testsrc2=s=300x300", "-frames:v", "1", str(tmp_path / "cover.jpg"))
    ff("-i", str(tmp_path / "tagged.mp3"), "-i", str(tmp_path / "cover.jpg"), "-map", "0", "-map", "1", "-c", "copy",
       "-id3v2_version", "3", "-write_id3v1", "1", str(tmp_path / "with-art.mp3"))
    assert library.inspect_track(tmp_path, tmp_path / "with-art.mp3").seconds == pytest.approx(3, abs=0.1)


def _mid_frame_near_the_end(path: Path) -> Path:
    """Cut in the middle of the last-but-one frame: under 0.1 s lost, too little for a length
    check to tell from an estimate."""
    pos, size = _packets(path)[-2]
    return _cut(path, pos + size // 2)


def _inside_a_header(path: Path) -> Path:
    pos, _ = _packets(path)[-2]
    return _cut(path, pos + 7)          # an ADTS header is 7 bytes: the frame's data is all gone


def _at_a_page_boundary(path: Path) -> Path:
    data = path.read_bytes()
    pages = [i for i in range(len(data)) if data.startswith(b"OggS", i)]
    return _cut(path, pages[len(pages) * 2 // 3])


def _last_frames(path: Path) -> Path:
    pos, _ = _packets(path)[-2]     # two whole FLAC frames gone, about 0.2 s
    return _cut(path, pos)


def _by_a_thousandth(path: Path) -> Path:
    return _cut(path, len(path.read_bytes()) * 999 // 1000)


CUTS: list[tuple[str, tuple[str, ...], Callable[[Path], Path], str]] = [
    # (name, how it is encoded, how it is cut, what the line says)
    ("cbr.mp3", MP3_CBR, _mid_frame_near_the_end, "its last MP3 frame is cut off"),
    ("vbr.mp3", GOOD["vbr.mp3"], _mid_frame_near_the_end, "its last MP3 frame is cut off"),
    ("raw.aac", ADTS, _mid_frame_near_the_end, "truncated"),
    ("header.aac", ADTS, _inside_a_header, "its last AAC (ADTS) frame is cut off"),
    ("vorbis.ogg", GOOD["vorbis.ogg"], _mid_frame_near_the_end, "its last Ogg page is cut off"),
    ("music.opus", GOOD["music.opus"], _at_a_page_boundary, "not marked end-of-stream"),
    ("mid.flac", (), _mid_frame_near_the_end, "damaged (ffmpeg: "),
    ("frames.flac", (), _last_frames, "truncated: it plays 2.8 s of the 3.0 s"),
    ("moov.m4a", GOOD["plain.m4a"], _by_a_thousandth, "truncated ('moov' box runs past the end)"),
]


@pytest.mark.parametrize("name,codec,cut,reason", CUTS, ids=[c[0] for c in CUTS])
def test_a_track_cut_short_is_refused_in_one_line(main, root, name, codec, cut, reason):
    (root / "library").mkdir()
    made = cut(track(root / "library" / name, 3, freq=330, level_db=-6, codec=codec))
    result = main("run", "--theme", "mine", "--music", f"library/{name}", "--provider", "fal", root=root,
                  env={"FAL_KEY": "fal-test-key-never-used"})
    _assert_refused(result, str(made), reason)
    assert result.returncode == 2
    assert list((root / "sessions").iterdir()) == []


@pytest.mark.parametrize("name,codec", [("cbr.mp3", MP3_CBR), ("raw.aac", ADTS)])
def test_a_cut_between_two_frames_is_a_valid_shorter_file(tmp_path, name, codec):
    made = track(tmp_path / name, 3, freq=330, level_db=-6, codec=codec)
    frames = _packets(made)
    _cut(made, frames[len(frames) // 2][0])
    # Nothing in these formats says how long they should be: it plays, half as long.
    assert library.inspect_track(tmp_path, made).seconds == pytest.approx(1.5, abs=0.1)
