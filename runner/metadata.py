"""Title, description and tags for YouTube, always inside YouTube's limits.

Limits (shared/notes/providers.md): title <= 100 characters, description <= 5000 bytes,
neither with "<" or ">"; tags <= 500 characters in all (a tag with a space counts its
quotes); chapters need a first timestamp of 0:00, at least three, each >= 10 s, ascending.
"""

from __future__ import annotations

import random
import re
from typing import Any, Iterable, Mapping

from . import store

TITLE_MAX = 100
DESCRIPTION_MAX_BYTES = 5000
TAGS_MAX_CHARS = 500
CHAPTER_MIN_S = 10.0
CHAPTERS_MIN = 3

ACTIVITIES = {
    "spring": ("study", "daydream", "plant seeds"),
    "summer": ("study", "unwind", "stay up late"),
    "autumn": ("study", "read", "stay cozy"),
    "winter": ("study", "sleep", "keep warm"),
}
ATMOSPHERE_WORDS = {"rain": "rain sounds", "cafe": "cafe ambience", "fireplace": "crackling fire",
                    "forest": "forest night", "none": "pure beats"}


def clean(text: str, *, newlines: bool = False) -> str:
    """text with everything YouTube refuses taken out (store.refused_character says what that is).

    Line and paragraph separators, tabs and carriage returns become a newline where newlines
    are kept (a description) and a space elsewhere; other control characters, "<", ">",
    bidirectional controls, unpaired surrogates and noncharacters are dropped.
    """
    out = []
    for ch in str(text).replace("\r\n", "\n"):
        if ch in "\n\r\u2028\u2029\x85\x0b\x0c":
            out.append("\n" if newlines else " ")
        elif ch == "\t":
            out.append(" ")
        elif store.refused_character(ch) is None:
            out.append(ch)
    return "".join(out)


def length_label(seconds: float) -> str:
    """The title's length tag, true at the edges: 30 s is "30 sec", 61 min is "61 min".

    Whole hours read as hours ("1 hour", "12 hours"), half hours from 1.5 h as "2.5 hours";
    anything else under an hour or between hours reads in minutes, with one decimal only when
    the length is not a whole minute ("1.5 min").
    """
    seconds = float(seconds)
    if round(seconds) < 60:
        return f"{max(1, round(seconds))} sec"
    if seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return count(hours, "hour")
    if seconds >= 5400 and seconds % 1800 == 0:
        return f"{seconds / 3600:g} hours"
    minutes = round(seconds / 60, 1)
    return f"{minutes:g} min"


count = store.count  # "1 track": one rule for counts in words, in store for the readers too


def timestamp(seconds: float) -> str:
    s = int(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# What YouTube takes for a timestamp anywhere in a description: [h:]m:ss, not inside a longer
# run of digits and colons.
TIMESTAMP_RE = re.compile(r"(?<![\d:])(?:(\d{1,3}):)?(\d{1,2}):(\d{2})(?![\d:])")


def defuse_timestamps(text: str) -> str:
    """A theme or track title that looks like a timestamp ("1:00 am") would become a chapter
    marker: its colon is swapped for U+2236 RATIO, which reads the same and is not parsed."""
    return TIMESTAMP_RE.sub(lambda m: m.group(0).replace(":", "\u2236"), text)


def make_title(params: Mapping[str, Any], variation: dict[str, Any]) -> str:
    rng = random.Random(variation.get("seed", 0))
    activity = rng.choice(ACTIVITIES.get(params["season"], ("study",)))
    theme = " ".join(clean(params["theme"]).lower().split())
    length = length_label(float(params["minutes"]) * 60)
    title = f"{theme} \u00b7 lofi beats to {activity} to [{length}]"
    if len(title) > TITLE_MAX:
        tail = f" \u00b7 lofi beats to {activity} to [{length}]"
        title = theme[: TITLE_MAX - len(tail) - 1].rstrip() + "\u2026" + tail
    return title[:TITLE_MAX].lower()


def chapter_lines(segments: Iterable[dict[str, Any]], titles: dict[int, str], video_s: float) -> list[str]:
    """The tracklist: chapter lines YouTube accepts, or plain numbered lines when it would not.

    YouTube makes chapters only when the first timestamp is 0:00, there are at least three,
    they ascend, and every chapter, the last included, lasts at least 10 s (the last one to
    the end of the video, video_s seconds). A segment that would start a chapter shorter
    than that (including one within 10 s of the end) is folded into the chapter before it,
    whose line then names both tracks. With fewer than three chapters left, the tracks are
    listed without timestamps, so no broken chapter list ever reaches YouTube.
    """
    end = int(video_s)
    chapters: list[tuple[int, list[str]]] = []
    for seg in sorted(segments, key=lambda s: float(s["start"])):
        start = int(float(seg["start"]))
        title = titles.get(int(seg["track"]), "untitled")
        if chapters and (start - chapters[-1][0] < CHAPTER_MIN_S or end - start < CHAPTER_MIN_S):
            if title not in chapters[-1][1]:
                chapters[-1][1].append(title)
            continue
        chapters.append((0 if not chapters else start, [title]))
    if len(chapters) >= CHAPTERS_MIN:
        return [f"{timestamp(start)} {' / '.join(names)}" for start, names in chapters]
    names = [name for _, group in chapters for name in group]
    return [f"{i}. {name}" for i, name in enumerate(names, 1)]


def make_description(params: Mapping[str, Any], variation: dict[str, Any], segments: list[dict[str, Any]],
                     tracks: list[dict[str, Any]], video_s: float | None = None) -> str:
    video_s = float(params["minutes"]) * 60 if video_s is None else float(video_s)
    # A person's own tracks keep their names as written; the runner's own are lowercase.
    titles = {int(t["index"]): _line_text(t.get("title") or "untitled", lower=not _theirs(t)) for t in tracks}
    theme = _line_text(params["theme"])
    atmosphere = ATMOSPHERE_WORDS.get(params["atmosphere"], "")
    head = [
        f"{theme}: {length_label(float(params['minutes']) * 60)} of lofi beats"
        + (f" with {atmosphere}" if params["atmosphere"] != "none" else "") + ".",
        *([] if own_picture(params) else
          [f"porsuk the night-owl cat keeps you company by the {_line_text(variation.get('scene', 'window'))}."]),
        "",
        "tracklist",
    ]
    lines = chapter_lines(segments, titles, video_s)
    body = list(lines)
    names = credits(tracks)
    shown = list(names)
    while True:
        foot = ["", made_with(params)] + (["", "music", *shown] if shown else []) + ["", "#lofi #lofibeats #studymusic"]
        text = "\n".join(head + body + foot)
        if len(text.encode("utf-8")) <= DESCRIPTION_MAX_BYTES or not (len(body) > 1 or shown):
            return text
        if len(body) > 1:
            # Too long for YouTube: keep the tracklist's head and say how much was cut. The last
            # chapter kept then runs to the end of the video, so it stays long enough.
            keep = max(0, len(body) - max(1, len(body) // 10) - 1)
            if 0 < keep < CHAPTERS_MIN and TIMESTAMP_RE.match(lines[0]):
                lines = [TIMESTAMP_RE.sub("", line, count=1).strip() for line in lines]  # too few to be chapters
            body = lines[:keep] + [f"\u2026and {len(lines) - keep} more"]
        else:  # credits go last: a licence may require them
            keep = max(0, len(shown) - max(1, len(shown) // 10) - 1)
            shown = names[:keep] + [f"\u2026and {len(names) - keep} more"] if keep else []


def _theirs(track: Mapping[str, Any]) -> bool:
    return track.get("provider") == "own"


def own_picture(params: Mapping[str, Any]) -> bool:
    """Whether the picture is the person's (--artwork, or --loop whose first frame is the cover)."""
    return bool(params.get("artwork") or params.get("loop"))


def credits(tracks: Iterable[Mapping[str, Any]]) -> list[str]:
    """"title \u2014 artist" for each of the person's tracks whose tags name an artist, once each."""
    out: list[str] = []
    for t in tracks:
        if _theirs(t) and t.get("artist"):
            line = f"{_line_text(t.get('title') or 'untitled', lower=False)} \u2014 {_line_text(t['artist'], lower=False)}"
            if line not in out:
                out.append(line)
    return out


def made_with(params: Mapping[str, Any]) -> str:
    """The closing line: which parts are generated (synthetic media, declared on upload) and
    which are the channel's own."""
    parts = [("artwork", own_picture(params)), ("motion", bool(params.get("loop"))), ("music", bool(params.get("music")))]
    made = [name for name, theirs in parts if not theirs]
    own = [name for name, theirs in parts if theirs]
    if not own:
        return ("made with badger tape studio. the artwork, motion and music are ai-generated or procedural "
                "(synthetic media, declared on upload).")
    text = f"made with badger tape studio. the {_and(own)} {'is' if len(own) == 1 else 'are'} the channel's own"
    if made:
        text += f"; the {_and(made)} {'is' if len(made) == 1 else 'are'} ai-generated or procedural"
    if params.get("music") and params.get("atmosphere") != "none":
        text += "; the ambience is procedural"
    return text + "."


def synthetic(params: Mapping[str, Any]) -> bool:
    """Whether the video holds generated media (YouTube's containsSyntheticMedia): anything
    not brought by the person, the ambience bed included."""
    return not (own_picture(params) and params.get("loop") and params.get("music") and params.get("atmosphere") == "none")


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _line_text(text: Any, *, lower: bool = True) -> str:
    """One line of composed text: cleaned, lowercase (unless lower=False), and never mistaken
    for a timestamp."""
    text = defuse_timestamps(" ".join(clean(str(text)).split()))
    return text.lower() if lower else text


def tags_length(tags: list[str]) -> int:
    # YouTube counts the commas between tags and the quotes around a tag with a space.
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def make_tags(params: Mapping[str, Any], variation: dict[str, Any]) -> list[str]:
    theme = " ".join(clean(params["theme"]).lower().split())
    candidates = [
        "lofi", "lofi hip hop", "lofi beats", "study music", "chill beats", "relaxing music",
        theme, f"{theme} lofi", f"{params['season']} lofi", "beats to study to",
        *([] if own_picture(params) else ["night owl", "cat lofi", "porsuk"]),
        ATMOSPHERE_WORDS.get(params["atmosphere"], ""), "instrumental",
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


def build(params: Mapping[str, Any], variation: dict[str, Any], segments: list[dict[str, Any]],
          tracks: list[dict[str, Any]], video_s: float | None = None) -> dict[str, Any]:
    """metadata.json for a video of video_s seconds (default: the run's --minutes)."""
    return {
        "title": make_title(params, variation),
        "description": make_description(params, variation, segments, tracks, video_s),
        "tags": make_tags(params, variation),
        "category_id": "10",  # Music
        "default_language": "en",
        "contains_synthetic_media": synthetic(params),
        "made_for_kids": False,
        "privacy": params["privacy"],
    }


def chapter_times(description: str) -> list[int]:
    """Every timestamp YouTube would read in description, in order, in seconds."""
    return [int(h or 0) * 3600 + int(m) * 60 + int(sec) for h, m, sec in TIMESTAMP_RE.findall(description)]


def chapter_problems(times: list[int], video_s: float | None) -> list[str]:
    """Why these timestamps would not make chapters (empty when they would, or when there are none)."""
    if not times:
        return []
    out = []
    if times[0] != 0:
        out.append(f"the first chapter is {timestamp(times[0])}, not 0:00")
    if len(times) < CHAPTERS_MIN:
        out.append(f"{count(len(times), 'chapter timestamp')}: YouTube needs at least {CHAPTERS_MIN} or none")
    for a, b in zip(times, times[1:]):
        if b <= a:
            out.append(f"chapter {timestamp(b)} does not come after {timestamp(a)}")
        elif b - a < CHAPTER_MIN_S:
            out.append(f"chapter {timestamp(a)} lasts {b - a} s (at least {CHAPTER_MIN_S:g} s)")
    if video_s is not None and int(video_s) - times[-1] < CHAPTER_MIN_S:
        out.append(f"the last chapter {timestamp(times[-1])} lasts {max(0, int(video_s) - times[-1])} s to the end "
                   f"of the {timestamp(video_s)} video (at least {CHAPTER_MIN_S:g} s)")
    return out


def problems(meta: Any, video_s: float | None = None) -> list[str]:
    """Every way meta breaks YouTube's rules (empty when it fits), one phrase each.

    meta may come from disk (metadata.json edited during review), so its shape is checked
    first. video_s, when given, is the video's length, for the last chapter's 10 s.
    """
    if not isinstance(meta, dict):
        return ["metadata is not a JSON object"]
    title, description, tags = meta.get("title"), meta.get("description"), meta.get("tags")
    if not isinstance(title, str) or not title.strip():
        return ["title is missing or empty"]
    if not isinstance(description, str):
        return ["description is missing or not text"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return ["tags are not a list of text"]
    out = []
    if len(title) > TITLE_MAX:
        out.append(f"title is {len(title)} characters (max {TITLE_MAX})")
    if len(description.encode("utf-8", "surrogatepass")) > DESCRIPTION_MAX_BYTES:
        out.append(f"description is over {DESCRIPTION_MAX_BYTES} bytes")
    for field, text, newlines in (("title", title, False), ("description", description, True)):
        refused = store.refused_character(text, newlines=newlines)
        if refused:
            out.append(f"{field} contains {refused}")
    for tag in tags:
        refused = store.refused_character(tag)
        if refused:
            out.append(f"tag {tag.encode('utf-8', 'backslashreplace').decode()!r} contains {refused}")
    if tags_length(tags) > TAGS_MAX_CHARS:
        out.append(f"tags are over {TAGS_MAX_CHARS} characters")
    out += chapter_problems(chapter_times(description), video_s)
    return out
