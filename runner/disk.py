"""Disk space: what a run will write, whether the data root has it, and a full disk in one line.

Before a run starts, `check_space` estimates the bytes it will write and refuses (one line)
when the data root's file system has less free. When a write fails anyway (the disk filled
up from elsewhere, a quota, a file system turned read-only), `disk_errno` recognises it,
from Python's own OSError or from ffmpeg's words, and `describe` says it in one line that
names the disk and the command to continue. `remove_scratch` deletes what a failed step
left half-written: the runner writes every whole file under a dot-name first (docs/format.md,
"Writing rules"), so the dot-names in a session folder are exactly its temporary files. A
running session also holds a 1 MiB `.reserve` file, given back when the disk fills up, so the
runner can still write down that the session failed.

The sizes below were measured on a local 3-minute, 3-track session (2026-12): tracks are
48 kHz 16-bit stereo WAV (192,000 bytes a second, each track its share plus the mix's
crossfade), mix.m4a AAC at 192 kbit/s, the local loop about 1.6 Mbit/s (the final repeats
it, so it has the same rate plus the mix), artwork, thumbnail and ambience about 10 MB, and
at most about 25 MB of scratch at once. Paid answers are smaller on disk (MP3, a 5 s clip)
but are decoded to the same WAVs while mastering, and a fal clip re-encoded as the loop runs
at a higher rate than the procedural one. Every figure is rounded up, and the total gets a
10 % margin: a refusal must never be wrong the other way.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

PCM_BYTES_PER_S = 48_000 * 2 * 2
AAC_BYTES_PER_S = 192_000 // 8
# The loop's video rate and so the final's: measured 1.6 Mbit/s locally; a fal clip re-encoded
# at CRF 23 carries more detail. Both rounded up.
VIDEO_BYTES_PER_S = {"local": 2_500_000 // 8, "fal": 8_000_000 // 8}
LOOP_SECONDS = 10
FIXED_BYTES = 10 * 1024 * 1024        # artwork, thumbnail, ambience bed, state and logs
SCRATCH_BYTES = 64 * 1024 * 1024      # encoder temporaries, a master's scratch folder
MARGIN = 1.10
CROSSFADE_PAD_S = 4.0                 # each track is asked for its share plus the crossfade
# The music step keeps its WAVs until the mix is done, beside their FLAC copies (about 0.52 of
# the WAV for lofi, 0.83 for a noise bed, measured 2026-12); the local bed lasts the video, up to
# runner/media/ambience.BED_SECONDS (tests/test_plan_the_mix.py keeps the two equal).
FLAC_SHARE = 0.6
BED_FLAC_SHARE = 0.9
BED_MAX_S = 660.0

DISK_ERRNOS: dict[int, str] = {errno.ENOSPC: "full", errno.EDQUOT: "over its quota", errno.EROFS: "read-only"}
# How ffmpeg (and the C library under it) says the same, for errors known only by their text.
_WORDS = {"No space left on device": errno.ENOSPC, "Disk quota exceeded": errno.EDQUOT,
          "Read-only file system": errno.EROFS}

Statvfs = Callable[[str], Any]


class NotEnoughSpace(Exception):
    """The data root has less free space than the run will write; the message is one line.

    `need` (bytes still to write), `free` (bytes free) and `mount` (the disk's mount point)
    let a caller say it in its own words (`series run` names the entry).
    """

    def __init__(self, message: str, *, need: int, free: int, mount: Path):
        super().__init__(message)
        self.need = need
        self.free = free
        self.mount = mount


# ----------------------------------------------------------------------------- before a run

def estimate_bytes(params: Mapping[str, Any]) -> dict[str, int]:
    """What a run with these params writes under its session folder, per part, in bytes.

    The parts are tracks, ambience, mix, loop, final, fixed and scratch; "total" adds them and
    the margin.
    """
    seconds = float(params["minutes"]) * 60.0
    tracks = int(params["tracks"])  # validate_params has resolved "auto" to a count
    video = VIDEO_BYTES_PER_S.get(str(params.get("provider")), max(VIDEO_BYTES_PER_S.values()))
    bed_s = 0.0 if params.get("atmosphere") == "none" else min(seconds + 2.0, BED_MAX_S)
    parts = {
        "tracks": int((seconds + tracks * CROSSFADE_PAD_S) * PCM_BYTES_PER_S * (1 + FLAC_SHARE)),
        "ambience": int(bed_s * PCM_BYTES_PER_S * (1 + BED_FLAC_SHARE)),
        "mix": int(seconds * AAC_BYTES_PER_S),
        "loop": LOOP_SECONDS * video,
        "final": int(seconds * (video + AAC_BYTES_PER_S)),
        "fixed": FIXED_BYTES,
        "scratch": SCRATCH_BYTES,
    }
    parts["total"] = int(sum(parts.values()) * MARGIN)
    return parts


def free_bytes(path: Path, statvfs: Statvfs = os.statvfs) -> int:
    """Bytes an unprivileged writer may still use on the file system holding path."""
    st = statvfs(str(_existing(path)))
    return int(st.f_bavail) * int(st.f_frsize)


def check_space(root: Path, params: Mapping[str, Any], *, written: int = 0,
                statvfs: Statvfs = os.statvfs) -> int:
    """Bytes still to write (the estimate less what a resumed session already holds, never less
    than its scratch); NotEnoughSpace when the root's file system has less free than that."""
    need = estimate_bytes(params)
    still = max(need["total"] - int(written), SCRATCH_BYTES + FIXED_BYTES)
    free = free_bytes(root, statvfs)
    if free < still:
        detail = ", ".join(f"{k} {human(v)}" for k, v in need.items() if k != "total")
        so_far = f"; {human(written)} of it is written already" if written else ""
        mount = mount_point(root)
        raise NotEnoughSpace(
            f"not enough free space: this run writes about {human(need['total'])} ({detail}, with a 10 % "
            f"margin{so_far}) under {root}, and the disk holding it (mounted on {mount}) has "
            f"{human(free)} free: "
            "free some space there, or use --root on a larger disk", need=still, free=free, mount=mount)
    return still


# ----------------------------------------------------------------------------- during a run

def disk_errno(exc: BaseException | None) -> int | None:
    """ENOSPC, EDQUOT or EROFS when exc (or what it was raised from) is a disk that took no more."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
            return exc.errno
        text = f"{exc} {getattr(exc, 'stderr', '') or ''}"
        for words, code in _WORDS.items():
            if words in text:
                return code
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def describe(code: int, root: Path, session_id: str) -> str:
    """One line: which disk, what is wrong with it, and the command that continues the session."""
    where = mount_point(root)
    try:
        free = f", {human(free_bytes(root))} free"
    except OSError:
        free = ""
    what = {errno.ENOSPC: "is full", errno.EDQUOT: "is over its quota",
            errno.EROFS: "is read-only"}.get(code, "refused a write")
    fix = "make it writable" if code == errno.EROFS else "free some space there"
    which = f"the disk mounted on {root} ({free.lstrip(', ')})" if where == Path(root).resolve() and free else \
        f"the disk holding {root} (mounted on {where}{free})"
    return f"{which} {what} ({os.strerror(code)}): {fix}, then run `python -m runner resume {session_id}`"


RESERVE = ".reserve"
RESERVE_BYTES = 1024 * 1024  # a state.json, its temp copy, and the last timeline and log lines


def reserve(session_dir: Path) -> None:
    """Set aside room for the session's last words: a run that fills the disk must still be able
    to write that it failed. remove_scratch() gives the room back when the disk is full."""
    path = session_dir / RESERVE
    with open(path, "wb") as fh:
        fh.write(bytes(RESERVE_BYTES))  # written, not sparse: the blocks must really be taken
        fh.flush()
        os.fsync(fh.fileno())


def release(session_dir: Path) -> None:
    try:
        os.unlink(session_dir / RESERVE)
    except OSError:
        pass


def remove_scratch(session_dir: Path) -> list[str]:
    """Delete the dot-named temporaries a failed step left in the session folder (not .lock),
    the reserve among them, so the failure can be written down."""
    removed = []
    for folder in (session_dir, session_dir / "tracks"):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.startswith(".") or entry.name == ".lock":
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                continue
            removed.append(os.path.relpath(entry.path, session_dir))
    return sorted(removed)


# ----------------------------------------------------------------------------- helpers

def mount_point(path: Path) -> Path:
    """The folder the file system holding path is mounted on (walks up while the device is the same)."""
    p = _existing(path).resolve()
    dev = p.stat().st_dev
    while p.parent != p and p.parent.stat().st_dev == dev:
        p = p.parent
    return p


def human(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


def _existing(path: Path) -> Path:
    p = Path(path)
    while not p.exists() and p.parent != p:
        p = p.parent
    return p
