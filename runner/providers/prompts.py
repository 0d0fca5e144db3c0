"""Prompts for the paid models, written from the run's variation.

The variation (runner/variation.py) already holds every creative choice: palette, scene,
Porsuk's pose, weather, the atmosphere, and per track a mood, key, mode, tempo and title.
The prompts only put those choices into words each model understands, so a seed reproduces
the same requests (and so hits the paid cache) and two sessions ask for different things.
"""

from __future__ import annotations

from typing import Any

MASCOT = "Porsuk, a small round night-owl cat wearing big over-ear headphones"

AMBIENCE_TEXT: dict[str, str] = {
    "rain": "steady soft rain on a window pane at night, gentle drips, very distant thunder, "
            "no music, no voices, seamless loop",
    "cafe": "quiet late-night cafe ambience, soft indistinct murmur, cups and saucers, espresso machine "
            "hiss far away, no music, seamless loop",
    "fireplace": "crackling fireplace in a quiet room, soft pops and embers, warm and close, no music, "
                 "seamless loop",
    "forest": "calm night forest, light wind in the leaves, distant owl, crickets, no music, seamless loop",
}


WEATHER_WORDS = {"snow": ("snow drifting past the window", "snow falling softly"),
                 "rain": ("rain streaking the window", "rain running down the window"),
                 "clear": ("a clear sky outside", "clouds drifting slowly")}
SEASON_WORDS = {"spring": "blossom on the trees", "summer": "summer light", "autumn": "falling leaves",
                "winter": "snow lying on the roofs"}


def art_prompt(v: dict[str, Any]) -> str:
    weather = WEATHER_WORDS.get(str(v.get("weather")), WEATHER_WORDS["rain"])[0]
    season = SEASON_WORDS.get(str(v.get("season")), "")
    return (
        f"Cozy lofi anime illustration, 16:9 wide shot. {MASCOT}, {v.get('pose', 'relaxing')}, "
        f"in a {v.get('scene', 'room')} with a {v.get('view', 'city')} view at {v.get('time_of_day', 'night')}, "
        f"{weather}, {season}, warm lamp glow. "
        f"Theme: {v.get('theme', 'late night')}, {v.get('season', 'autumn')}. "
        f"Colour palette '{v.get('palette_name', 'midnight plum')}' with soft warm highlights. Soft grain, gentle lighting, detailed background, calm mood, "
        f"no text, no letters, no watermark, no logo."
    )


def motion_prompt(v: dict[str, Any]) -> str:
    weather = WEATHER_WORDS.get(str(v.get("weather")), WEATHER_WORDS["rain"])[1]
    return (
        f"Subtle looping lofi animation: {weather}, lamp light flickering gently, steam rising, "
        f"the cat breathing slowly and nodding to the music. Static camera, no cuts, no zoom, "
        f"calm and minimal motion, the last frame close to the first."
    )


def music_prompt(track: dict[str, Any], v: dict[str, Any]) -> str:
    """MiniMax's style prompt: 10-300 characters."""
    text = (
        f"Instrumental lofi hip hop, {track.get('mood', 'mellow')}, {track.get('bpm', 80)} BPM, "
        f"key of {track.get('key', 'C')} {track.get('mode', 'major')}, dusty drums, warm Rhodes, "
        f"soft bass, vinyl crackle, no vocals. Mood of '{track.get('title', 'night')}', "
        f"{v.get('theme', 'late night')}, {v.get('season', '')} night"
    )
    return _fit(text, 10, 300)


def music_lyrics(track: dict[str, Any]) -> str:
    """MiniMax v2 requires lyrics (10-3000 characters); structure tags with no words keep it instrumental."""
    return "[Intro]\n[Inst]\n##\n[Inst]\n##\n[Outro]"


def ambience_text(atmosphere: str) -> str:
    return AMBIENCE_TEXT.get(atmosphere, f"{atmosphere} ambience at night, no music, seamless loop")


def _fit(text: str, low: int, high: int) -> str:
    text = " ".join(text.split())
    if len(text) > high:
        text = text[: high - 1].rsplit(" ", 1)[0].rstrip(",. ") + "."
    return text if len(text) >= low else (text + " lofi instrumental")[:high]
