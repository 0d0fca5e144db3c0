"""Which picture a run gets: the scenes Porsuk lives in, and the words of a theme that steer them.

The catalogue (scenes, the poses and views that fit each, times of day) is plain data, so the
variation step stays stdlib-only; runner/media/compositions.py paints each scene by name.

`choose(theme, season, atmosphere, rng)` picks one picture:

- The atmosphere comes first, because the ambience you hear should be in the picture:
  fireplace -> a scene with a fire in frame, cafe -> the café, forest -> trees outside,
  rain -> rain falling, none -> a clear sky (nothing falls).
- Words of the theme found in VOCABULARY steer the scene, view, time of day, weather, pose
  and palette (docs/scenes.md lists them). Unknown words are ignored, never an error.
- A theme that names no scene gets one seeded from the theme itself: the same theme keeps
  its scene from session to session, and the session's own seed varies the rest (time of
  day, view, pose, palette), so no two sessions look alike.
"""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from dataclasses import dataclass

TIMES = ("dawn", "day", "golden hour", "dusk", "night")
TIME_WEIGHTS = (0.15, 0.15, 0.15, 0.2, 0.35)  # lofi leans towards evening and night
VIEWS = ("city", "rooftops", "hills", "forest", "sea", "street")
POSES = ("headphones on, eyes closed", "writing in a notebook", "sipping tea", "gazing out the window",
         "reading a paperback", "nodding to the beat")
WEATHERS = ("clear", "rain", "snow")
ATMOSPHERES = ("rain", "cafe", "fireplace", "forest", "none")


@dataclass(frozen=True)
class Scene:
    name: str
    poses: tuple[str, ...]
    views: tuple[str, ...]   # views that fit, the usual one first
    hearth: bool = False     # a fire in frame (the fireplace atmosphere)


SCENES: dict[str, Scene] = {s.name: s for s in (
    Scene("desk by the window", POSES, ("city", "rooftops", "forest", "street", "hills")),
    Scene("rooftop", ("gazing out the window", "nodding to the beat", "headphones on, eyes closed", "sipping tea"),
          ("rooftops", "city")),
    Scene("train window", ("gazing out the window", "reading a paperback", "sipping tea", "headphones on, eyes closed"),
          ("hills", "forest", "sea")),
    Scene("café corner", ("sipping tea", "reading a paperback", "writing in a notebook", "gazing out the window"),
          ("street",)),
    Scene("cabin in the woods", ("reading a paperback", "sipping tea", "headphones on, eyes closed", "gazing out the window"),
          ("forest",), hearth=True),
    Scene("bedroom with a record player", ("nodding to the beat", "headphones on, eyes closed", "reading a paperback"),
          ("city", "rooftops", "street")),
    Scene("library nook", ("reading a paperback", "writing in a notebook", "sipping tea"), ("city", "forest", "hills")),
    Scene("library by the fire", ("reading a paperback", "sipping tea", "headphones on, eyes closed"),
          ("forest", "city", "hills"), hearth=True),
    Scene("seaside room", ("gazing out the window", "sipping tea", "headphones on, eyes closed", "writing in a notebook"),
          ("sea",)),
)}


@dataclass(frozen=True)
class Hint:
    """What one theme word asks of the picture (empty: no opinion)."""

    scenes: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    times: tuple[str, ...] = ()
    weather: str = ""
    poses: tuple[str, ...] = ()
    palettes: tuple[str, ...] = ()


def _h(**kw: object) -> Hint:
    return Hint(**{k: (v,) if isinstance(v, str) and k != "weather" else v for k, v in kw.items()})  # type: ignore[arg-type]


SUNNY = _h(times=("day", "golden hour"), weather="clear")
MORNING = _h(times=("dawn", "day"))
EVENING = _h(times=("dusk", "golden hour"))
NIGHT = _h(times="night")
CAFE = _h(scenes="café corner", views="street", poses=("sipping tea", "reading a paperback", "writing in a notebook"))
FOREST = _h(scenes=("cabin in the woods", "train window"), views="forest", palettes="moss & tea")
TRAIN = _h(scenes="train window")
SEA = _h(scenes="seaside room", views="sea", palettes="harbor blue")
COAST = _h(scenes=("seaside room", "train window"), views="sea", palettes="harbor blue")
SNOW = _h(weather="snow", palettes="snow lantern")
RAIN = _h(weather="rain")
LIBRARY = _h(scenes=("library nook", "library by the fire"), poses=("reading a paperback", "writing in a notebook"))
CITY = _h(scenes=("desk by the window", "rooftop", "bedroom with a record player"), views=("city", "rooftops"))
ROOFTOP = _h(scenes="rooftop", views=("rooftops", "city"))
RECORD = _h(scenes="bedroom with a record player", poses=("nodding to the beat", "headphones on, eyes closed"))
FIRE = _h(scenes=("cabin in the woods", "library by the fire"), palettes="ember dusk")
NEON = _h(views="city", times=("dusk", "night"), palettes="neon rain")

# Theme words and what they ask for. Words are matched lowercase, without accents, and a
# plural 's' is dropped when the singular is listed ("trains" -> "train").
VOCABULARY: dict[str, Hint] = {
    "sunny": SUNNY, "sun": SUNNY, "sunshine": SUNNY, "summer": _h(times=("day", "golden hour")),
    "morning": MORNING, "sunrise": MORNING, "dawn": _h(times="dawn"), "breakfast": MORNING,
    "afternoon": _h(times=("day", "golden hour")), "noon": _h(times="day"), "golden": _h(times="golden hour"),
    "sunset": EVENING, "evening": EVENING, "dusk": _h(times="dusk"), "twilight": _h(times="dusk"),
    "night": NIGHT, "midnight": NIGHT, "moon": NIGHT, "moonlight": NIGHT, "star": NIGHT,
    "starry": NIGHT, "insomnia": NIGHT, "nocturne": NIGHT,
    "cafe": CAFE, "coffee": CAFE, "espresso": CAFE, "latte": CAFE, "bakery": CAFE,
    "forest": FOREST, "wood": FOREST, "woodland": FOREST, "cabin": FOREST, "pine": FOREST, "mountain": FOREST,
    "camping": FOREST,
    "train": TRAIN, "railway": TRAIN, "journey": TRAIN, "travel": TRAIN, "commute": TRAIN, "trip": TRAIN,
    "beach": SEA, "sea": SEA, "ocean": SEA, "seaside": SEA, "coast": COAST, "lighthouse": SEA, "wave": SEA,
    "harbor": SEA, "harbour": SEA,
    "snow": SNOW, "snowy": SNOW, "winter": SNOW, "frost": SNOW, "frosty": SNOW, "blizzard": SNOW,
    "rain": RAIN, "rainy": RAIN, "storm": RAIN, "stormy": RAIN, "drizzle": RAIN, "thunder": RAIN,
    "library": LIBRARY, "book": LIBRARY, "reading": LIBRARY, "study": LIBRARY, "studying": LIBRARY,
    "homework": LIBRARY, "exam": LIBRARY,
    "city": CITY, "urban": CITY, "downtown": CITY, "street": CITY, "metro": CITY,
    "neon": NEON, "cyberpunk": NEON,
    "rooftop": ROOFTOP, "roof": ROOFTOP, "skyline": ROOFTOP,
    "vinyl": RECORD, "record": RECORD, "bedroom": RECORD, "bed": RECORD, "sleep": RECORD, "sleepy": RECORD,
    "lullaby": RECORD,
    "fire": FIRE, "fireplace": FIRE, "fireside": FIRE, "hearth": FIRE, "cozy": FIRE, "cosy": FIRE,
    "tea": _h(poses="sipping tea"), "write": _h(poses="writing in a notebook"),
    "writing": _h(poses="writing in a notebook"), "journal": _h(poses="writing in a notebook"),
    "spring": _h(palettes=("apricot study", "sage window")), "blossom": _h(palettes="apricot study"),
    "sakura": _h(palettes="apricot study"), "autumn": _h(palettes="ember dusk"), "fall": _h(palettes="ember dusk"),
}


@dataclass(frozen=True)
class Picture:
    scene: str
    view: str
    time_of_day: str
    weather: str
    pose: str
    palette: str
    words: tuple[str, ...]   # the theme's words that were found in VOCABULARY


def words(theme: str) -> tuple[str, ...]:
    """The theme's words found in VOCABULARY, in order, each once (anything else is ignored)."""
    text = unicodedata.normalize("NFKD", theme.lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    found: list[str] = []
    for w in re.findall(r"[a-z]+", text):
        if w not in VOCABULARY and w.endswith("s") and w[:-1] in VOCABULARY:
            w = w[:-1]
        if w in VOCABULARY and w not in found:
            found.append(w)
    return tuple(found)


def theme_seed(theme: str) -> int:
    """A stable number from the theme's text (case and spacing ignored)."""
    norm = " ".join(theme.lower().split())
    return int.from_bytes(hashlib.sha256(norm.encode()).digest()[:8], "big")


def allowed_scenes(atmosphere: str) -> list[str]:
    """Scenes that can show what the atmosphere sounds like."""
    if atmosphere == "fireplace":
        return [s.name for s in SCENES.values() if s.hearth]
    if atmosphere == "cafe":
        return ["café corner"]
    if atmosphere == "forest":
        return [s.name for s in SCENES.values() if "forest" in s.views]
    return list(SCENES)


def _pick(rng: random.Random, wanted: tuple[str, ...], allowed: list[str] | tuple[str, ...]) -> str | None:
    """What most theme words ask for among what is allowed (the rng breaks ties); None if nothing."""
    votes: dict[str, int] = {}
    for x in wanted:
        if x in allowed:
            votes[x] = votes.get(x, 0) + 1
    if not votes:
        return None
    top = max(votes.values())
    return rng.choice([x for x, n in votes.items() if n == top])


def choose(theme: str, season: str, atmosphere: str, rng: random.Random, palettes: tuple[str, ...] = ()) -> Picture:
    """The picture for a run. rng is the session's; the theme's own seed picks a scene it does not name.

    palettes: the palette names to choose from (runner/variation.py's PALETTES); a hint naming
    one that is not there is ignored.
    """
    found = words(theme)
    hints = [VOCABULARY[w] for w in found]

    def wanted(field: str) -> tuple[str, ...]:
        return tuple(x for h in hints for x in getattr(h, field))

    allowed = allowed_scenes(atmosphere)
    scene = _pick(rng, wanted("scenes"), allowed) or random.Random(theme_seed(theme)).choice(sorted(allowed))
    info = SCENES[scene]
    views = info.views if atmosphere != "forest" else tuple(v for v in info.views if v == "forest") or info.views
    view = _pick(rng, wanted("views"), views) or (views[0] if rng.random() < 0.5 else rng.choice(views))
    time = _pick(rng, wanted("times"), TIMES) or rng.choices(TIMES, TIME_WEIGHTS)[0]
    weather = _weather(atmosphere, season, tuple(h.weather for h in hints if h.weather), rng)
    pose = _pick(rng, wanted("poses"), info.poses) or rng.choice(info.poses)
    palette = _pick(rng, wanted("palettes"), palettes) or (rng.choice(sorted(palettes)) if palettes else "")
    return Picture(scene, view, time, weather, pose, palette, found)


def _weather(atmosphere: str, season: str, asked: tuple[str, ...], rng: random.Random) -> str:
    """rain -> rain, none -> clear, whatever the theme says; otherwise the theme's word, else
    snow falls on most winter days and the sky is clear the rest of the year."""
    if atmosphere == "rain":
        return "rain"
    if atmosphere == "none":
        return "clear"
    if asked:
        return asked[0] if asked[0] in WEATHERS else "clear"
    if season == "winter" and rng.random() < 0.6:
        return "snow"
    return "clear"
