"""Session media: artwork, thumbnail, loop, final video, the mix, ambience and tracks.

Served as /media/<session id>/<path inside the session folder>, only for media file types,
only from inside that one session's folder, with Range support so players can seek.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from runner import store

from . import disk
from .files import file_response, split_safe
from .web import Response

MEDIA_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".flac": "audio/flac",
}
PREFIX = "/media/"


def media_type(name: str) -> str | None:
    dot = name.rfind(".")
    return MEDIA_TYPES.get(name[dot:].lower()) if dot > 0 else None


@lru_cache(maxsize=4096)
def _servable_tail(rel: str) -> str | None:
    # Outputs repeat across sessions ("artwork.png", "tracks/01.wav"): check each name once.
    parts = split_safe(rel)
    if parts is None or media_type(parts[-1]) is None:
        return None
    return "/".join(parts)   # plain characters only (split_safe), so nothing to escape


def media_url(session_id: str, rel: Any) -> str | None:
    """The URL of a step output, or None when the recorded path is not a servable media file.

    Runs the same lexical checks as serving, so the page is never handed a link that 404s
    for being unsafe.
    """
    if not isinstance(rel, str) or not store.is_session_id(session_id):
        return None
    tail = _servable_tail(rel)
    return None if tail is None else PREFIX + session_id + "/" + tail


def serve_media(root: Path, url_path: str, range_header: str | None,
                if_none_match: str | None) -> Response | None:
    """The file for /media/<id>/<path>, or None (the caller answers 404)."""
    tail = url_path[len(PREFIX):]
    session_id, _, rel = tail.partition("/")
    if not store.is_session_id(session_id) or not rel:
        return None
    parts = split_safe(rel)
    if parts is None:
        return None
    ctype = media_type(parts[-1])
    if ctype is None:
        return None
    try:
        folder = disk.open_session(root, session_id)   # refused when it is a link
    except disk.Refused:
        return None
    with folder:
        try:
            f = folder.open(parts)
        except disk.Refused:
            return None
    # Media files are written once under their name; revalidate cheaply with the ETag.
    return file_response(f, ctype, range_header, if_none_match, cache="private, no-cache")
