"""A series plan: a channel's defaults and its entries, read from a TOML file (series.toml).

    [series]
    name = "rainy nights"              # required; its slug names the series on disk
    zone = "Europe/Berlin"             # required; IANA time zone of dates and publish times
    publish_time = "18:00"             # default 18:00
    provider = "local"                 # run defaults, as `run` takes them
    cap = 2.00                         # dollars a run
    daily_budget = 0.00                # dollars a day across all sessions (0: nothing paid)
    privacy = "public"                 # public at the publish time (private until then) | private
    playlist = "rainy nights"          # optional playlist title, created on first use
    ahead = 1                          # make entries up to this many days before they publish

    [[entry]]                          # one video: a date plus overrides
    date = 2026-12-05
    theme = "snowy rooftop"
    season = "winter"                  # optional: season, atmosphere, time

    [[cadence]]                        # many videos: themes taken in turn
    every = "day"                      # day | week
    start = 2026-12-06
    count = 6                          # or until = 2026-12-31
    themes = ["rainy night", "tea at dusk"]

`load(path)` returns a `Plan` with its entries resolved into a calendar (aware datetimes in
the plan's zone, validated run parameters), or raises `PlanError` carrying every problem
found, each with the line number it comes from. Standard library only (tomli on 3.10).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from . import store

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[no-redef, import-not-found, unused-ignore]

MAX_PLAN_BYTES = 1024 * 1024
MAX_ENTRIES = 1000
MAX_AHEAD_DAYS = 60
DEFAULT_PUBLISH_TIME = dt.time(18, 0)
DEFAULT_AHEAD_DAYS = 1
# What the video is at its publish time: "public" uploads private with publishAt (YouTube
# makes it public then); "private" uploads private and never schedules it.
PLAN_PRIVACIES = ("public", "private")
CADENCES = {"day": 1, "week": 7}

SERIES_KEYS = {"name", "zone", "publish_time", "provider", "cap", "daily_budget", "privacy", "playlist",
               "minutes", "tracks", "season", "atmosphere", "ahead", "review", "upload"}
ENTRY_KEYS = {"date", "time", "theme", "season", "atmosphere"}
CADENCE_KEYS = {"every", "start", "count", "until", "themes", "time", "season", "atmosphere"}
TABLES = {"series": SERIES_KEYS, "entry": ENTRY_KEYS, "cadence": CADENCE_KEYS}


class PlanError(Exception):
    """The plan cannot be used; `problems` holds (line or None, one-line message) pairs."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        self.problems = sorted(problems, key=lambda p: (p[0] or 0, p[1]))
        super().__init__("; ".join(m for _, m in self.problems))

    def lines(self, label: str) -> list[str]:
        """One line per problem, `label:LINE: message` (the format compilers use)."""
        return [f"{label}:{line}: {msg}" if line else f"{label}: {msg}" for line, msg in self.problems]


@dataclass(frozen=True)
class Entry:
    key: str                      # date and theme slug, "2026-12-05-snowy-rooftop": stable when times move
    date: dt.date                 # the publish date in the plan's zone
    publish_at: dt.datetime       # aware, in the plan's zone
    params: dict[str, Any]        # validated run parameters (runner.store.validate_params)
    line: int                     # where the entry (or its cadence) is written
    note: str | None = None       # e.g. a publish time moved out of a daylight-saving gap

    @property
    def theme(self) -> str:
        return str(self.params["theme"])

    @property
    def publish_utc(self) -> str:
        """publishAt as YouTube takes it: ISO 8601 in UTC, whole seconds."""
        return self.publish_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Plan:
    path: Path
    name: str
    id: str                       # slug of the name: the series' folder under <root>/series/
    zone_name: str
    zone: ZoneInfo
    publish_time: dt.time
    daily_budget_usd: float
    privacy: str
    playlist: str | None
    ahead_days: int
    defaults: dict[str, Any]
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def today(self, now: dt.datetime) -> dt.date:
        """The calendar day `now` falls on in the plan's zone (daily budgets count by it)."""
        return now.astimezone(self.zone).date()

    def entry(self, key: str) -> Entry | None:
        return next((e for e in self.entries if e.key == key), None)


# ----------------------------------------------------------------------------- reading

def load(path: Path) -> Plan:
    """Read, validate and resolve a plan file; PlanError lists every problem with its line."""
    text = _read_text(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "not valid TOML"
        raise PlanError([(int(m.group(1)) if m else None, f"not valid TOML: {msg}")]) from None
    return _Resolver(path, doc, _Lines(text)).plan()


def _read_text(path: Path) -> str:
    path = Path(path)
    try:
        if path.is_dir():
            raise PlanError([(None, "is a folder, not a plan file")])
        if path.exists() and not path.is_file():  # a FIFO or device would block or never end
            raise PlanError([(None, "not a regular file")])
        with open(path, "rb") as fh:
            data = fh.read(MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise PlanError([(None, "no such file")]) from None
    except OSError as exc:
        raise PlanError([(None, f"cannot read it ({exc.strerror or exc})")]) from None
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError([(None, f"is over {MAX_PLAN_BYTES // 1024} KiB; a plan is a short text file")])
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PlanError([(line, "not UTF-8 text")]) from None


class _Lines:
    """Where each table and key is written, for problem lines. tomllib keeps no positions."""

    HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_-]+)\s*\]\]?\s*(#.*)?$")
    KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, text: str):
        self.tables: dict[tuple[str, int], int] = {}
        self.keys: dict[tuple[str, int, str], int] = {}
        counts: dict[str, int] = {}
        current = ("", 0)
        in_string = False
        for no, line in enumerate(text.splitlines(), start=1):
            if in_string:
                in_string = (line.count('"""') + line.count("'''")) % 2 == 0
                continue
            head = self.HEADER.match(line)
            if head:
                name = head.group(2)
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = (name, index)
                self.tables[current] = no
                continue
            key = self.KEY.match(line)
            if key:
                self.keys.setdefault((current[0], current[1], key.group(1)), no)
            if (line.count('"""') + line.count("'''")) % 2 == 1:
                in_string = True

    def of(self, table: str, index: int = 0, key: str | None = None) -> int | None:
        if key is not None and (table, index, key) in self.keys:
            return self.keys[(table, index, key)]
        return self.tables.get((table, index))


class _Resolver:
    def __init__(self, path: Path, doc: dict[str, Any], lines: _Lines):
        self.path, self.doc, self.lines = path, doc, lines
        self.problems: list[tuple[int | None, str]] = []

    def problem(self, line: int | None, message: str) -> None:
        self.problems.append((line, message))

    def plan(self) -> Plan:
        self._unknown_tables()
        series = self.doc.get("series")
        if not isinstance(series, dict):
            self.problem(self.lines.of("series") or 1, "the plan needs a [series] table (name, zone, ...)")
            raise PlanError(self.problems)
        self._unknown_keys("series", 0, series)
        head = self._series(series)  # with stand-ins for bad values, so entries are checked too
        entries = list(self._entries(head))
        if not entries and not self.problems:
            self.problem(self.lines.of("series"), "the plan has no [[entry]] or [[cadence]]: nothing to make")
        self._duplicates(entries)
        if self.problems:
            raise PlanError(self.problems)
        return Plan(entries=tuple(sorted(entries, key=lambda e: (e.publish_at, e.key))), **head)

    # -- tables ---------------------------------------------------------------------------

    def _unknown_tables(self) -> None:
        for name, value in self.doc.items():
            if name in TABLES:
                expect_list = name != "series"
                if expect_list and not isinstance(value, list):
                    self.problem(self.lines.of(name), f"write [[{name}]] (a list of tables), not [{name}] or a value")
                    self.doc[name] = []
                continue
            line = self.lines.of("", 0, name) or self.lines.of(name)
            self.problem(line, f"unknown {'table' if isinstance(value, (dict, list)) else 'key'} {name!r}; "
                               f"a plan has [series], [[entry]] and [[cadence]]")

    def _unknown_keys(self, table: str, index: int, values: dict[str, Any]) -> None:
        for key in values:
            if key not in TABLES[table]:
                self.problem(self.lines.of(table, index, key),
                             f"unknown key {key!r} in [{table}]; known keys: {', '.join(sorted(TABLES[table]))}")

    def _series(self, s: dict[str, Any]) -> dict[str, Any]:
        at = lambda key: self.lines.of("series", 0, key)  # noqa: E731
        name = s.get("name")
        if not isinstance(name, str) or not name.strip():
            self.problem(at("name") or self.lines.of("series"), "the series needs a name (name = \"...\")")
            name = "series"
        elif len(name.strip()) > store.MAX_THEME_CHARS:
            self.problem(at("name"), f"name is over {store.MAX_THEME_CHARS} characters")
        zone_name, zone = self._zone(s.get("zone"), at("zone") or self.lines.of("series"))
        publish_time = self._time(s.get("publish_time", DEFAULT_PUBLISH_TIME), at("publish_time"), "publish_time")
        daily = self._money(s.get("daily_budget", 0.0), at("daily_budget"), "daily_budget", allow_zero=True)
        privacy = s.get("privacy", "public")
        if privacy not in PLAN_PRIVACIES:
            hint = " (YouTube's publishAt can only make a video public)" if privacy == "unlisted" else ""
            self.problem(at("privacy"), f"unknown privacy {privacy!r}; choose one of: "
                                        f"{', '.join(PLAN_PRIVACIES)}{hint}")
        playlist = s.get("playlist")
        if playlist is not None and (not isinstance(playlist, str) or not playlist.strip()
                                     or len(playlist) > 150 or "<" in playlist or ">" in playlist):
            self.problem(at("playlist"), "playlist must be a title of 1-150 characters without < or >")
            playlist = None
        ahead = s.get("ahead", DEFAULT_AHEAD_DAYS)
        if isinstance(ahead, bool) or not isinstance(ahead, int) or not 0 <= ahead <= MAX_AHEAD_DAYS:
            self.problem(at("ahead"), f"ahead must be a whole number of days from 0 to {MAX_AHEAD_DAYS}")
            ahead = DEFAULT_AHEAD_DAYS
        raw: dict[str, Any] = {k: s[k] for k in ("provider", "cap", "minutes", "tracks", "season", "atmosphere", "review", "upload")
               if k in s}
        defaults = self._params({"theme": "defaults", **raw}, lambda key: at(key) or self.lines.of("series"))
        return {"path": self.path, "name": name.strip(), "id": store.slugify(name), "zone_name": zone_name,
                "zone": zone or ZoneInfo("UTC"), "publish_time": publish_time, "daily_budget_usd": daily,
                "privacy": privacy, "playlist": playlist.strip() if playlist else None, "ahead_days": ahead,
                "defaults": defaults or store.validate_params({"theme": "defaults"})}

    def _entries(self, head: dict[str, Any]) -> Iterator[Entry]:
        for i, e in enumerate(self.doc.get("entry") or []):
            if not isinstance(e, dict):
                continue
            self._unknown_keys("entry", i, e)
            at = (lambda i: lambda key: self.lines.of("entry", i, key) or self.lines.of("entry", i))(i)
            day = self._date(e.get("date"), at("date"), "date")
            entry = self._entry(head, day, e, e.get("theme"), at, self.lines.of("entry", i) or 0)
            if entry:
                yield entry
        for i, c in enumerate(self.doc.get("cadence") or []):
            if isinstance(c, dict):
                self._unknown_keys("cadence", i, c)
                yield from self._cadence(head, i, c)

    def _cadence(self, head: dict[str, Any], i: int, c: dict[str, Any]) -> Iterator[Entry]:
        at = lambda key: self.lines.of("cadence", i, key) or self.lines.of("cadence", i)  # noqa: E731
        step = CADENCES.get(c.get("every"))  # type: ignore[arg-type]
        if step is None:
            self.problem(at("every"), f"every must be one of: {', '.join(CADENCES)}; got {c.get('every')!r}")
        start = self._date(c.get("start"), at("start"), "start")
        themes = c.get("themes")
        if not isinstance(themes, list) or not themes or not all(isinstance(t, str) for t in themes):
            self.problem(at("themes"), "themes must be a list of one or more theme strings")
            themes = None
        count = c.get("count")
        until = c.get("until")
        if (count is None) == (until is None):
            self.problem(at("count") if count is not None else at("until"),
                         "a cadence needs exactly one of count (how many) or until (last date)")
            return
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            self.problem(at("count"), "count must be a whole number of at least 1")
            return
        last = self._date(until, at("until"), "until") if until is not None else None
        if step is None or start is None or themes is None or (until is not None and last is None):
            return
        if last is not None:
            if last < start:
                self.problem(at("until"), f"until ({last}) is before start ({start})")
                return
            count = (last - start).days // step + 1
        assert isinstance(count, int)  # one of count and until was checked above
        if count > MAX_ENTRIES:
            self.problem(at("every"), f"this cadence makes {count} entries; a plan holds at most {MAX_ENTRIES}")
            return
        line = self.lines.of("cadence", i) or 0
        for n in range(count):
            entry = self._entry(head, start + dt.timedelta(days=n * step), c, themes[n % len(themes)], at, line)
            if entry is None:
                return  # the same problem would repeat for every date
            yield entry

    def _entry(self, head: dict[str, Any], day: dt.date | None, e: dict[str, Any], theme: Any,
               at: Any, line: int) -> Entry | None:
        before = len(self.problems)
        t = self._time(e["time"], at("time"), "time") if "time" in e else head["publish_time"]
        if not isinstance(theme, str):
            self.problem(at("theme"), "the entry needs a theme (theme = \"...\")")
        overrides: dict[str, Any] = {k: e[k] for k in ("season", "atmosphere") if k in e}
        params = self._params({**head["defaults"], **overrides, "theme": theme, "privacy": "private"}, at)
        if day is None or params is None or len(self.problems) > before:
            return None
        when, note = localize(day, t, head["zone"], head["zone_name"])
        return Entry(key=f"{day.isoformat()}-{store.slugify(theme)}", date=day, publish_at=when, params=params,
                     line=line, note=note)

    def _duplicates(self, entries: list[Entry]) -> None:
        seen: dict[str, Entry] = {}
        for e in sorted(entries, key=lambda e: e.line):
            if e.key in seen:
                self.problem(e.line, f"{e.date} has {e.theme!r} twice (the other is on line {seen[e.key].line}); "
                                     "an entry is its date and theme")
            seen.setdefault(e.key, e)

    # -- values ---------------------------------------------------------------------------

    def _params(self, raw: dict[str, Any], at: Any) -> dict[str, Any] | None:
        try:
            return store.validate_params(raw)
        except store.InvalidParams as exc:
            msg = str(exc)
            key = next((k for k in raw if re.search(rf"\b{k}\b", msg)), "theme")
            self.problem(at(key), msg)
            return None

    def _zone(self, value: Any, line: int | None) -> tuple[str, ZoneInfo | None]:
        if not isinstance(value, str) or not value.strip():
            self.problem(line, "the series needs an IANA time zone, e.g. zone = \"Europe/Berlin\"")
            return "", None
        try:
            return value, ZoneInfo(value)
        except (KeyError, ValueError, OSError):
            self.problem(line, f"unknown time zone {value!r}; use an IANA name such as \"Europe/Berlin\" or "
                               "\"America/New_York\" (needs the system's tzdata)")
            return value, None

    def _time(self, value: Any, line: int | None, name: str) -> dt.time:
        if isinstance(value, dt.time):
            return value.replace(second=0, microsecond=0, tzinfo=None)
        if isinstance(value, str):
            m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
            if m:
                return dt.time(int(m.group(1)), int(m.group(2)))
        self.problem(line, f"{name} must be a time of day \"HH:MM\" (24-hour), got {value!r}")
        return DEFAULT_PUBLISH_TIME

    def _date(self, value: Any, line: int | None, name: str) -> dt.date | None:
        if isinstance(value, dt.datetime):
            self.problem(line, f"{name} must be a date (YYYY-MM-DD) without a time; put the time in time = \"HH:MM\"")
            return None
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem(line, f"{name} must be a date YYYY-MM-DD, got {value!r}")
        return None

    def _money(self, value: Any, line: int | None, name: str, *, allow_zero: bool) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                or value in (float("inf"), float("-inf")) or value < 0 or (value == 0 and not allow_zero):
            self.problem(line, f"{name} must be a number of dollars{' (0 or more)' if allow_zero else ''}, "
                               f"got {value!r}")
            return 0.0
        return float(value)


def localize(day: dt.date, t: dt.time, zone: ZoneInfo, zone_name: str = "") -> tuple[dt.datetime, str | None]:
    """The aware datetime of local time t on day in zone, and a note when the wall clock skips or repeats it.

    A time inside a spring-forward gap does not exist; it moves forward by the gap (02:30
    becomes 03:30 in Europe/Berlin). A time that happens twice (autumn) is its first
    occurrence. Both come back with a note saying so.
    """
    naive = dt.datetime.combine(day, t)
    first = naive.replace(tzinfo=zone, fold=0)
    real = first.astimezone(dt.timezone.utc).astimezone(zone)
    where = f" in {zone_name}" if zone_name else ""
    if real.replace(tzinfo=None) != naive:
        return real, (f"{t:%H:%M} does not exist on {day}{where} (clocks go forward); "
                      f"publishing at {real:%H:%M}")
    if naive.replace(tzinfo=zone, fold=1).utcoffset() != first.utcoffset():
        return first, f"{t:%H:%M} happens twice on {day}{where} (clocks go back); using the first"
    return first, None
