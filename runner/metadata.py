"""Title, description and tags for YouTube, always inside YouTube's limits.

Limits (shared/notes/providers.md): title <= 100 characters, description <= 5000 bytes,
neither with "<" or ">"; tags <= 500 characters in all (a tag with a space counts its
quotes); chapters need a first timestamp of 0:00, at least three, each >= 10 s, ascending.
"""

from __future__ import annotations

import random
from typing import Any, Iterable

TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARS = 500
CHAPTER_MIN_S = 10.0

ACTIVITIES = {
    "spring": ("study", "daydream", "plant seeds"),
    "summer": ("study", "unwind", "stay up late"),
    "autumn": ("study", "read", "stay cozy"),
    "winter": ("study", "sleep", "keep warm"),
}
ATMOSPHERE_WORDS = {"rain": "rain sounds", "cafe": "cafe ambience", "fireplace": "crackling fire",
                    "forest": "forest night", "none": "pure beats"}


def clean(text: str) -> str:
    """No angle brackets (YouTube rejects them) and no control characters."""
    return "".join(ch for ch in str(text) if ch not in "<>" and (ch in "\n" or ord(ch) >= 32))


def length_label(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return f"{hours} hour" + ("s" if hours > 1 else "")
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{max(1, round(seconds / 60))} min"


def timestamp(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def make_title(params: dict[str, Any], variation: dict[str, Any]) -> str:
    rng = random.Random(variation.get("seed", 0))
    activity = rng.choice(ACTIVITIES.get(params["season"], ("study",)))
    theme = clean(params["theme"]).lower().strip()
    length = length_label(float(params["minutes"]) * 60)
    title = f"{theme} \u00b7 lofi beats to {activity} to [{length}]"
    if len(title) > TITLE_MAX:
        tail = f" \u00b7 lofi beats to {activity} to [{length}]"
        title = theme[: TITLE_MAX - len(tail) - 1].rstrip() + "\u2026" + tail
    return title[:TITLE_MAX].lower()


def chapter_lines(segments: Iterable[dict[str, Any]], titles: dict[int, str]) -> list[str]:
    """Tracklist lines whose timestamps YouTube accepts as chapters.

    A segment starting less than CHAPTER_MIN_S after the previous listed one is folded into
    it, so every listed chapter is long enough.
    """
    lines: list[str] = []
    last_start: float | None = None
    for seg in segments:
        start = 0.0 if last_start is None else float(seg["start"])
        if last_start is not None and start - last_start < CHAPTER_MIN_S:
            continue
        lines.append(f"{timestamp(start)} {titles.get(int(seg['track']), 'untitled')}")
        last_start = start
    return lines


def make_description(params: dict[str, Any], variation: dict[str, Any], segments: list[dict[str, Any]],
                     tracks: list[dict[str, Any]]) -> str:
    titles = {int(t["index"]): clean(t.get("title") or "untitled").lower() for t in tracks}
    theme = clean(params["theme"]).lower()
    atmosphere = ATMOSPHERE_WORDS.get(params["atmosphere"], "")
    head = [
        f"{theme}: {length_label(float(params['minutes']) * 60)} of lofi beats"
        + (f" with {atmosphere}" if params["atmosphere"] != "none" else "") + ".",
        f"porsuk the night-owl cat keeps you company by the {variation.get('scene', 'window')}.",
        "",
        "tracklist",
    ]
    foot = [
        "",
        "made with badger tape studio. the artwork, motion and music are ai-generated or procedural "
        "(synthetic media, declared on upload).",
        "",
        "#lofi #lofibeats #studymusic",
    ]
    chapters = chapter_lines(segments, titles)
    body = list(chapters)
    while True:
        text = clean("\n".join(head + body + foot))
        if len(text.encode("utf-8")) <= DESCRIPTION_MAX_BYTES or not body:
            return text
        # Too long for YouTube: keep the tracklist's head and say how much was cut.
        keep = max(0, len(body) - max(1, len(body) // 10) - 1)
        dropped = len(chapters) - keep
        body = chapters[:keep] + [f"\u2026and {dropped} more"]


def tags_length(tags: list[str]) -> int:
    # YouTube counts the commas between tags and the quotes around a tag with a space.
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def make_tags(params: dict[str, Any], variation: dict[str, Any]) -> list[str]:
    theme = clean(params["theme"]).lower().strip()
    candidates = [
        "lofi", "lofi hip hop", "lofi beats", "study music", "chill beats", "relaxing music",
        theme, f"{theme} lofi", f"{params['season']} lofi", "beats to study to", "night owl",
        "cat lofi", "porsuk", ATMOSPHERE_WORDS.get(params["atmosphere"], ""), "instrumental",
        "focus music", "sleep music", "jazzy beats", variation.get("palette_name", ""),
    ]
    tags: list[str] = []
    for tag in candidates:
        tag = clean(tag).strip()[:100]
        if not tag or tag in tags:
            continue
        if tags_length(tags + [tag]) > TAGS_MAX_CHARS:
            continue
        tags.append(tag)
    return tags


def build(params: dict[str, Any], variation: dict[str, Any], segments: list[dict[str, Any]],
          tracks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "title": make_title(params, variation),
        "description": make_description(params, variation, segments, tracks),
        "tags": make_tags(params, variation),
        "category_id": "10",  # Music
        "default_language": "en",
        "contains_synthetic_media": True,
        "made_for_kids": False,
        "privacy": params["privacy"],
    }


def problems(meta: dict[str, Any]) -> list[str]:
    """Every way meta breaks YouTube's limits (empty when it fits)."""
    out = []
    if len(meta["title"]) > TITLE_MAX:
        out.append(f"title is {len(meta['title'])} characters (max {TITLE_MAX})")
    if len(meta["description"].encode("utf-8")) > DESCRIPTION_MAX_BYTES:
        out.append("description is over 5000 bytes")
    for field in ("title", "description"):
        if "<" in meta[field] or ">" in meta[field]:
            out.append(f"{field} contains < or >")
    if any("<" in t or ">" in t for t in meta["tags"]):
        out.append("a tag contains < or >")
    if tags_length(meta["tags"]) > TAGS_MAX_CHARS:
        out.append("tags are over 500 characters")
    return out
