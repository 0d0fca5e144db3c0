"""No repeated titles: a title equal to an earlier session's, once case, punctuation and numbers
are set aside, is varied with another title pattern; when every pattern is taken, the upload
step refuses before sending anything (YouTube's "inauthentic content" rule targets repetitive,
near-duplicate uploads; shared/notes/channel.md).

    normalise("Rainy Night · lofi beats to study to [1 hour]")
    == normalise("rainy night - LOFI beats to study to (2 hours)")   # numbers and punctuation aside
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any, Mapping

from . import metadata, store

# Each pattern is tried for every activity of the season, in order; the first is the one
# metadata.make_title has always made, so a channel's first video keeps the familiar title.
PATTERNS: tuple[str, ...] = (
    "{theme} \u00b7 lofi beats to {activity} to [{length}]",
    "{theme} \u00b7 chill beats to {activity} to [{length}]",
    "{theme} \u00b7 lofi and {atmosphere} to {activity} to [{length}]",
    "{theme} \u00b7 {mood} lofi from the {scene} [{length}]",
    "{length} of {mood} lofi \u00b7 {theme}",
    "{theme} \u00b7 a {mood} lofi mix with {atmosphere}",
)


def normalise(title: str) -> str:
    """Case folded, accents and punctuation dropped, numbers removed, spaces collapsed.

    A word's plural s goes too, because a number decides it: "[1 hour]" and "[2 hours]".
    """
    text = unicodedata.normalize("NFKD", str(title)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"\d+", " ", text)
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                    for w in text.split())


def candidates(params: Mapping[str, Any], variation: dict[str, Any]) -> list[str]:
    """Every title this run could take, the usual one first; all within YouTube's limits."""
    first = metadata.make_title(params, variation)
    season = params.get("season", "autumn")
    acts = list(metadata.ACTIVITIES.get(season, ("study",)))
    usual = next((a for a in acts if f" to {a} to " in first), acts[0])
    acts.remove(usual)
    acts.insert(0, usual)
    tracks = variation.get("tracks") or [{}]
    words = {
        "theme": metadata.clean(params["theme"]).lower().strip(),
        "length": metadata.length_label(float(params["minutes"]) * 60),
        "atmosphere": metadata.ATMOSPHERE_WORDS.get(params.get("atmosphere", ""), "soft static"),
        "mood": str(tracks[0].get("mood") or "mellow"),
        "scene": str(variation.get("scene") or "window"),
    }
    out = [first]
    for pattern in PATTERNS:
        for act in acts:
            title = _fit(pattern, {**words, "activity": act})
            if title not in out:
                out.append(title)
    return out


def _fit(pattern: str, words: dict[str, str]) -> str:
    title = pattern.format(**words)
    if len(title) > metadata.TITLE_MAX:
        room = metadata.TITLE_MAX - (len(title) - len(words["theme"])) - 1
        title = pattern.format(**{**words, "theme": words["theme"][:max(1, room)].rstrip() + "\u2026"})
    return metadata.clean(title)[: metadata.TITLE_MAX].lower()


def earlier(root: Path, exclude: str) -> dict[str, str]:
    """Normalised title -> the session that has it, for every other session with a title."""
    out: dict[str, str] = {}
    for sid in store.list_session_ids(root):
        if sid == exclude:
            continue
        state = store.read_state(root, sid)
        title = state.get("title") if state is not None else None
        if isinstance(title, str) and title.strip():
            out.setdefault(normalise(title), sid)
    return out


def choose(options: list[str], taken: dict[str, str]) -> tuple[str, str | None]:
    """The first option nobody has; or the first option and the session it repeats."""
    for title in options:
        if normalise(title) not in taken:
            return title, None
    return options[0], taken[normalise(options[0])]
