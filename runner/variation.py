"""The run's concrete creative choices, drawn from a seed.

Everything downstream (art, motion, music, metadata, paid prompts) reads the variation
instead of rolling its own dice, so one seed reproduces a whole session and two sessions
with different keys look and sound different.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any, Iterable, Mapping

from . import scenes

PALETTES: dict[str, dict[str, str]] = {
    # name: sky top, sky bottom, wall, window frame, lamp glow, accent, ink (outlines)
    "midnight plum": {"sky": "#141233", "sky2": "#3b2a5c", "wall": "#221b33", "frame": "#0e0b18",
                      "lamp": "#ffb56b", "accent": "#e98aa8", "ink": "#08060f"},
    "ember dusk": {"sky": "#1d1424", "sky2": "#6b3a3a", "wall": "#2a1c1c", "frame": "#120b0b",
                   "lamp": "#ffa24d", "accent": "#f2c14e", "ink": "#0b0606"},
    "harbor blue": {"sky": "#0b1a2e", "sky2": "#1f4a6b", "wall": "#15212e", "frame": "#070d15",
                    "lamp": "#ffd08a", "accent": "#7fd1c7", "ink": "#04080d"},
    "moss & tea": {"sky": "#0f1c17", "sky2": "#2f4f3a", "wall": "#1b2620", "frame": "#09100c",
                   "lamp": "#f7c873", "accent": "#a8d08d", "ink": "#050906"},
    "neon rain": {"sky": "#0d0b1f", "sky2": "#2b1b5a", "wall": "#17132b", "frame": "#07060f",
                  "lamp": "#ff7edb", "accent": "#5ce1e6", "ink": "#040309"},
    "snow lantern": {"sky": "#101a2b", "sky2": "#45577a", "wall": "#1c2433", "frame": "#0a0e16",
                     "lamp": "#ffe0a3", "accent": "#cfe3ff", "ink": "#05070b"},
    "apricot study": {"sky": "#1a1526", "sky2": "#7a4f5a", "wall": "#2b2028", "frame": "#130d12",
                      "lamp": "#ffc48a", "accent": "#ff9e7a", "ink": "#0a0709"},
    "sage window": {"sky": "#121a1f", "sky2": "#3d5a5c", "wall": "#1d2628", "frame": "#0a0f10",
                    "lamp": "#f4d58d", "accent": "#bcd8c1", "ink": "#050808"},
}

MOODS = ("mellow", "dreamy", "nostalgic", "cozy", "wistful", "hazy", "warm", "late-night", "soft focus",
         "rainy-day", "slow sunrise", "midnight")
# The session's mood: the words its tracks are tagged with, and the voices that fit it (names
# from runner/media/voices.py). Each track draws its keys voice, lead, bass and kit from its
# session's lists, never the keys voice of the track before it.
MOOD_SOUNDS: dict[str, dict[str, tuple[str, ...]]] = {
    "late-night": {"words": ("late-night", "midnight", "hazy", "soft focus"),
                   "keys": ("rhodes", "warm pad", "vibes", "felt piano"), "lead": ("muted horn", "soft sine", "whistle"),
                   "bass": ("sub", "electric"), "kit": ("dusty", "brushed", "tape")},
    "cozy": {"words": ("cozy", "warm", "mellow", "rainy-day"),
             "keys": ("felt piano", "rhodes", "nylon", "vibes"), "lead": ("flute", "kalimba", "soft sine"),
             "bass": ("upright", "electric"), "kit": ("soft", "brushed", "dusty")},
    "dreamy": {"words": ("dreamy", "soft focus", "slow sunrise", "hazy"),
               "keys": ("warm pad", "vibes", "rhodes", "nylon"), "lead": ("whistle", "flute", "kalimba"),
               "bass": ("sub", "electric", "upright"), "kit": ("soft", "dusty")},
    "nostalgic": {"words": ("nostalgic", "wistful", "rainy-day", "mellow"),
                  "keys": ("rhodes", "nylon", "felt piano", "vibes"), "lead": ("kalimba", "muted horn", "soft sine"),
                  "bass": ("upright", "electric"), "kit": ("dusty", "tape", "brushed")},
}
KEYS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
TRACK_WORDS = ("lanterns", "steam", "paper moons", "window fog", "last train", "quiet hours", "ink",
               "velvet", "tea leaves", "streetlight", "soft static", "candle", "night bus", "porchlight",
               "drizzle", "pages", "blue hour", "warm socks", "moth", "old radio", "slow clouds",
               "coffee rings", "owl call", "dim hallway", "rooftops", "puddles", "cassette", "dust motes",
               "rain on tin", "low tide", "sleepy city", "snowglobe")

KEY_FIELDS = ("palette_name", "scene", "view", "pose", "time_of_day", "season", "weather", "mirrored")


def variation_key(v: dict[str, Any]) -> str:
    """What makes two variations "the same" for a viewer: every visual choice of the picture."""
    return "|".join(str(v.get(k)) for k in KEY_FIELDS)


def draw(params: Mapping[str, Any], seed: int, earlier: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """A variation for these run parameters, never repeating the key of an earlier one.

    params: theme, season, atmosphere and tracks, as the CLI validates them. earlier: the
    variations of earlier sessions, oldest first. The seed is advanced deterministically until
    an unused key turns up; with every combination used (hundreds of sessions), the least
    recent repeats are accepted. A scene shown before is painted mirrored if it was not last
    time (and the other way round), so two sessions of one scene never share a layout in a row.
    """
    earlier = list(earlier)
    used = {str(v.get("variation_key")) for v in earlier}
    last_mirror = {str(v.get("scene")): bool(v.get("mirrored")) for v in earlier}
    candidate = _draw_once(params, seed, last_mirror)
    for bump in range(1, 500):
        if candidate["variation_key"] not in used:
            break
        candidate = _draw_once(params, seed + bump * 7919, last_mirror)
    return candidate


def _draw_once(params: Mapping[str, Any], seed: int, last_mirror: dict[str, bool] | None = None) -> dict[str, Any]:
    theme, season = str(params.get("theme", "")), str(params.get("season") or "autumn")
    atmosphere = str(params.get("atmosphere") or "none")
    pic = scenes.choose(theme, season, atmosphere, random.Random(seed), tuple(PALETTES))
    v: dict[str, Any] = {
        "seed": seed,
        "theme": theme,
        "season": season,
        "atmosphere": atmosphere,
        "palette_name": pic.palette,
        "palette": dict(PALETTES[pic.palette]),
        "scene": pic.scene,
        "view": pic.view,
        "pose": pic.pose,
        "time_of_day": pic.time_of_day,
        "weather": pic.weather,
        "theme_words": list(pic.words),
    }
    previous = (last_mirror or {}).get(pic.scene)
    v["mirrored"] = (not previous) if previous is not None else random.Random(seed ^ 0x5CE4E).random() < 0.5
    v["variation_key"] = variation_key(v)
    # The music's own generators, so the music's choices never shift the picture's draws
    # (scenes.choose draws from its own Random(seed)).
    rng = random.Random(f"tracks:{seed}")
    music = random.Random(f"music:{seed}")
    v["mood"] = music.choice(sorted(MOOD_SOUNDS))
    v["tracks"] = _tracks(rng, music, v["mood"], int(params["tracks"]))
    return v


def describe(v: Mapping[str, Any]) -> str:
    """The variation in words, for the step's note and the log."""
    weather = {"clear": "clear sky"}.get(str(v.get("weather")), str(v.get("weather")))
    return (f"{v.get('scene')} ({v.get('view')} view) at {v.get('time_of_day')} in {v.get('season')}, {weather}; "
            f"Porsuk {v.get('pose')}; {v.get('palette_name')} palette")


def _tracks(rng: random.Random, music: random.Random, mood: str, n: int) -> list[dict[str, Any]]:
    # Distinct keys and tempos where possible, so neighbouring tracks never sound alike.
    sounds = MOOD_SOUNDS[mood]
    keys = rng.sample(KEYS, len(KEYS))
    bpms = rng.sample(range(70, 91), 21)
    words = rng.sample(TRACK_WORDS, len(TRACK_WORDS))
    out: list[dict[str, Any]] = []
    voices: dict[str, str] | None = None
    for i in range(n):
        voices = _voices(music, sounds, voices)
        out.append({
            "index": i + 1,
            "seed": rng.randrange(1, 2**31),
            "mood": music.choice(sounds["words"]),
            "key": keys[i % len(keys)],
            "mode": rng.choice(("major", "minor", "dorian")),
            "bpm": bpms[i % len(bpms)],
            "title": words[i % len(words)] + ("" if i < len(words) else f" {i // len(words) + 1}"),
            "instruments": voices,
        })
    return out


def _voices(music: random.Random, sounds: dict[str, tuple[str, ...]], before: dict[str, str] | None) -> dict[str, str]:
    keys = [k for k in sounds["keys"] if before is None or k != before["keys"]]
    return {"keys": music.choice(keys), "lead": music.choice(sounds["lead"]), "bass": music.choice(sounds["bass"]),
            "kit": music.choice(sounds["kit"])}


def seed_for(session_id: str) -> int:
    return int.from_bytes(hashlib.sha256(session_id.encode()).digest()[:4], "big")
