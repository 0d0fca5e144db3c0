"""The on-disk format shared by the runner (writer) and the studio and monitor (readers).

This is the only module the studio and the terminal monitor import from the runner, so it
stays standard-library only and free of runner logic. Field-by-field documentation lives in
docs/format.md; change both together.

Layout under a data root (the current directory unless --root / STUDIO_ROOT says otherwise):

    sessions/<id>/state.json      checkpoint, replaced atomically
    sessions/<id>/events.jsonl    append-only timeline, one JSON object a line, monotonic "seq"
    sessions/<id>/ledger.jsonl    append-only spend, one line per provider call phase
    logs/runner.log               human-readable lines for every session

Readers must never crash on what they find: every read function here returns a value that
says "unreadable" instead of raising for a missing, partial or corrupt file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import stat as _stat
import tempfile
import types
import typing
import unicodedata
import zoneinfo
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping, TypedDict, Union

SCHEMA_VERSION = 1

# ----------------------------------------------------------------------------- the model
#
# The shape of state.json, one TypedDict per object, and the flat summary row every reader
# shows. A field is declared ONCE, here: validate_state() is compiled from these
# annotations (so a new field is checked the moment it is declared), the tuples of allowed
# values below are read from the Literal types, and tests/test_docs_are_true.py fails
# until docs/format.md names the field. To add a field: add one line to its TypedDict (in
# the `total=False` half when states written before it lack it), a row to docs/format.md,
# and, if lists should show it, one line in SummaryRow and summarize().

StepName = Literal["variation", "artwork", "motion", "music", "render", "metadata", "upload"]  # in order
SessionStatus = Literal["queued", "running", "awaiting_review", "completed", "failed", "halted_budget",
                        "interrupted", "needs_attention"]
StepStatus = Literal["pending", "running", "done", "failed", "skipped"]
Season = Literal["spring", "summer", "autumn", "winter"]
Atmosphere = Literal["rain", "cafe", "fireplace", "forest", "none"]
Provider = Literal["local", "fal"]
Privacy = Literal["private", "unlisted", "public"]
Fit = Literal["cover", "contain"]   # how a person's picture or loop is brought to 1920x1080
SpendLevel = Literal["ok", "amber", "red"]

# Markers the validator understands on top of the plain type.
TIMESTAMP = "timestamp"      # a string store.parse_iso can read
SESSION_ID = "session id"    # a string matching SESSION_ID_RE
Timestamp = Annotated[str, TIMESTAMP]
SessionId = Annotated[str, SESSION_ID]


class HasKeys(tuple[str, ...]):
    """Marker on a dict annotation: the dict must hold each of these keys."""


STEPS: tuple[str, ...] = typing.get_args(StepName)


class Progress(TypedDict, total=False):
    """steps.<name>.progress while a step runs; any of the four may be null."""

    done: float | None
    total: float | None
    percent: float | None
    label: str | None


class Step(TypedDict):
    status: StepStatus
    started_at: Timestamp | None
    finished_at: Timestamp | None
    attempts: int
    outputs: dict[str, Any]
    cost_usd: float
    error: str | None
    note: str | None
    progress: Progress | None


class _ParamsRequired(TypedDict):
    theme: str
    season: Season
    atmosphere: Atmosphere
    minutes: float
    tracks: int
    cap: float
    provider: Provider
    privacy: Privacy
    upload: bool
    review: bool


class Params(_ParamsRequired, total=False):
    seed: int   # tests and reproductions pin the variation seed (hidden --seed)
    # A person's own files (runner/library.py): paths relative to the data root when inside it.
    music: str          # a folder or a playlist
    artwork: str
    loop: str
    fit: Fit            # cover (the default) or contain
    license_note: str   # recorded in provenance.json


class _CostRequired(TypedDict):
    cap_usd: float
    spent_usd: float
    by_asset: dict[str, float]


class Cost(_CostRequired, total=False):
    # Estimates of paid requests whose outcome is unknown or not yet settled (runner/intents.py):
    # held against the cap as possibly spent, never counted as spent.
    unconfirmed_usd: float


class YouTube(TypedDict, total=False):
    id: str | None
    url: str | None
    privacy: str | None               # what YouTube answered
    privacy_requested: str | None     # what the run asked for
    privacy_note: str | None          # one line when the two differ (an unaudited project is locked private)


class Series(TypedDict, total=False):
    """What a session made by `series run` records about its series (runner/series.py)."""

    id: str                       # the series' slug
    name: str
    entry: str                    # the entry key: YYYY-MM-DD-<theme slug>
    zone: str                     # IANA time zone of the plan
    publish_at: Timestamp | None  # publishAt in UTC, or null when the plan keeps uploads private
    publish_local: str            # the same instant in the plan's zone, ISO 8601 with its offset
    playlist: str | None          # playlist title, created on first use
    daily_budget_usd: float
    retries: int                  # how often `series run` retried it after a failure


class Pruned(TypedDict, total=False):
    """What `python -m runner prune` removed from the session (runner/prune.py)."""

    at: Timestamp
    keep: str
    freed_bytes: int
    removed: list[str]


class _StateRequired(TypedDict):
    schema: int
    id: SessionId
    created_at: Timestamp
    updated_at: Timestamp
    finished_at: Timestamp | None
    status: SessionStatus
    params: Params
    steps: Annotated[dict[str, Step], HasKeys(STEPS)]   # every step, in STEPS order
    cost: Cost
    pid: int | None
    heartbeat_at: Timestamp | None
    halt: dict[str, Any] | None
    error: str | None
    title: str | None
    youtube: YouTube | None


class State(_StateRequired, total=False):
    approved_at: Timestamp
    privacy_override: Privacy
    attention: dict[str, Any] | None   # after needs_attention (runner/intents.py); absent in older states
    series: Series                     # only in sessions made by `series run`
    pruned: Pruned                     # after `prune` removed files
    own: dict[str, Any]                # the person's own files, as checked (runner/library.py)
    disk_bytes: int                    # bytes in the session folder, as of the last step end (tree_bytes)


UNREADABLE = "unreadable"


class SummaryRow(TypedDict):
    """One session as a flat row: what `list`, `show`, the monitor and the studio all show.

    Every row has every key, in this order; an unreadable session has None in all but id,
    readable (False), status ("unreadable"), created_at (from the id) and error (the reason).
    """

    id: str
    readable: bool
    status: Union[SessionStatus, Literal["unreadable"]]
    theme: str | None
    title: str | None
    season: str | None
    atmosphere: str | None
    minutes: float | None
    tracks: int | None
    provider: str | None
    privacy: str | None
    upload: bool | None
    review: bool | None
    cap_usd: float | None
    spent_usd: float | None
    spend_ratio: float | None        # spent / cap, 4 decimals; None without a positive cap
    created_at: str | None
    updated_at: str | None
    finished_at: str | None
    duration_s: float | None         # wall time, see session_seconds()
    current_step: str | None
    progress_percent: float | None
    tracks_rendered: int | None
    upload_status: str | None
    youtube_id: str | None
    series: str | None               # the series id, for sessions made by `series run`
    entry: str | None                # and the entry key
    disk_bytes: int | None           # bytes on disk as of the last step end; None in older states
    error: str | None                # one line: the failure, the halt, or why it is unreadable


SUMMARY_FIELDS: tuple[str, ...] = tuple(SummaryRow.__annotations__)

SESSION_STATUSES: tuple[str, ...] = typing.get_args(SessionStatus)
# A session in one of these states has stopped for good unless a person resumes it.
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "halted_budget", "interrupted",
                                            "needs_attention"})
STEP_STATUSES: tuple[str, ...] = typing.get_args(StepStatus)
ASSETS: tuple[str, ...] = ("image", "video", "music", "ambience")

SEASONS: tuple[str, ...] = typing.get_args(Season)
ATMOSPHERES: tuple[str, ...] = typing.get_args(Atmosphere)
PROVIDERS: tuple[str, ...] = typing.get_args(Provider)
PRIVACIES: tuple[str, ...] = typing.get_args(Privacy)
FITS: tuple[str, ...] = typing.get_args(Fit)

# Spend against the cap (DESIGN.md, Money): amber from 70 %, red from 90 %. The monitor, the
# studio's API and (through /api/config) the page all read these two numbers.
SPEND_LEVELS: dict[str, float] = {"amber": 0.70, "red": 0.90}

DEFAULTS: dict[str, Any] = {
    "season": "autumn",
    "atmosphere": "rain",
    "minutes": 60.0,
    "tracks": "auto",
    "cap": 2.00,
    "provider": "local",
    "privacy": "private",
    "upload": True,
    "review": False,
}
MAX_THEME_CHARS = 80
PROVENANCE_FILE = "provenance.json"   # written by runner/provenance.py
# With --music, --minutes auto makes the video exactly the playlist's length (runner/library.py).
MINUTES_AUTO = "auto"
OWN_FILES: tuple[str, ...] = ("music", "artwork", "loop")
MAX_PATH_CHARS = 4096
MAX_LICENSE_NOTE_CHARS = 2000
MAX_MINUTES = 720.0
# The shortest video a run makes: under a second, the title's "[1 sec]" would not be true, and
# far under it the mix has no sample to play and the run failed in the music step, after
# paying for the cover and the clip.
MIN_VIDEO_S = 1.0
MAX_TRACKS = 30
TRACKS_AUTO = "auto"
# --tracks auto: one track per this many seconds of video (issue 14: songs of two to three
# minutes, so an hour holds 24), at least 1 and at most MAX_TRACKS.
AUTO_TRACK_SECONDS = 150.0
# Each track's share of the video is one chapter, and YouTube ignores a tracklist with a
# chapter under 10 s (see metadata.CHAPTER_MIN_S): a count that leaves a track less is refused.
MIN_TRACK_SHARE_S = 10.0

# A running session whose heartbeat is older than this is taken for dead even if its pid
# number has been reused by another process.
HEARTBEAT_STALE_SECONDS = 20.0

# Bounds on what a reader will parse as state.json: the runner writes a few kB, nested
# about six deep. Anything beyond is not the runner's and must not cost a reader more.
MAX_STATE_BYTES = 8 * 1024 * 1024
MAX_STATE_DEPTH = 64
# Integers beyond 2**53 lose precision as a float (and in the page's JavaScript); an
# os.kill with a pid beyond 64 bits raises OverflowError.
MAX_SAFE_INT = 2 ** 53

SESSION_ID_RE = re.compile(r"^[0-9]{8}-[0-9]{6}-[a-z0-9][a-z0-9-]{0,60}$")
LOG_FILE = "runner.log"
LOG_LINE_RE = re.compile(
    r"^(?P<time>\S+) (?P<level>DEBUG|INFO|WARN|ERROR)\s+\[(?P<session>[^\]]*)\] "
    r"(?P<step>[a-z_-]*): (?P<message>.*)$"
)


class InvalidParams(ValueError):
    """A run parameter is out of range; the message is one line meant for a person."""


# ----------------------------------------------------------------------------- time

def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def iso(t: _dt.datetime | None = None) -> str:
    """Timestamps on disk: UTC, ISO 8601 with milliseconds and a trailing Z."""
    t = t or utc_now()
    return t.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


_fromisoformat = _dt.datetime.fromisoformat


def parse_iso(text: Any) -> _dt.datetime | None:
    """A timestamp from disk as an aware UTC datetime, or None when it is not one.

    A timestamp without an offset is taken as UTC (every timestamp the runner writes is);
    so any two parsed timestamps can be subtracted without a TypeError.
    """
    if type(text) is not str or not text:
        return None
    try:
        if len(text) == 24 and text[23] == "Z":
            # The runner's own format ("2026-11-21T03:15:04.210Z") on a fast path (a studio
            # cold start parses about 200,000 of these; .replace(tzinfo=) costs 8 times more).
            return _fromisoformat(text[:23] + "+00:00")
        t = _fromisoformat(text.replace("Z", "+00:00"))
        return t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t.astimezone(_dt.timezone.utc)
    except (ValueError, OverflowError):   # OverflowError: year 1 with a positive offset
        return None


def time_from_id(session_id: str) -> str | None:
    """The UTC start time a session id begins with, for sessions whose state is unreadable."""
    try:
        t = _dt.datetime.strptime(session_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    return iso(t)


# ----------------------------------------------------------------------------- paths

def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """--root wins, then STUDIO_ROOT, then the current directory."""
    chosen = root if root not in (None, "") else os.environ.get("STUDIO_ROOT") or "."
    return Path(chosen).expanduser().resolve()


def sessions_dir(root: Path) -> Path:
    return root / "sessions"


def logs_dir(root: Path) -> Path:
    return root / "logs"


def session_dir(root: Path, session_id: str) -> Path:
    if not is_session_id(session_id):
        raise ValueError(f"not a session id: {session_id!r}")
    return sessions_dir(root) / session_id


def series_dir(root: Path, series_id: str) -> Path:
    """A series' own files: plan.json (the calendar), youtube.json (its playlist id), .lock."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,60}", series_id or ""):
        raise ValueError(f"not a series id: {series_id!r}")
    return root / "series" / series_id


def is_session_id(text: str) -> bool:
    return bool(SESSION_ID_RE.match(text or ""))


def slugify(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (slug[:limit].rstrip("-")) or "session"


def new_session_id(theme: str, now: _dt.datetime | None = None) -> str:
    now = now or utc_now()
    return f"{now.astimezone(_dt.timezone.utc):%Y%m%d-%H%M%S}-{slugify(theme)}"


# ----------------------------------------------------------------------------- text

# Characters YouTube refuses in a title, description or tag, or that have made uploads fail for
# other tools (shared/notes/channel.md, checked 2026-11): "<" and ">", control characters, the
# line and paragraph separators U+2028/U+2029, the bidirectional controls (which also let a
# title read differently from what it says), unpaired surrogates (not valid UTF-8 at all) and
# Unicode noncharacters. The theme is refused for them (one line, exit 2); text the runner
# composes is cleaned by runner/metadata.py, and metadata.problems() checks the final fields.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def refused_character(text: str, *, newlines: bool = False) -> str | None:
    """What the first character YouTube would refuse in text is, in words; None when all are fine.

    newlines=True allows "\n" (a description's line breaks), nothing else of its kind.
    """
    for ch in text:
        if ch == "\n" and newlines:
            continue
        if ch in "<>":
            return "< or >"
        category = unicodedata.category(ch)
        if category == "Cc":
            return "control characters"
        if category in ("Zl", "Zp"):
            return f"line or paragraph separators (U+{ord(ch):04X})"
        if category == "Cs":
            return f"unpaired surrogates (U+{ord(ch):04X}: the text is not valid Unicode)"
        if ch in BIDI_CONTROLS:
            return f"bidirectional control characters (U+{ord(ch):04X})"
        if 0xFDD0 <= ord(ch) <= 0xFDEF or (ord(ch) & 0xFFFE) == 0xFFFE:
            return f"Unicode noncharacters (U+{ord(ch):04X})"
    return None


# ----------------------------------------------------------------------------- params

def validate_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise run parameters; raise InvalidParams with one readable line.

    The runner's CLI and the studio's launcher both call this, so a launch refused by the
    studio is refused for the same reason the CLI would give.
    """
    p = dict(DEFAULTS)
    p.update({k: v for k, v in raw.items() if v is not None})
    theme = p.get("theme")
    if not isinstance(theme, str) or not theme.strip():
        raise InvalidParams("theme must not be empty")
    theme = theme.strip()
    if len(theme) > MAX_THEME_CHARS:
        raise InvalidParams(f"theme is {len(theme)} characters; the limit is {MAX_THEME_CHARS}")
    refused = refused_character(theme)
    if refused is not None:
        raise InvalidParams(f"theme must not contain {refused} (YouTube refuses them in titles)")
    p["theme"] = theme
    for key, allowed in (("season", SEASONS), ("atmosphere", ATMOSPHERES),
                         ("provider", PROVIDERS), ("privacy", PRIVACIES)):
        if p[key] not in allowed:
            raise InvalidParams(f"unknown {key} {p[key]!r}; choose one of: {', '.join(allowed)}")
    _own_files(p)
    if p.get("music") and _is_auto(p["minutes"]):
        p["minutes"] = MINUTES_AUTO   # the playlist's length, once its files are read
    else:
        p["minutes"] = _number(p["minutes"], "minutes")
        if not 0 < p["minutes"] <= MAX_MINUTES:
            raise InvalidParams(f"minutes must be more than 0 and at most {MAX_MINUTES:g}, got {p['minutes']:g}")
        if p["minutes"] * 60.0 < MIN_VIDEO_S:
            raise InvalidParams(f"minutes must make a video of at least {MIN_VIDEO_S:g} s "
                                f"({MIN_VIDEO_S / 60:.4f} minutes), got {p['minutes']:g}")
    if p.get("music"):
        if not _is_auto(p["tracks"]):
            raise InvalidParams(f"tracks cannot be chosen with --music: the playlist is the tracklist (got {p['tracks']!r})")
        p["tracks"] = TRACKS_AUTO     # the playlist's count, once its files are read
    else:
        p["tracks"] = plan_tracks(p["tracks"], p["minutes"])
    p["cap"] = _number(p["cap"], "cap")
    if p["cap"] <= 0:
        raise InvalidParams(f"cap must be more than 0 dollars, got {p['cap']:g}")
    for flag in ("upload", "review"):
        if not isinstance(p[flag], bool):
            raise InvalidParams(f"{flag} must be true or false")
    unknown = set(p) - set(DEFAULTS) - {"theme", "fit", "license_note", *OWN_FILES}
    if unknown:
        raise InvalidParams(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return p


def provenance_lines(prov: Mapping[str, Any]) -> list[str]:
    """provenance.json (runner/provenance.py) as one line per asset, for `python -m runner show`
    and the studio's session page. prov may come from disk: anything not in its shape is skipped."""
    out = []
    if prov.get("license_note"):
        out.append(f"licence   {' '.join(str(prov['license_note']).split())}")
    named = [("artwork", prov.get("artwork")), ("loop", prov.get("loop"))]
    for t in prov.get("tracks") or []:
        if isinstance(t, dict):
            who = f"{t.get('title')}" + (f" \u2014 {t['artist']}" if t.get("artist") else "")
            named.append((f"track {t.get('index')}", {**t, "name": who}))
    named.append(("ambience", prov.get("ambience")))
    for label, a in named:
        if not isinstance(a, dict):
            out.append(f"{label:<9} -" if label != "ambience" else f"{label:<9} none")
            continue
        name = f"  \u201c{a['name']}\u201d" if a.get("name") else ""
        if a.get("source") == "file":
            extra = f" ({a['method']})" if a.get("method") else ""
            out.append(f"{label:<9} file {a.get('path')}  sha256 {a.get('sha256')}{extra}{name}")
        else:
            bits = [str(a.get("provider")), str(a.get("model"))]
            bits += [f"request {a['request_id']}"] if a.get("request_id") else []
            bits += [f"seed {a['seed']}"] if a.get("seed") is not None else []
            prompt = " ".join(str(a.get("prompt") or "").split())
            if len(prompt) > 120:
                prompt = prompt[:119] + "\u2026"
            bits += [f"prompt \u201c{prompt}\u201d"] if prompt else []
            out.append(f"{label:<9} made by {' '.join(bits)}{name}")
    return out

def unpaid_assets(params: Mapping[str, Any]) -> frozenset[str]:
    """The assets (ASSETS) a run never pays for because the person brought them: the image
    with --artwork or --loop (a loop's first frame is then the cover), the video with --loop,
    and with --music the music and its ambience bed (the music step pays nothing)."""
    own = set()
    if params.get("artwork") or params.get("loop"):
        own.add("image")
    if params.get("loop"):
        own.add("video")
    if params.get("music"):
        own |= {"music", "ambience"}
    return frozenset(own)


def _is_auto(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", TRACKS_AUTO))


def _own_files(p: dict[str, Any]) -> None:
    """The shape of --music/--artwork/--loop/--fit/--license-note (the files themselves are
    read by runner/library.py); minutes "auto" only with --music."""
    for key in OWN_FILES:
        if key not in p:
            continue
        value = p[key]
        if not isinstance(value, str) or not value.strip():
            raise InvalidParams(f"{key} must name a file or folder")
        if len(value) > MAX_PATH_CHARS or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise InvalidParams(f"{key} is not a usable path (control characters, or over {MAX_PATH_CHARS} characters)")
        p[key] = value.strip()
    if not p.get("music") and isinstance(p.get("minutes"), str) and p["minutes"].strip().lower() == MINUTES_AUTO:
        raise InvalidParams("minutes auto needs --music: the video is then as long as the playlist")
    if "fit" in p:
        if p["fit"] not in FITS:
            raise InvalidParams(f"unknown fit {p['fit']!r}; choose one of: {', '.join(FITS)}")
        if not (p.get("artwork") or p.get("loop")):
            raise InvalidParams("fit applies to --artwork or --loop, and neither was given")
    if "license_note" in p:
        note = p["license_note"]
        if not isinstance(note, str) or not note.strip():
            raise InvalidParams("license_note must be text")
        note = note.strip()
        if len(note) > MAX_LICENSE_NOTE_CHARS:
            raise InvalidParams(f"license_note is {len(note)} characters; the limit is {MAX_LICENSE_NOTE_CHARS}")
        if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in note):
            raise InvalidParams("license_note must not contain control characters")
        p["license_note"] = note


def auto_tracks(minutes: float) -> int:
    """--tracks auto: about one track per AUTO_TRACK_SECONDS of video, 1 to MAX_TRACKS."""
    return max(1, min(MAX_TRACKS, math.floor(minutes * 60.0 / AUTO_TRACK_SECONDS + 0.5)))


def most_tracks(minutes: float) -> int:
    """The most tracks a video of this length holds, each with at least MIN_TRACK_SHARE_S."""
    return max(1, min(MAX_TRACKS, math.floor(minutes * 60.0 / MIN_TRACK_SHARE_S + 1e-9)))


def plan_tracks(requested: Any, minutes: float) -> int:
    """The number of tracks a run makes: `auto` (or nothing) follows the length; a count must
    be a whole number from 1 to MAX_TRACKS that the length can hold, or InvalidParams says so
    before anything is made or paid for. Every track made is heard once in the mix."""
    if requested is None or (isinstance(requested, str) and requested.strip().lower() in ("", TRACKS_AUTO)):
        return auto_tracks(minutes)
    try:
        tracks = _number(requested, "tracks")
    except InvalidParams:
        tracks = 0.5  # not a count: the one message below says what is
    if tracks != int(tracks) or not 1 <= tracks <= MAX_TRACKS:
        raise InvalidParams(f"tracks must be a whole number from 1 to {MAX_TRACKS} or auto, got {requested!r}")
    most = most_tracks(minutes)
    if tracks > most:
        raise InvalidParams(f"{minutes:g} minute{'' if minutes == 1 else 's'} hold{'s' if minutes == 1 else ''} at most {most} track{'' if most == 1 else 's'} (each needs "
                            f"{MIN_TRACK_SHARE_S:g} s for its chapter), not {int(tracks)}; "
                            f"--tracks auto makes {auto_tracks(minutes)}")
    return int(tracks)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise InvalidParams(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParams(f"{name} must be a number, got {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidParams(f"{name} must be a finite number")
    return number


# ----------------------------------------------------------------------------- state

def new_step() -> Step:
    return {
        "status": "pending", "started_at": None, "finished_at": None, "attempts": 0,
        "outputs": {}, "cost_usd": 0.0, "error": None, "note": None, "progress": None,
    }


def new_state(session_id: str, params: Params, now: _dt.datetime | None = None) -> State:
    created = iso(now)
    return {
        "schema": SCHEMA_VERSION,
        "id": session_id,
        "created_at": created,
        "updated_at": created,
        "finished_at": None,
        "status": "queued",
        "params": params,
        "steps": {name: new_step() for name in STEPS},
        "cost": {
            "cap_usd": params["cap"],
            "spent_usd": 0.0,
            "by_asset": {asset: 0.0 for asset in ASSETS},
        },
        "pid": None,
        "heartbeat_at": None,
        "halt": None,
        "attention": None,
        "error": None,
        "title": None,
        "youtube": None,
    }


def atomic_write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write to a temporary name in the same folder, fsync, then rename over the target.

    A reader therefore sees either the old file or the new one, never half of one. mode is
    the file's permission bits (0o600 for a secret); by default, what any new file gets
    under the umask. The bits are set before the first byte is written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600 files; unless asked, give the result the mode any other new file would get.
        os.fchmod(fd, (0o666 & ~_UMASK) if mode is None else mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once at import, before any threads.
    current = os.umask(0)
    os.umask(current)
    return current


_UMASK = _read_umask()


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode("utf-8"))


def write_state(root: Path, state: State, now: _dt.datetime | None = None) -> None:
    state["updated_at"] = iso(now)
    atomic_write_json(session_dir(root, state["id"]) / "state.json", state)


def read_json(path: Path) -> Any:
    """Parsed JSON, or None when the file is missing, partial or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None


def read_state(root: Path, session_id: str) -> State | None:
    """The session's state, or None when state.json is missing or fails decode_state."""
    return load_state(root, session_id)[0]


def load_state(root: Path, session_id: str) -> tuple[State | None, str | None]:
    """(state, None), or (None, the reason it is unreadable, one line for a person)."""
    try:
        path = session_dir(root, session_id) / "state.json"
    except ValueError:
        return None, "not a session id"
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_STATE_BYTES + 1)
    except FileNotFoundError:
        return None, "state.json is missing"
    except OSError as exc:
        return None, f"state.json cannot be read ({exc.strerror or type(exc).__name__})"
    return decode_state(data, session_id)


def parse_state(data: bytes) -> State | None:
    """state.json's bytes as a state, or None when decode_state refuses them."""
    return decode_state(data)[0]


def decode_state(data: bytes, session_id: str | None = None) -> tuple[State | None, str | None]:
    """Judge state.json's bytes: (state, None), or (None, why they are unreadable).

    Readers that fetch the bytes themselves (the studio reads in batches) judge them here,
    so every reader agrees on what "unreadable" means. The cost is bounded whatever the
    bytes: at most MAX_STATE_BYTES, nesting at most MAX_STATE_DEPTH deep (checked on the
    bytes before parsing, so no reader ever recurses deeper), no NaN or Infinity anywhere,
    then validate_state. session_id, when given, must be the state's own id (a state copied
    into another folder would otherwise make `resume` write into the first one).
    """
    if len(data) > MAX_STATE_BYTES:
        return None, f"state.json is larger than {MAX_STATE_BYTES // (1024 * 1024)} MiB"
    if not data.strip():
        return None, "state.json is empty"
    if not _depth_within(data, MAX_STATE_DEPTH):
        return None, f"state.json is nested more than {MAX_STATE_DEPTH} levels deep"
    try:
        # Decoded here, strictly: json.loads would also take UTF-16 and UTF-32, whose
        # escapes the depth check above does not see.
        obj = _STATE_DECODER.decode(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "state.json is not UTF-8 text"
    except _NotFinite:
        return None, "state.json holds a number that is NaN or infinite"
    except json.JSONDecodeError as exc:
        return None, f"state.json is partial or not JSON ({exc.msg}, line {exc.lineno})"
    except RecursionError:   # only bytes that are not JSON get here past the depth check
        return None, f"state.json is nested more than {MAX_STATE_DEPTH} levels deep"
    except ValueError:   # an integer too long to convert
        return None, "state.json is not JSON the runner could have written"
    state, reason = _judged(obj, _CHECK_DECODED(obj))   # validate_state, floats known finite
    if state is not None and session_id is not None and state["id"] != session_id:
        return None, "state.json's id is not the name of its folder"
    return state, reason


def validate_state(obj: Any) -> tuple[State | None, str | None]:
    """(obj as a State, None) when it has the documented shape, else (None, the first problem).

    Every field declared in the model is checked: its type (numbers finite, integers within
    2**53), its allowed values (statuses, seasons ...), timestamps readable by parse_iso,
    and every required field present. Fields the model does not declare are allowed (a
    newer runner may add some). The reason names the field, e.g. "steps.music is a list,
    not an object", and never echoes the file's content. Nesting depth is decode_state's
    job: it is bounded on the bytes, before anything recurses.
    """
    return _judged(obj, _CHECK_STATE(obj))


def _judged(obj: Any, reason: str | None) -> tuple[State | None, str | None]:
    if reason is None:
        return typing.cast(State, obj), None
    return None, reason[1:] if reason.startswith(".") else "state.json" + reason


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):   # "1e999" parses as inf
        raise _NotFinite(text)
    return value


# Built once: json.loads with keyword arguments builds a new decoder on every call.
_STATE_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
_KEEP_BRACKETS = bytes(range(256)).translate(None, b'{}[]"')


def _depth_within(data: bytes, limit: int) -> bool:
    """Whether the JSON in data nests at most limit levels, without parsing it (C speed).

    Escapes are dropped first (an escaped backslash, then an escaped quote), so every quote
    left opens or closes a string; everything but brackets and quotes goes; pairs of
    adjacent quotes go (that keeps every bracket's quote parity, so brackets inside strings
    stay inside); any string still holding brackets is cut out; then each pass removes the
    innermost "{}" and "[]" pairs. Exact for JSON; bytes that are not JSON may pass, and
    json.loads refuses them next.
    """
    if data.count(b"{") + data.count(b"[") <= limit:
        return True   # no more brackets than levels allowed: cannot be deeper
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    s = data.translate(None, _KEEP_BRACKETS).replace(b'""', b"")
    if b'"' in s:
        s = b"".join(s.split(b'"')[::2])
    for _ in range(limit):
        if not s:
            return True
        inner_gone = s.replace(b"{}", b"").replace(b"[]", b"")
        if len(inner_gone) == len(s):
            return True   # unbalanced, so not JSON (often a partial file): json.loads says why
        s = inner_gone
    return not s


def change_key(path: Path | str) -> tuple[int, int, int] | None:
    """What a poller compares to tell that a file changed; None when it is missing.

    The inode matters: an atomic replace can keep the size and the (coarse) mtime.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def effective_status(state: State, now: _dt.datetime | None = None) -> str:
    """The status a reader should show: a "running" session whose runner is gone is interrupted.

    The runner writes a heartbeat every few seconds; a dead pid or a stale heartbeat means
    nobody is working on the session any more.
    """
    status = state.get("status")
    if status not in ("running", "queued"):
        return status
    if status == "queued" and state.get("pid") is None:
        created = parse_iso(state.get("created_at"))
        now = now or utc_now()
        if created and (now - created).total_seconds() > HEARTBEAT_STALE_SECONDS:
            return "interrupted"
        return status
    if not pid_alive(state.get("pid")):
        return "interrupted"
    beat = parse_iso(state.get("heartbeat_at"))
    now = now or utc_now()
    if beat is None or (now - beat).total_seconds() > HEARTBEAT_STALE_SECONDS:
        return "interrupted"
    return status


def list_session_ids(root: Path) -> list[str]:
    """Session ids under root, newest first (ids begin with their UTC start time)."""
    try:
        names = os.listdir(sessions_dir(root))
    except OSError:
        return []
    return sorted((n for n in names if is_session_id(n)), reverse=True)


# ----------------------------------------------------------------------------- summary

def summarize(state: State, now: _dt.datetime, status: str | None = None) -> SummaryRow:
    """The session as one flat row (SummaryRow): the CLI's list and show, the monitor and the
    studio all show this row, so a field means the same everywhere.

    now is the present (the clock is the caller's); status, when the caller already worked
    it out, is the effective status (default: effective_status(state, now)).
    Cheap by design: the studio builds ten thousand of these on a cold start.
    """
    params, cost, steps = state["params"], state["cost"], state["steps"]
    status = status or effective_status(state, now)
    current = current_step(state)
    progress = steps[current]["progress"] if current else None
    tracks = steps["music"]["outputs"].get("tracks")
    seconds = session_seconds(state, status, now)
    return {
        "id": state["id"],
        "readable": True,
        "status": typing.cast(SessionStatus, status),
        "theme": params["theme"],
        "title": state["title"],
        "season": params["season"],
        "atmosphere": params["atmosphere"],
        "minutes": params["minutes"],
        "tracks": params["tracks"],
        "provider": params["provider"],
        "privacy": params["privacy"],
        "upload": params["upload"],
        "review": params["review"],
        "cap_usd": cost["cap_usd"],
        "spent_usd": cost["spent_usd"],
        "spend_ratio": spend_ratio(cost["spent_usd"], cost["cap_usd"]),
        "created_at": state["created_at"],
        "updated_at": state["updated_at"],
        "finished_at": state["finished_at"],
        "duration_s": None if seconds is None else round(seconds, 3),
        "current_step": current,
        "progress_percent": progress.get("percent") if progress else None,
        "tracks_rendered": len(tracks) if isinstance(tracks, list) else 0,
        "upload_status": steps["upload"]["status"],
        "youtube_id": (state["youtube"] or {}).get("id"),
        "series": (state.get("series") or {}).get("id"),
        "entry": (state.get("series") or {}).get("entry"),
        "disk_bytes": state.get("disk_bytes"),
        "error": one_line(state["error"] or state["halt"] or state.get("attention")),
    }


def unreadable_row(session_id: str, reason: str | None) -> SummaryRow:
    """The row of a session whose state.json is unreadable: its id, start time and the reason."""
    row: dict[str, Any] = dict.fromkeys(SUMMARY_FIELDS)
    row.update(id=session_id, readable=False, status=UNREADABLE, created_at=time_from_id(session_id),
               error=reason or "state.json is unreadable")
    return typing.cast(SummaryRow, row)


def session_summary(root: Path, session_id: str, now: _dt.datetime | None = None) -> SummaryRow:
    """summarize() of the session on disk, or its unreadable_row()."""
    state, reason = load_state(root, session_id)
    if state is None:
        return unreadable_row(session_id, reason)
    return summarize(state, now or utc_now())


def current_step(state: State) -> str | None:
    """The first step (in pipeline order) that is running, if any."""
    steps = state["steps"]
    for name in STEPS:
        step = steps.get(name)
        if isinstance(step, dict) and step.get("status") == "running":
            return name
    return None


def step_seconds(step: Step | dict[str, Any], until: _dt.datetime | None = None) -> float | None:
    """Seconds a step took (done, failed, skipped), or has been running until `until`.

    None for a pending step, for a running one when until is None, or when a time is
    missing. Never negative (clock skew), rounded to the millisecond.
    """
    status = step.get("status")
    if status == "running":
        end = until
    elif status in _ENDED_STEP:
        end = parse_iso(step.get("finished_at"))
    else:
        return None
    start = parse_iso(step.get("started_at"))
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    return round(seconds, 3) if seconds > 0 else 0.0


_ENDED_STEP = frozenset({"done", "failed", "skipped"})


def session_end(state: State | dict[str, Any], status: str, now: _dt.datetime) -> _dt.datetime:
    """Where a session's clocks stop: now while it is queued or running; otherwise when it
    finished, else its last heartbeat (the last sign of life of a runner that died; other
    programs may write the state later), else its last write."""
    if status in ("queued", "running"):
        return now
    for key in ("finished_at", "heartbeat_at", "updated_at"):
        t = parse_iso(state.get(key))
        if t is not None:
            return t
    return now


def session_seconds(state: State | dict[str, Any], status: str, now: _dt.datetime) -> float | None:
    """Wall time of a session, from created_at to session_end(); None without a start."""
    start = parse_iso(state.get("created_at"))
    if start is None:
        return None
    return max(0.0, (session_end(state, status, now) - start).total_seconds())


def spend_ratio(spent: Any, cap: Any) -> float | None:
    """spent / cap to 4 decimals, or None when either is not a number or the cap is not positive.

    Rounded here, once, so the level every reader shows follows from the ratio every reader shows.
    """
    if not _is_number(spent) or not _is_number(cap) or not cap > 0:
        return None
    return round(float(spent) / float(cap), 4)


def spend_level(ratio: float | None) -> SpendLevel:
    """"ok", "amber" from SPEND_LEVELS["amber"] of the cap, "red" from SPEND_LEVELS["red"]."""
    if ratio is None or ratio < SPEND_LEVELS["amber"]:
        return "ok"
    return "red" if ratio >= SPEND_LEVELS["red"] else "amber"


def one_line(value: Any) -> str | None:
    """An error or halt value, whatever its shape, as one line of text (None when empty)."""
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):
        value = value.get("message") or value.get("reason") or value.get("error") or ", ".join(
            f"{k}: {v}" for k, v in value.items())
    return " ".join(str(value).split()) or None


def _is_number(v: Any) -> bool:
    return type(v) in (int, float) and v == v and v not in (math.inf, -math.inf)


# ----------------------------------------------------------------------------- validation
#
# validate_state's checks are compiled once, at import, from the model's annotations. A
# check takes a value and returns None when it fits, else the reason: the path below the
# value (".steps.music") and what is wrong (" is a list, not an object"). Each compiled
# annotation (a _Rule) also says which value types and which strings pass it with no further
# look (a str for `str`, None for `X | None`, anything for `Any`, the values of a Literal),
# so the common case costs a set lookup and no call: ten thousand states are checked on the
# studio's cold start. Whoever holds a _Rule tests `fast` and `values` before calling
# `check`; a check may assume the value passed neither.

Check = Callable[[Any], Union[str, None]]
# Every type json.loads makes: what `Any` lets through without a call.
_ANY_TYPE: frozenset[type] = frozenset({dict, list, str, int, float, bool, type(None)})


class _Rule(typing.NamedTuple):
    check: Check
    fast: frozenset[type] = frozenset()   # types that pass without calling check
    values: frozenset[str] = frozenset()  # strings that pass without calling check (literals)


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", str: "a string",
            dict: "an object", list: "a list"}.get(type(v), "a " + type(v).__name__)


def _wanted(v: Any, what: str) -> str:
    return f" is {_kind(v)}, not {what}"


# One plain function per scalar (a call costs more than the test inside it).

def _is_str(v: Any) -> str | None:
    return None if type(v) is str else _wanted(v, "a string")


def _is_bool(v: Any) -> str | None:
    return None if type(v) is bool else _wanted(v, "true/false")


def _is_null(v: Any) -> str | None:
    return None if v is None else _wanted(v, "null")


def _is_int(v: Any) -> str | None:
    if type(v) is int and -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
        return None
    return _wanted(v, "a whole number within 2**53")


def _is_finite(v: Any) -> str | None:
    if (type(v) is float and v - v == 0.0) or (type(v) is int and -MAX_SAFE_INT <= v <= MAX_SAFE_INT):
        return None   # v - v is NaN for NaN and for both infinities
    return _wanted(v, "a finite number")


def _is_timestamp(v: Any) -> str | None:
    if type(v) is str:
        if len(v) == 24 and v[23] == "Z":   # the runner's own format, without parse_iso's work
            try:
                _dt.datetime.fromisoformat(v[:23])
                return None
            except ValueError:
                pass
        elif parse_iso(v) is not None:
            return None
    return _wanted(v, "a timestamp")


def _is_session_id(v: Any) -> str | None:
    return None if type(v) is str and is_session_id(v) else _wanted(v, "a session id")


def _passes(v: Any) -> None:
    return None


_SCALARS: dict[Any, _Rule] = {
    Any: _Rule(_passes, _ANY_TYPE),
    str: _Rule(_is_str, frozenset({str})),
    bool: _Rule(_is_bool, frozenset({bool})),
    type(None): _Rule(_is_null, frozenset({type(None)})),
    int: _Rule(_is_int),
    float: _Rule(_is_finite),
}
_MARKS: dict[str, _Rule] = {TIMESTAMP: _Rule(_is_timestamp), SESSION_ID: _Rule(_is_session_id)}


def _key_text(key: Any) -> str:
    # Keys of free-form objects come from the file: name them only when plainly harmless.
    return key if isinstance(key, str) and re.fullmatch(r"[a-z0-9_]{1,32}", key) else "<key>"


def _compile(hint: Any, scalars: dict[Any, _Rule]) -> _Rule:
    """The rule for one annotation of the model (TypeError for one it cannot check)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in scalars:
        return scalars[hint]
    if origin is Annotated:
        for mark in args[1:]:
            if isinstance(mark, HasKeys):
                return _with_keys(_compile(args[0], scalars), mark)
            if mark in _MARKS:
                return _MARKS[mark]
        return _compile(args[0], scalars)
    if origin is Literal:
        if not all(isinstance(a, str) for a in args):
            raise TypeError(f"store: only string literals are checked, not {hint!r}")
        allowed, text = frozenset(args), ", ".join(args)
        return _Rule(lambda v: None if type(v) is str and v in allowed else f" is not one of: {text}",
                     values=allowed)
    if origin in (Union, types.UnionType):
        return _compile_union([_compile(a, scalars) for a in args])
    if origin is dict:
        return _compile_container(dict, _compile(args[1], scalars), "an object", lambda v: v.items())
    if origin is list:
        return _compile_container(list, _compile(args[0], scalars), "a list", enumerate)
    if typing.is_typeddict(hint):
        return _compile_typeddict(hint, scalars)
    raise TypeError(f"store: no check for {hint!r}")


def _compile_union(rules: list[_Rule]) -> _Rule:
    fast = frozenset().union(*(r.fast for r in rules))
    values = frozenset().union(*(r.values for r in rules))
    slow = [r.check for r in rules if r.fast is not _ANY_TYPE]
    if len(slow) == 1:
        # `Timestamp | None` and the like: what the fast set lets through (None) never
        # reaches a check, so the one member's check serves as it is (one call, not two).
        return _Rule(slow[0], fast, values)

    def check(v: Any) -> str | None:
        if type(v) in fast or (type(v) is str and v in values):
            return None
        first = None
        for c in slow:
            reason = c(v)
            if reason is None:
                return None
            first = first or reason
        return first
    return _Rule(check, fast, values)


def _compile_container(kind: type, item: _Rule, name: str,
                       pairs: Callable[[Any], typing.Iterable[tuple[Any, Any]]]) -> _Rule:
    if item.fast is _ANY_TYPE:
        return _Rule(lambda v: None if type(v) is kind else _wanted(v, name), frozenset({kind}))
    sub, fast, values = item.check, item.fast, item.values
    where = (lambda k: f".{_key_text(k)}") if kind is dict else (lambda i: f"[{i}]")

    def check(v: Any) -> str | None:
        if type(v) is not kind:
            return _wanted(v, name)
        for key, value in pairs(v):
            if type(value) in fast or (type(value) is str and value in values):
                continue
            reason = sub(value)
            if reason is not None:
                return where(key) + reason
        return None
    return _Rule(check)


def _with_keys(rule: _Rule, keys: tuple[str, ...]) -> _Rule:
    inner = rule.check

    def check(v: Any) -> str | None:
        reason = inner(v)
        if reason is None:
            for key in keys:
                if key not in v:
                    return f".{key} is missing"
        return reason
    return _Rule(check)


def _compile_typeddict(cls: Any, scalars: dict[Any, _Rule]) -> _Rule:
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = []
    for key in cls.__annotations__:
        rule = _compile(hints[key], scalars)
        fields.append((key, rule.check, rule.fast, rule.values, key in cls.__required_keys__))
    missing = object()

    def check(v: Any) -> str | None:
        if type(v) is not dict:
            return _wanted(v, "an object")
        get = v.get
        for key, sub, fast, values, required in fields:
            value = get(key, missing)
            if type(value) in fast or (type(value) is str and value in values):
                continue
            if value is missing:
                if required:
                    return f".{key} is missing"
                continue
            reason = sub(value)
            if reason is not None:
                return f".{key}{reason}"
        return None
    return _Rule(check)


_CHECK_STATE = _compile(State, _SCALARS).check
# For objects from _STATE_DECODER, which refused NaN and infinities already: any float is finite.
_CHECK_DECODED = _compile(State, {**_SCALARS, float: _Rule(_is_finite, frozenset({float}))}).check


# ----------------------------------------------------------------------------- disk

def tree_bytes(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (apparent sizes), never following a link.

    A link counts as itself. Unreadable entries count as 0: this is for people, not accounting.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return 0
    if not _stat.S_ISDIR(st.st_mode):
        return st.st_size
    total, stack = 0, [path]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        else:
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def count(n: float, noun: str, plural: str | None = None) -> str:
    """"1 track", "2 tracks", "0 tracks": a count that reads as words (the CLI, the monitor and
    the YouTube text all say counts this way; static/js/format.js `counted` is the page's twin)."""
    number = int(n) if float(n).is_integer() else n
    return f"{number} {noun if n == 1 else (plural or noun + 's')}"


def human_bytes(n: float | None) -> str:
    """1536 -> '1.5 KB' (powers of 1000, as disks are sold and `df -H` prints); None -> '-'."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(value) < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


# ----------------------------------------------------------------------------- channel
#
# What all sessions of a data root share, for `series run`, the CLI and the studio's Series
# view: the series' calendars (series/<id>/plan.json), the YouTube quota ledger
# (quota/youtube-<Pacific day>.jsonl), and the money of a day across every ledger.

# YouTube Data API quota (developers.google.com/youtube/v3/determine_quota_cost, checked 2026-11):
# a call costs QUOTA_COSTS units; videos.insert and search.list each have their own bucket of 100
# calls a day, every other method draws on 10,000 shared units a day; midnight Pacific resets all.
QUOTA_ZONE = "America/Los_Angeles"
QUOTA_COSTS: dict[str, int] = {
    "videos.insert": 1, "search.list": 1,
    "thumbnails.set": 50, "playlistItems.insert": 50, "playlists.insert": 50, "playlists.list": 1,
    "videos.list": 1, "channels.list": 1,
}
QUOTA_OWN_BUCKETS: dict[str, int] = {"videos.insert": 100, "search.list": 100}
QUOTA_SHARED = "shared"
QUOTA_SHARED_UNITS = 10_000
MAX_CHANNEL_FILE_BYTES = 4 * 1024 * 1024   # a plan.json or a day's quota file; bigger is not ours

# Where an entry of a series stands, for the calendar (entry_status).
ENTRY_STATUSES: tuple[str, ...] = ("planned", "making", "waiting", "made", "uploaded", "scheduled", "published",
                                   "failed")


def quota_bucket(method: str) -> str:
    return method if method in QUOTA_OWN_BUCKETS else QUOTA_SHARED


def quota_limits() -> dict[str, int]:
    return {**QUOTA_OWN_BUCKETS, QUOTA_SHARED: QUOTA_SHARED_UNITS}


def quota_day(now: _dt.datetime) -> _dt.date:
    """The quota day `now` falls in: the calendar day in America/Los_Angeles."""
    return now.astimezone(zoneinfo.ZoneInfo(QUOTA_ZONE)).date()


def quota_resets_at(now: _dt.datetime) -> _dt.datetime:
    """The next midnight Pacific time after `now` (aware, Pacific; DST handled by zoneinfo)."""
    day = quota_day(now) + _dt.timedelta(days=1)
    return _dt.datetime.combine(day, _dt.time(0), tzinfo=zoneinfo.ZoneInfo(QUOTA_ZONE))


def quota_path(root: Path, day: _dt.date) -> Path:
    return root / "quota" / f"youtube-{day.isoformat()}.jsonl"


def quota_usage(root: Path, now: _dt.datetime) -> dict[str, Any]:
    """Today's (Pacific) quota as the data root's ledger says: see quota_usage_of."""
    return quota_usage_of(_bounded_jsonl(quota_path(root, quota_day(now))), now)


def quota_usage_of(rows: list[dict[str, Any]], now: _dt.datetime) -> dict[str, Any]:
    """Today's quota from its ledger lines (readers that fetch the file themselves pass its rows):
    {"day", "used": {bucket: calls or units}, "exhausted": [buckets YouTube said are spent],
    "limits", "resets_at"}."""
    used: dict[str, int] = {}
    exhausted: set[str] = set()
    for row in rows:
        if isinstance(row.get("exhausted"), str):
            exhausted.add(row["exhausted"])
            continue
        method, units = row.get("method"), row.get("units")
        if isinstance(method, str) and type(units) is int:
            bucket = quota_bucket(method)
            used[bucket] = used.get(bucket, 0) + (1 if bucket != QUOTA_SHARED else units)
    limits = quota_limits()
    return {"day": quota_day(now).isoformat(), "used": used, "exhausted": sorted(exhausted & set(limits)),
            "limits": limits, "resets_at": iso(quota_resets_at(now))}


def day_bounds(day: _dt.date, zone: _dt.tzinfo) -> tuple[_dt.datetime, _dt.datetime]:
    """Midnight to midnight of `day` in `zone`, in UTC (23 or 25 hours apart across DST).

    UTC, because Python subtracts and compares two datetimes of the same zone by wall clock.
    """
    start = _dt.datetime.combine(day, _dt.time(0), tzinfo=zone)
    end = _dt.datetime.combine(day + _dt.timedelta(days=1), _dt.time(0), tzinfo=zone)
    return start.astimezone(_dt.timezone.utc), end.astimezone(_dt.timezone.utc)


def spend_between(root: Path, start: _dt.datetime, end: _dt.datetime) -> float:
    """Dollars spent or held by the calls of every session whose estimate line was written in
    [start, end): what was paid (`actual`), else the estimate (in flight, `unconfirmed`, or a
    runner that died mid-call); a `failed` call counts nothing. A call belongs to the day it
    started. A ledger whose last line is older than `start` is skipped without parsing the rest
    (lines are appended in time order; file mtimes would be wall-clock time, not the caller's).
    """
    total = 0.0
    for sid in list_session_ids(root):
        try:
            with open(session_dir(root, sid) / "ledger.jsonl", "rb") as fh:
                data = fh.read(MAX_CHANNEL_FILE_BYTES)
        except OSError:
            continue
        last = parse_iso(_last_ts(data))
        if last is not None and last < start:  # an unreadable last line: read it all, to be safe
            continue
        total += ledger_spend_between(jsonl_rows(data), start, end)
    return round(total, 6)


def _last_ts(data: bytes) -> Any:
    try:
        row = json.loads(data.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    except (ValueError, RecursionError):
        return None
    return row.get("ts") if isinstance(row, dict) else None


def jsonl_rows(data: bytes) -> list[dict[str, Any]]:
    """Complete JSON lines as objects; a line still being written, or not JSON, is skipped."""
    out = []
    for raw in data[: data.rfind(b"\n") + 1].splitlines():
        try:
            row = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: a line of a few thousand "["
            continue
        if isinstance(row, dict):
            out.append(row)
    return out


def _bounded_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return []
    with os.fdopen(fd, "rb") as fh:
        if not _stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return []
        return jsonl_rows(fh.read(MAX_CHANNEL_FILE_BYTES))


def ledger_spend_between(rows: list[dict[str, Any]], start: _dt.datetime, end: _dt.datetime) -> float:
    """One session's ledger lines: the money of its calls started in [start, end) (spend_between)."""
    calls: dict[str, dict[str, Any]] = {}
    for row in rows:
        cid = row.get("call_id")
        if not isinstance(cid, str):
            continue
        raw = row.get("usd")
        usd = float(raw) if isinstance(raw, (int, float)) and _is_number(raw) else 0.0
        call = calls.setdefault(cid, {"started": None, "estimate": 0.0, "final": None})
        if row.get("phase") == "estimate":
            call["started"] = parse_iso(row.get("ts"))
            call["estimate"] = usd
        elif row.get("phase") in ("actual", "failed"):
            call["final"] = usd if row.get("phase") == "actual" else 0.0
        # "unconfirmed" keeps the estimate held: the same as no final line
    total = 0.0
    for call in calls.values():
        started = call["started"]
        if started is not None and start <= started < end:
            total += call["estimate"] if call["final"] is None else call["final"]
    return total


def read_series_plans(root: Path) -> list[dict[str, Any]]:
    """Every series/<id>/plan.json a `series run` wrote (docs/format.md), by id; links not
    followed, anything unreadable or misshapen skipped."""
    out = []
    try:
        names = sorted(os.listdir(root / "series"))
    except OSError:
        return []
    for name in names:
        try:
            path = series_dir(root, name) / "plan.json"
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except (OSError, ValueError):
            continue
        with os.fdopen(fd, "rb") as fh:
            if not _stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                continue
            try:
                plan = json.loads(fh.read(MAX_CHANNEL_FILE_BYTES + 1)[:MAX_CHANNEL_FILE_BYTES])
            except (ValueError, RecursionError):
                continue
        if isinstance(plan, dict) and plan.get("id") == name and isinstance(plan.get("entries"), list):
            out.append(plan)
    return out


def entry_status(state: State | None, now: _dt.datetime) -> str:
    """Where a series entry stands (ENTRY_STATUSES), from its latest session (None: none yet).

    planned: no session. making: running. waiting: interrupted, or halted by the daily budget
    (the next `series run` continues it). failed: failed, halted at its run cap, or needs a
    person. made: finished, not uploaded. uploaded: on YouTube, private, not scheduled (or
    YouTube did not keep the schedule). scheduled / published: on YouTube with a publishAt YouTube
    confirmed, still ahead of `now` / passed.
    """
    if state is None:
        return "planned"
    status = effective_status(state, now)
    if status in ("running", "queued"):
        return "making"
    halt = state.get("halt") or {}
    if status == "interrupted" or (status == "halted_budget" and halt.get("budget") == "daily"):
        return "waiting"
    if status in ("failed", "halted_budget", "needs_attention"):
        return "failed"
    if not (state.get("youtube") or {}).get("id"):
        return "made"
    publish = parse_iso(state["steps"]["upload"]["outputs"].get("publish_at"))
    if publish is None:
        return "uploaded"
    return "scheduled" if publish > now else "published"


# ----------------------------------------------------------------------------- jsonl

def append_jsonl(path: Path, obj: dict[str, Any]) -> None:
    """Append one line with a single write(2) on an O_APPEND descriptor.

    One write keeps concurrent appenders from interleaving within a line; readers skip a
    last line that has no newline yet.
    """
    line = (json.dumps(obj, separators=(",", ":"), sort_keys=False) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_jsonl(path: Path, start: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Complete JSON lines from byte offset start, and the offset after the last one read.

    A trailing line without its newline is left for the next call; a corrupt line is skipped.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            data = fh.read()
    except OSError:
        return [], start
    end = data.rfind(b"\n")
    if end < 0:
        return [], start
    out: list[dict[str, Any]] = []
    for raw in data[: end + 1].splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out, start + end + 1


def read_events(root: Path, session_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    try:
        path = session_dir(root, session_id) / "events.jsonl"
    except ValueError:
        return []
    events, _ = read_jsonl(path)
    return [e for e in events if isinstance(e.get("seq"), int) and e["seq"] > after_seq]


def read_ledger(root: Path, session_id: str) -> list[dict[str, Any]]:
    try:
        path = session_dir(root, session_id) / "ledger.jsonl"
    except ValueError:
        return []
    return read_jsonl(path)[0]


def last_seq(path: Path) -> int:
    """The highest seq in an events file (0 when empty), so a resumed run continues numbering."""
    events, _ = read_jsonl(path)
    return max((e.get("seq", 0) for e in events if isinstance(e.get("seq"), int)), default=0)


# ----------------------------------------------------------------------------- logs

def format_log_line(level: str, session_id: str, step: str | None, message: str,
                    now: _dt.datetime | None = None) -> str:
    # One physical line per record: a newline inside a message would forge a second record.
    clean = " ".join(str(message).splitlines())
    return f"{iso(now)} {level.upper():<5} [{session_id}] {step or '-'}: {clean}\n"


def parse_log_line(line: str) -> dict[str, Any]:
    m = LOG_LINE_RE.match(line.rstrip("\n"))
    if not m:
        return {"time": None, "level": None, "session": None, "step": None, "message": line.rstrip("\n")}
    d = m.groupdict()
    d["step"] = None if d["step"] in ("", "-") else d["step"]
    d["session"] = d["session"] or None
    return d


def log_path(root: Path) -> Path:
    return logs_dir(root) / LOG_FILE


LOG_BLOCK = 64 * 1024
# Longer lines come in pieces, so one enormous "line" (or a sparse file with no newline)
# cannot make a reader hold more than this plus a block.
MAX_LOG_LINE = 256 * 1024


class LineSpan(typing.NamedTuple):
    """A line of a log file (without its newline), or a piece of a longer one, and its bytes."""

    start: int
    end: int                 # just after it (after its newline when it has one)
    data: bytes              # b"" for a marker: nothing to show up to here, but a cursor may move
    head_cut: bool = False   # a piece that does not begin where its line begins
    tail_cut: bool = False   # a piece that does not end where its line ends

    @property
    def partial(self) -> bool:
        return self.head_cut or self.tail_cut


def line_pieces(start: int, line: bytes, *, head_out: bool = False, tail_out: bool = False,
                max_line: int = MAX_LOG_LINE) -> list[LineSpan]:
    """A line (with its newline) found at start, as one LineSpan or as max_line pieces.

    head_out / tail_out: a reader already handed out the beginning / the end of this line
    as pieces, so what is left is cut on that side.
    """
    end = start + len(line)
    body = line[:-1] if line.endswith(b"\n") else line
    if len(body) <= max_line:
        return [LineSpan(start, end, body, head_out, tail_out)]
    out = []
    for k in range(0, len(body), max_line):
        last = k + max_line >= len(body)
        out.append(LineSpan(start + k, end if last else start + k + max_line, body[k:k + max_line],
                            head_out or k > 0, tail_out or not last))
    return out


def scan_back(fh: typing.BinaryIO, end: int, budget: int, max_line: int = MAX_LOG_LINE) -> typing.Iterator[LineSpan]:
    """Lines ending at or before byte offset `end`, newest first, reading at most ~budget bytes.

    The one backward reader of logs (the studio's log pages, the monitor's tail): it reads
    block by block from `end`, holds at most one block plus one max_line piece, and a line
    that `end` falls inside (being written) is not returned. A LineSpan with empty data is a
    marker, "nothing to show up to here", so a caller's cursor still moves (a skipped hole,
    or where the budget ran out).
    """
    pos = end
    skipping = False
    if end > 0:
        fh.seek(end - 1)
        skipping = fh.read(1) != b"\n"
    carry = b""          # the oldest bytes read whose line start is still unknown
    tail_out = False     # the end of the line in carry went out as a piece already
    scanned = 0
    while pos > 0 and scanned < budget:
        size = min(LOG_BLOCK, pos)
        pos -= size
        fh.seek(pos)
        block = fh.read(size)
        scanned += size
        buf = block + carry          # covers [pos, pos + len(buf))
        if skipping:
            k = buf.rfind(b"\n")
            if k < 0:
                carry = b""
                continue
            buf = buf[: k + 1]
            skipping = False
        j = len(buf)
        i = buf.rfind(b"\n", 0, j - 1 if buf.endswith(b"\n") else j)
        while i >= 0:
            yield from reversed(line_pieces(pos + i + 1, buf[i + 1: j], tail_out=tail_out, max_line=max_line))
            tail_out = False
            j = i + 1
            i = buf.rfind(b"\n", 0, i)
        carry = buf[:j]
        while len(carry) > max_line:
            # Too long to keep whole: hand out its end as a piece and go on.
            keep = len(carry) - max_line
            piece = carry[keep:]
            yield LineSpan(pos + keep, pos + len(carry), piece[:-1] if piece.endswith(b"\n") else piece,
                           True, tail_out)
            carry = carry[:keep]
            tail_out = True
    if skipping:
        yield LineSpan(pos, pos, b"", True)
    elif carry:
        if pos == 0:
            yield LineSpan(0, len(carry), carry[:-1] if carry.endswith(b"\n") else carry, False, tail_out)
        else:
            # Budget spent inside a line: resume from that line's end next time.
            yield LineSpan(pos + len(carry), pos + len(carry), b"", True)
    elif pos > 0:
        yield LineSpan(pos, pos, b"", True)


def tail_lines(path: Path, max_lines: int = 200, end: int | None = None,
               max_bytes: int = 4 * 1024 * 1024) -> tuple[list[str], int, int]:
    """The last max_lines complete lines before byte offset end (default: end of file).

    scan_back underneath: never more than max_bytes read, so a multi-gigabyte log (even one
    with no newlines at all) costs only a bounded read; a line longer than MAX_LOG_LINE
    comes as its pieces. Returns (lines, start offset of the first, end offset of the last).
    """
    try:
        fh = open(path, "rb")
    except OSError:
        return [], 0, 0
    with fh:
        size = fh.seek(0, os.SEEK_END)
        stop = size if end is None else max(0, min(end, size))
        lines: list[str] = []
        first = last = None
        for span in scan_back(fh, stop, max_bytes):
            if span.start == span.end:
                continue   # a marker
            last = span.end if last is None else last
            first = span.start
            lines.append(span.data.decode("utf-8", "replace"))
            if len(lines) >= max_lines:
                break
        if last is None:
            return [], stop, stop
        lines.reverse()
        return lines, first, last  # type: ignore[return-value]
