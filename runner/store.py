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
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Any, Iterator

SCHEMA_VERSION = 1

STEPS: tuple[str, ...] = (
    "variation", "artwork", "motion", "music", "render", "metadata", "upload",
)
SESSION_STATUSES: tuple[str, ...] = (
    "queued", "running", "awaiting_review", "completed", "failed", "halted_budget", "interrupted",
)
# A session in one of these states has stopped for good unless a person resumes it.
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "halted_budget", "interrupted"})
STEP_STATUSES: tuple[str, ...] = ("pending", "running", "done", "failed", "skipped")
ASSETS: tuple[str, ...] = ("image", "video", "music", "ambience")

SEASONS: tuple[str, ...] = ("spring", "summer", "autumn", "winter")
ATMOSPHERES: tuple[str, ...] = ("rain", "cafe", "fireplace", "forest", "none")
PROVIDERS: tuple[str, ...] = ("local", "fal")
PRIVACIES: tuple[str, ...] = ("private", "unlisted", "public")

DEFAULTS: dict[str, Any] = {
    "season": "autumn",
    "atmosphere": "rain",
    "minutes": 60.0,
    "tracks": 10,
    "cap": 2.00,
    "provider": "local",
    "privacy": "private",
    "upload": True,
    "review": False,
}
MAX_THEME_CHARS = 80
MAX_MINUTES = 720.0
MAX_TRACKS = 30

# A running session whose heartbeat is older than this is taken for dead even if its pid
# number has been reused by another process.
HEARTBEAT_STALE_SECONDS = 20.0

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


def parse_iso(text: str | None) -> _dt.datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


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
    p["minutes"] = _number(p["minutes"], "minutes")
    if not 0 < p["minutes"] <= MAX_MINUTES:
        raise InvalidParams(f"minutes must be more than 0 and at most {MAX_MINUTES:g}, got {p['minutes']:g}")
    tracks = _number(p["tracks"], "tracks")
    if tracks != int(tracks) or not 1 <= tracks <= MAX_TRACKS:
        raise InvalidParams(f"tracks must be a whole number from 1 to {MAX_TRACKS}, got {p['tracks']}")
    p["tracks"] = int(tracks)
    p["cap"] = _number(p["cap"], "cap")
    if p["cap"] <= 0:
        raise InvalidParams(f"cap must be more than 0 dollars, got {p['cap']:g}")
    for flag in ("upload", "review"):
        if not isinstance(p[flag], bool):
            raise InvalidParams(f"{flag} must be true or false")
    unknown = set(p) - set(DEFAULTS) - {"theme"}
    if unknown:
        raise InvalidParams(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    return p


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

def new_step() -> dict[str, Any]:
    return {
        "status": "pending", "started_at": None, "finished_at": None, "attempts": 0,
        "outputs": {}, "cost_usd": 0.0, "error": None, "note": None, "progress": None,
    }


def new_state(session_id: str, params: dict[str, Any], now: _dt.datetime | None = None) -> dict[str, Any]:
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


def write_state(root: Path, state: dict[str, Any], now: _dt.datetime | None = None) -> None:
    state["updated_at"] = iso(now)
    atomic_write_json(session_dir(root, state["id"]) / "state.json", state)


def read_json(path: Path) -> Any:
    """Parsed JSON, or None when the file is missing, partial or not JSON."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def read_state(root: Path, session_id: str) -> dict[str, Any] | None:
    """The session's state, or None when state.json is missing, partial, corrupt or misshapen."""
    try:
        data = (session_dir(root, session_id) / "state.json").read_bytes()
    except (OSError, ValueError):
        return None
    return parse_state(data)


def parse_state(data: bytes) -> dict[str, Any] | None:
    """state.json's bytes as a state, or None when they are partial, not JSON or misshapen.

    Readers that fetch the bytes themselves (the studio reads in batches) judge them here,
    so every reader agrees on what "unreadable" means.
    """
    try:
        state = json.loads(data)
    except ValueError:
        return None
    return state if _looks_like_state(state) else None


def _looks_like_state(state: Any) -> bool:
    return (
        isinstance(state, dict)
        and isinstance(state.get("id"), str)
        and state.get("status") in SESSION_STATUSES
        and isinstance(state.get("steps"), dict)
        and isinstance(state.get("params"), dict)
        and isinstance(state.get("cost"), dict)
    )


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


def effective_status(state: dict[str, Any], now: _dt.datetime | None = None) -> str:
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


def session_summary(root: Path, session_id: str, now: _dt.datetime | None = None) -> dict[str, Any]:
    """A flat row for lists and tables; an unreadable session gets status "unreadable"."""
    state = read_state(root, session_id)
    if state is None:
        return {"id": session_id, "status": "unreadable", "readable": False}
    params = state.get("params") or {}
    cost = state.get("cost") or {}
    started = parse_iso(state.get("created_at"))
    finished = parse_iso(state.get("finished_at"))
    status = effective_status(state, now)
    end = finished or (now or utc_now() if status in ("running", "queued") else parse_iso(state.get("updated_at")))
    duration = (end - started).total_seconds() if started and end else None
    upload = (state.get("steps") or {}).get("upload") or {}
    return {
        "id": session_id,
        "readable": True,
        "status": status,
        "theme": params.get("theme"),
        "title": state.get("title"),
        "season": params.get("season"),
        "atmosphere": params.get("atmosphere"),
        "minutes": params.get("minutes"),
        "tracks": params.get("tracks"),
        "provider": params.get("provider"),
        "cap_usd": cost.get("cap_usd"),
        "spent_usd": cost.get("spent_usd"),
        "created_at": state.get("created_at"),
        "finished_at": state.get("finished_at"),
        "duration_s": round(duration, 3) if duration is not None else None,
        "upload_status": upload.get("status"),
        "youtube_id": (state.get("youtube") or {}).get("id"),
        "current_step": current_step(state),
    }


def current_step(state: dict[str, Any]) -> str | None:
    steps = state.get("steps") or {}
    running = [s for s in STEPS if (steps.get(s) or {}).get("status") == "running"]
    return running[0] if running else None


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


def tail_lines(path: Path, max_lines: int = 200, block: int = 64 * 1024,
               end: int | None = None, max_bytes: int = 4 * 1024 * 1024) -> tuple[list[str], int, int]:
    """The last max_lines complete lines before byte offset end (default: end of file).

    Reads backwards block by block, and never more than max_bytes, so a multi-gigabyte log
    (even one with no newlines at all) costs only a bounded read.
    Returns (lines, start_offset_of_first_line, end_offset).
    """
    try:
        fh = open(path, "rb")
    except OSError:
        return [], 0, 0
    with fh:
        size = fh.seek(0, os.SEEK_END)
        stop = size if end is None else max(0, min(end, size))
        # Only whole lines: when reading to the end of a file a writer is appending to,
        # drop any tail without its newline.
        pos = stop
        buf = b""
        while pos > 0 and buf.count(b"\n") <= max_lines and stop - pos < max_bytes:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            buf = fh.read(step) + buf
        last_nl = buf.rfind(b"\n")
        if last_nl < 0:
            return [], stop, stop
        stop_used = pos + last_nl + 1
        body = buf[: last_nl + 1]
        lines = body.split(b"\n")[:-1]
        if pos > 0:
            lines = lines[1:]  # the first piece may be the middle of a line
        lines = lines[-max_lines:]
        taken = sum(len(l) + 1 for l in lines)
        return [l.decode("utf-8", "replace") for l in lines], stop_used - taken, stop_used


def iter_log_lines(path: Path, start: int = 0) -> Iterator[tuple[int, str]]:
    """Complete lines from byte offset start, each with the offset just after it."""
    try:
        fh = open(path, "rb")
    except OSError:
        return
    with fh:
        fh.seek(start)
        pos = start
        for raw in fh:
            if not raw.endswith(b"\n"):
                break
            pos += len(raw)
            yield pos, raw.decode("utf-8", "replace").rstrip("\n")
