"""The data root's library/ folder, for the launcher: what a person can pick, and a check that a
pick is one of those.

The studio never writes there and never reads a file's bytes: it lists names, kinds and sizes,
walking from the folder's own descriptor with every name opened O_NOFOLLOW (studio/disk.py),
so a symbolic link anywhere below library/ is neither listed nor accepted, and nothing outside
it can be named. The runner then reads the files itself and checks them (runner/library.py).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import disk

LIBRARY = "library"
AUDIO = (".mp3", ".wav", ".flac", ".m4a", ".aac", ".ogg", ".opus")
PLAYLISTS = (".m3u", ".m3u8")
IMAGES = (".png", ".jpg", ".jpeg", ".webp")
LOOPS = (".mp4", ".mov", ".webm")
MAX_DEPTH = 3           # library/a/b/c: deep enough for artist/album folders
MAX_ENTRIES = 2000      # names looked at in all; a bigger library is listed in part
MAX_NAME_CHARS = 255


class Refused(Exception):
    """A pick that is not in the library; the message says why in a few words."""


@dataclass(frozen=True)
class Item:
    path: str      # library/...
    bytes: int
    tracks: int    # audio files directly inside a music folder; 0 otherwise

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "bytes": self.bytes}
        if self.tracks:
            out["tracks"] = self.tracks
        return out


def _usable(name: str) -> bool:
    return (0 < len(name) <= MAX_NAME_CHARS and not name.startswith(".")
            and not any(ord(ch) < 32 or ord(ch) == 127 for ch in name))


def listing(root: Path) -> dict[str, Any]:
    """{"music": [...folders with audio files, playlists], "artwork": [...], "loop": [...],
    "truncated": bool}; each item {"path", "bytes", "tracks"?}. An absent library is empty."""
    found: dict[str, list[Item]] = {"music": [], "artwork": [], "loop": []}
    budget = [MAX_ENTRIES]
    try:
        fd = disk.open_dir(Path(root) / LIBRARY)
    except disk.Refused:
        return {**{k: [] for k in found}, "truncated": False}
    try:
        _walk(fd, LIBRARY, 1, found, budget)
    finally:
        os.close(fd)
    return {**{k: [i.as_dict() for i in sorted(v, key=lambda i: i.path.casefold())] for k, v in found.items()},
            "truncated": budget[0] <= 0}


def _walk(fd: int, shown: str, depth: int, found: dict[str, list[Item]], budget: list[int]) -> None:
    audio = 0
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            budget[0] -= 1
            if budget[0] < 0:
                break
            if not _usable(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            name, low, path = entry.name, entry.name.lower(), f"{shown}/{entry.name}"
            if stat.S_ISDIR(st.st_mode):
                folders.append(name)
            elif not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                continue  # links, devices, FIFOs, hard links: not offered (disk.py refuses them too)
            elif low.endswith(AUDIO):
                audio += 1
            elif low.endswith(PLAYLISTS):
                found["music"].append(Item(path, st.st_size, 0))
            elif low.endswith(IMAGES):
                found["artwork"].append(Item(path, st.st_size, 0))
            elif low.endswith(LOOPS):
                found["loop"].append(Item(path, st.st_size, 0))
    if audio and depth > 1:
        found["music"].append(Item(shown, 0, audio))
    if depth >= MAX_DEPTH:
        return
    for name in folders:
        if budget[0] <= 0:
            return
        try:
            sub = disk.open_subdir(fd, name)
        except disk.Refused:
            continue
        try:
            _walk(sub, f"{shown}/{name}", depth + 1, found, budget)
        finally:
            os.close(sub)


def check(root: Path, kind: str, path: Any) -> str:
    """path, if it names an item of this kind that listing() would offer; else Refused.

    kind: "music" (a folder holding audio files, or an M3U playlist), "artwork" or "loop".
    The path is walked from library/ without following any link, as listing() walks it.
    """
    if not isinstance(path, str) or not path.startswith(LIBRARY + "/"):
        raise Refused(f"{kind} must be a file in the data root's {LIBRARY}/ folder")
    parts = path.split("/")[1:]
    if not 1 <= len(parts) <= MAX_DEPTH or not all(_usable(p) for p in parts):
        raise Refused(f"{kind} must be a file in the data root's {LIBRARY}/ folder")
    low = parts[-1].lower()
    want = {"artwork": IMAGES, "loop": LOOPS, "music": PLAYLISTS}[kind]
    try:
        fd = disk.open_dir(Path(root) / LIBRARY)
    except disk.Refused:
        raise Refused(f"there is no {LIBRARY}/ folder in the data root") from None
    try:
        if kind == "music" and not low.endswith(want):
            folder = _subdir(fd, parts)
            try:
                with os.scandir(folder) as entries:
                    if not any(e.name.lower().endswith(AUDIO) and e.is_file(follow_symlinks=False) for e in entries):
                        raise Refused(f"{path} holds no audio files")
            finally:
                os.close(folder)
            return path
        if not low.endswith(want):
            raise Refused(f"{path} is not a {kind} file ({', '.join(want)})")
        try:
            disk.open_at(fd, parts).close()
        except disk.Refused as exc:
            raise Refused(f"{path} {exc.reason}") from None
        return path
    finally:
        os.close(fd)


def _subdir(fd: int, parts: list[str]) -> int:
    current = fd
    try:
        for name in parts:
            nxt = disk.open_subdir(current, name)
            if current != fd:
                os.close(current)
            current = nxt
    except disk.Refused as exc:
        if current != fd:
            os.close(current)
        raise Refused(f"{LIBRARY}/{'/'.join(parts)}: {exc.name} {exc.reason}") from None
    return current
