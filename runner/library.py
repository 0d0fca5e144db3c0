"""What a person brings: their own music, artwork and loop, checked before anything is made.

`check(root, params)` reads every file the run names (`--music DIR|PLAYLIST`, `--artwork FILE`,
`--loop FILE`) and refuses the run in one line naming the file and the reason (BadInput) while
no session exists and nothing is paid: a missing or empty folder, a file that is missing,
unreadable, truncated or not the kind asked for, audio without an audio stream, a picture
smaller than 640x360, a loop shorter than 2 s, a file protected by DRM. What it finds (each
file's SHA-256, real length, tags) goes into the session's state (`state.own`), and the steps
use exactly those files: `verified()` refuses one whose bytes changed since.

Paths are kept relative to the data root when they are under it (`library/...`), else
absolute, so a resume from another folder finds the same files; they are reported the same
way (`shown()`), and that is what provenance.json records.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from . import store
from .media import ends, ffmpeg, picture

LIBRARY = "library"   # the data root's folder of a person's own files (the studio's picker lists it)
AUDIO_SUFFIXES = (".mp3", ".wav", ".flac", ".m4a", ".aac", ".ogg", ".opus")
PLAYLIST_SUFFIXES = (".m3u", ".m3u8", ".txt")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
LOOP_SUFFIXES = (".mp4", ".mov", ".webm")
IMAGE_CODECS = {"png": "PNG", "mjpeg": "JPEG", "webp": "WebP"}
MIN_IMAGE = (640, 360)        # issue 15: anything smaller would be upscaled past usefulness
MIN_LOOP_S = 2.0              # issue 15: a shorter loop repeats too often to watch
MIN_TRACK_S = 1.0             # the mix crossfades tracks; less than this is no track
MAX_TRACKS = 500              # a 12-hour video of 1.5-minute songs
MAX_PLAYLIST_BYTES = 1 << 20
MAX_TAG_CHARS = 100
# A track is truncated when it decodes to this much less than its header promises (an MP3's
# Xing frame count, FLAC's STREAMINFO): a cut-off download plays, then stops mid-note.
TRUNCATED_SLACK_S = 0.5
# FLAC's STREAMINFO counts its samples exactly: short by more than resampling can round is cut.
EXACT_SLACK_S = {"flac": 0.02}
# Containers (ffprobe's format names) whose last frame or page tells a cut (media/ends.py):
# MP3, raw AAC (ADTS), Ogg (Vorbis, Opus, FLAC in Ogg).
ENDS_TOLD = ("mp3", "aac", "ogg")
RATE = 48000                  # the master's sample rate (runner/media/master.py): lengths are counted in it


class BadInput(Exception):
    """A file the person named cannot be used; the message is one line naming it and why."""


@dataclass(frozen=True)
class Track:
    """One of the person's tracks: where it is, what it is, how long it really plays."""

    path: str            # shown(): relative to the data root when inside it, else absolute
    sha256: str
    frames: int          # at RATE Hz, decoded
    seconds: float
    title: str
    artist: str | None   # only from the file's tags
    album: str | None
    title_from: str      # "tags" or "file name"
    codec: str | None


@dataclass(frozen=True)
class Picture:
    path: str
    sha256: str
    width: int
    height: int
    codec: str


@dataclass(frozen=True)
class Clip:
    path: str
    sha256: str
    seconds: float
    width: int
    height: int
    fps: float | None
    codec: str | None


@dataclass(frozen=True)
class Own:
    """Everything the person brought for one run (None where the run makes its own)."""

    music: tuple[Track, ...] | None = None
    playlist: str | None = None    # the folder or playlist file, as shown()
    artwork: Picture | None = None
    loop: Clip | None = None

    def as_state(self) -> dict[str, Any]:
        """state.own (docs/format.md): plain JSON."""
        out: dict[str, Any] = {}
        if self.music is not None:
            out["music"] = {"source": self.playlist, "tracks": [asdict(t) for t in self.music]}
        if self.artwork is not None:
            out["artwork"] = asdict(self.artwork)
        if self.loop is not None:
            out["loop"] = asdict(self.loop)
        return out

    def playlist_seconds(self) -> float:
        """The playlist heard once, crossfaded as the master will mix it (--minutes auto)."""
        from .media import master  # noqa: PLC0415 - numpy; only runs with music need it

        assert self.music
        samples = master.playlist_samples([t.frames for t in self.music], int(master.CROSSFADE_S * RATE))
        return samples / RATE


# ----------------------------------------------------------------------------- paths

def shown(root: Path, path: Path) -> str:
    """path as the state and provenance.json keep it: relative to the data root when inside it."""
    path = Path(os.path.abspath(path))
    try:
        return path.relative_to(Path(os.path.abspath(root))).as_posix()
    except ValueError:
        return str(path)


def located(root: Path, kept: str) -> Path:
    """The file a kept path names (the inverse of shown())."""
    path = Path(kept)
    return path if path.is_absolute() else Path(root) / path


def _given(path_text: str, cwd: Path) -> Path:
    """A path as the person typed it: ~ expanded, relative to the folder they typed it in."""
    path = Path(path_text).expanduser()
    return path if path.is_absolute() else cwd / path


# ----------------------------------------------------------------------------- the check

def check(root: Path, params: Mapping[str, Any], *, cwd: Path | None = None, workers: int = 2,
          library_only: bool = False) -> Own:
    """Check every file params names; return what was found, or raise BadInput (one line).

    cwd: the folder relative paths are read from (default: the current directory, where the
    person typed them). workers: files inspected at once (each runs ffprobe and ffmpeg).
    library_only (`run --library-only`, which the studio's launcher passes): every file named,
    every file in a music folder and every file a playlist names must be inside the data
    root's library/ folder once links are followed; else BadInput naming it. From the command
    line a person's playlist may name any file they can read.
    """
    cwd = Path.cwd() if cwd is None else cwd
    inside = Confined(root) if library_only else None
    music = playlist = artwork = loop = None
    if params.get("music"):
        given = _given(str(params["music"]), cwd)
        files = playlist_files(given, inside)
        playlist = shown(root, given)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            music = tuple(pool.map(lambda f: inspect_track(root, f), files))
    if params.get("artwork"):
        artwork = inspect_picture(root, _within(inside, _given(str(params["artwork"]), cwd)))
    if params.get("loop"):
        loop = inspect_clip(root, _within(inside, _given(str(params["loop"]), cwd)))
    return Own(music=music, playlist=playlist, artwork=artwork, loop=loop)


class Confined:
    """The data root's library/ folder, as the files a run started from the studio may read.

    A path is inside when the file it leads to, every link followed (os.path.realpath), is
    below library/ (itself followed too). Checked before the file is looked at, so the
    line it prints says nothing about a file outside."""

    def __init__(self, root: Path) -> None:
        self.folder = os.path.realpath(Path(root) / LIBRARY)

    def holds(self, path: Path) -> bool:
        real = os.path.realpath(path)
        return os.path.commonpath([real, self.folder]) == self.folder

    def refusal(self, named: str) -> BadInput:
        return BadInput(f"{named}: outside the data root's {LIBRARY}/ folder (links followed); a run started "
                        f"from the studio reads only files in {LIBRARY}/")


def _within(inside: Confined | None, path: Path) -> Path:
    if inside is not None and not inside.holds(path):
        raise inside.refusal(str(path))
    return path


def resolve(params: Mapping[str, Any], own: Own) -> dict[str, Any]:
    """params with what the files decide: the stored paths, --minutes auto as the playlist's
    length, and the track count as the playlist's. Raises BadInput when the playlist is
    longer than a video may be."""
    out = dict(params)
    if own.music is not None:
        out["music"] = own.playlist
        out["tracks"] = len(own.music)
        if out.get("minutes") == store.MINUTES_AUTO:
            seconds = own.playlist_seconds()
            if seconds > store.MAX_MINUTES * 60:
                raise BadInput(f"{own.playlist}: the playlist lasts {seconds / 3600:.1f} hours; a video may last at "
                               f"most {store.MAX_MINUTES / 60:g} (give --minutes to play part of it)")
            out["minutes"] = seconds / 60.0
    if own.artwork is not None:
        out["artwork"] = own.artwork.path
    if own.loop is not None:
        out["loop"] = own.loop.path
    return out


def playlist_files(given: Path, inside: Confined | None = None) -> list[Path]:
    """The tracks a folder or playlist names, in order: a playlist's own order, a folder's
    audio files in natural order of their names (2 before 10; subfolders are not read).
    inside: each of them must be in library/ (check()'s library_only)."""
    _within(inside, given)
    if not given.exists():
        raise BadInput(f"{given}: no such folder or playlist")
    if given.is_dir():
        try:
            names = [e.name for e in os.scandir(given) if not e.name.startswith(".")
                     and e.name.lower().endswith(AUDIO_SUFFIXES) and e.is_file()]
        except OSError as exc:
            raise BadInput(f"{given}: cannot read the folder ({exc.strerror})") from None
        if not names:
            raise BadInput(f"{given}: the folder holds no audio files ({', '.join(s[1:] for s in AUDIO_SUFFIXES)})")
        files = [_within(inside, given / n) for n in sorted(names, key=natural_key)]
    elif given.name.lower().endswith(AUDIO_SUFFIXES):
        files = [given]  # one track is a playlist of one
    else:
        files = read_playlist(given, inside)
    if len(files) > MAX_TRACKS:
        raise BadInput(f"{given}: {len(files)} tracks; at most {MAX_TRACKS}")
    return files


def natural_key(name: str) -> list[Any]:
    """Sort key that reads digit runs as numbers: "track 2" before "track 10"."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
            for part in re.split(r"(\d+)", name) if part]


def read_playlist(path: Path, inside: Confined | None = None) -> list[Path]:
    """An M3U/M3U8 playlist or a text file of one path a line (# comments and #EXT lines are
    skipped; relative paths are read from the playlist's folder; file:// URLs are paths).
    inside: every line must name a file in library/ (check()'s library_only)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_PLAYLIST_BYTES + 1)
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the playlist ({exc.strerror})") from None
    if len(data) > MAX_PLAYLIST_BYTES:
        raise BadInput(f"{path}: a playlist of more than {MAX_PLAYLIST_BYTES // 1024} KB is not a playlist")
    if b"\0" in data:
        raise BadInput(f"{path}: not a playlist (binary data); give a folder, an M3U file or one path a line")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # classic .m3u files are in the system's legacy encoding
    files = []
    for n, line in enumerate(text.splitlines(), 1):
        entry = typed = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if entry.lower().startswith("file://"):
            entry = urllib.parse.unquote(urllib.parse.urlparse(entry).path)
        elif re.match(r"^[a-z][a-z0-9+.-]*://", entry, re.I):
            raise BadInput(f"{path}:{n}: {entry[:80]} is an address; the playlist must name files on this machine")
        found = _given(entry, path.parent)
        if inside is not None and not inside.holds(found):
            raise inside.refusal(f"{path}:{n}: {typed[:200]}")
        if not found.exists():
            raise BadInput(f"{path}:{n}: {entry}: no such file")
        files.append(found)
    if not files:
        raise BadInput(f"{path}: the playlist names no files")
    return files


def _readable(path: Path, what: str) -> None:
    if not path.exists():
        raise BadInput(f"{path}: no such file ({what})")
    if not path.is_file():
        raise BadInput(f"{path}: not a file ({what})")
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise BadInput(f"{path}: unreadable ({exc.strerror})") from None
    if path.stat().st_size == 0:
        raise BadInput(f"{path}: the file is empty")


def _no_drm(path: Path) -> None:
    box = ffmpeg.protection(path) if not path.name.lower().endswith((".m4p", ".m4v")) else "m4p"
    if box is not None:
        raise BadInput(f"{path}: protected by DRM ({box!r} box): it cannot be decoded or re-published; "
                       "use an unprotected copy")


def _probe(path: Path, what: str) -> dict[str, Any]:
    try:
        return ffmpeg.probe(path)
    except ffmpeg.MediaError:
        raise BadInput(f"{path}: unreadable: not {what} file, or damaged") from None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def inspect_track(root: Path, path: Path) -> Track:
    """One track, checked and measured; BadInput names it and the reason."""
    _readable(path, "audio track")
    _no_drm(path)
    info = _probe(path, "an audio")
    audio = info.get("audio")
    if not audio:
        raise BadInput(f"{path}: no audio stream (a file of {'video only' if info.get('video') else 'no media'})")
    try:
        frames = ffmpeg.decoded_frames(path, RATE)
    except ffmpeg.MediaError as exc:
        raise BadInput(f"{path}: unreadable, truncated or damaged (ffmpeg: {str(exc).split(': ', 1)[-1]})") from None
    seconds = frames / RATE
    declared = float(audio.get("duration") or info.get("duration") or 0.0)
    if declared and seconds < declared - EXACT_SLACK_S.get(str(info.get("format")), TRUNCATED_SLACK_S):
        raise BadInput(f"{path}: truncated: it plays {seconds:.1f} s of the {declared:.1f} s its header promises")
    if info.get("format") in ENDS_TOLD:  # these say nothing of their length: their last frame does
        try:
            cut = ends.cut_off(path)
        except OSError as exc:
            raise BadInput(f"{path}: unreadable ({exc.strerror})") from None
        if cut:
            raise BadInput(f"{path}: truncated: {cut}")
    if path.suffix.lower() == ".wav" or "mp4" in str(info.get("format") or ""):
        try:
            ffmpeg.check_input(path, "audio")  # a WAV's header and an M4A's boxes say how many bytes it holds
        except ffmpeg.MediaError as exc:
            raise BadInput(f"{path}: {str(exc).split(': ')[0]}") from None
    if seconds < MIN_TRACK_S:
        raise BadInput(f"{path}: {seconds:.2f} s of audio; a track needs at least {MIN_TRACK_S:g} s")
    tags = info.get("tags") or {}
    title = _tag(tags, "title")
    return Track(path=shown(root, path), sha256=sha256_of(path), frames=frames, seconds=round(seconds, 3),
                 title=title or title_from_name(path.name), artist=_tag(tags, "artist"), album=_tag(tags, "album"),
                 title_from="tags" if title else "file name", codec=audio.get("codec"))


def _tag(tags: Mapping[str, str], key: str) -> str | None:
    value = " ".join(str(tags.get(key) or "").split())
    value = "".join(ch for ch in value if store.refused_character(ch) is None)
    if not value:
        return None
    return value if len(value) <= MAX_TAG_CHARS else value[:MAX_TAG_CHARS - 1].rstrip() + "\u2026"


def title_from_name(name: str) -> str:
    """A title from a file name: its stem without a leading track number ("03 - ", "3. ")."""
    stem = Path(name).stem
    bare = re.sub(r"^\s*\d{1,3}\s*(?:[-._)\]]\s*|\s+)", "", stem)
    text = " ".join((bare if bare.strip() else stem).replace("_", " ").split())
    return _tag({"title": text}, "title") or "untitled"


def inspect_picture(root: Path, path: Path) -> Picture:
    """--artwork: a PNG, JPEG or WebP of at least 640x360 as shown (a JPEG's EXIF orientation
    may turn it: media/picture.py); width and height are the shown size."""
    _readable(path, "artwork")
    if not path.name.lower().endswith(IMAGE_SUFFIXES):
        raise BadInput(f"{path}: not a PNG, JPEG or WebP file name ({', '.join(IMAGE_SUFFIXES)})")
    try:
        info = ffmpeg.inspect(path, "image")
    except ffmpeg.MediaError:
        raise BadInput(f"{path}: unreadable: not an image, or damaged") from None
    v = info["video"]
    codec = str(v.get("codec") or "")
    if codec not in IMAGE_CODECS:
        raise BadInput(f"{path}: a {codec or 'unknown'} image; the artwork must be PNG, JPEG or WebP")
    stored = int(v["width"]), int(v["height"])
    try:
        width, height = picture.shown_size(path, *stored)  # a phone photo on its side is judged upright
    except OSError as exc:
        raise BadInput(f"{path}: unreadable ({exc.strerror})") from None
    if width < MIN_IMAGE[0] or height < MIN_IMAGE[1]:
        turned = f" (stored {stored[0]}x{stored[1]}, turned by its EXIF orientation)" if (width, height) != stored else ""
        raise BadInput(f"{path}: {width}x{height}{turned} is too small; the artwork must be at least "
                       f"{MIN_IMAGE[0]}x{MIN_IMAGE[1]}")
    return Picture(path=shown(root, path), sha256=sha256_of(path), width=width, height=height,
                   codec=IMAGE_CODECS[codec])


def inspect_clip(root: Path, path: Path) -> Clip:
    """--loop: an MP4, MOV or WebM video of at least 2 s."""
    _readable(path, "loop")
    if not path.name.lower().endswith(LOOP_SUFFIXES):
        raise BadInput(f"{path}: not an MP4, MOV or WebM file name ({', '.join(LOOP_SUFFIXES)})")
    _no_drm(path)
    try:
        info = ffmpeg.inspect(path, "video")
    except ffmpeg.MediaError as exc:
        reason = str(exc).split(": ")[0].replace("video clip ", "")
        raise BadInput(f"{path}: unreadable: {reason}") from None
    v = info["video"]
    seconds = float(v.get("duration") or info.get("duration") or 0.0)
    if not math.isfinite(seconds) or seconds < MIN_LOOP_S:
        raise BadInput(f"{path}: {seconds:.2f} s long; a loop must last at least {MIN_LOOP_S:g} s")
    return Clip(path=shown(root, path), sha256=sha256_of(path), seconds=round(seconds, 3), width=int(v["width"]),
                height=int(v["height"]), fps=v.get("fps"), codec=v.get("codec"))


# ----------------------------------------------------------------------------- on use

def verified(root: Path, kept: Mapping[str, Any]) -> Path:
    """The file a state.own entry names, if its bytes are still the ones checked; else
    ffmpeg.MediaError saying it changed or went (a step fails on it in one line)."""
    path = located(root, str(kept.get("path")))
    if not path.is_file():
        raise ffmpeg.MediaError(f"{kept.get('path')} is gone since the run began; put it back, then resume")
    if sha256_of(path) != kept.get("sha256"):
        raise ffmpeg.MediaError(f"{kept.get('path')} changed since the run began (its SHA-256 differs); put the "
                                "original back, then resume, or start a new run")
    return path
