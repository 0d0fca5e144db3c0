"""Series plans: parsing, problems with their line numbers, the calendar, and publishAt across DST."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest
from helpers import run_cli

from runner import plan as plans

UTC = dt.timezone.utc

GOOD = """\
[series]
name = "Rainy Nights"
zone = "Europe/Berlin"
publish_time = "18:00"
provider = "local"
daily_budget = 1.50
playlist = "rainy nights"

[[entry]]
date = 2026-10-24
theme = "snowy rooftop"
season = "winter"

[[entry]]
date = "2026-10-25"
theme = "tea at dusk"
atmosphere = "cafe"

[[cadence]]
every = "day"
start = 2026-10-26
count = 3
themes = ["rainy night", "quiet library"]

[[cadence]]
every = "week"
start = 2026-11-01
until = 2026-11-15
time = "09:30"
themes = ["sunday pages"]
"""


def write(tmp_path: Path, text: str, name: str = "series.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_plan_resolves_to_a_calendar_with_cadence_themes_in_turn(tmp_path):
    p = plans.load(write(tmp_path, GOOD))
    assert (p.name, p.id, p.zone_name, p.daily_budget_usd, p.playlist) == \
        ("Rainy Nights", "rainy-nights", "Europe/Berlin", 1.5, "rainy nights")
    got = [(e.date.isoformat(), f"{e.publish_at:%H:%M}", e.theme) for e in p.entries]
    assert got == [
        ("2026-10-24", "18:00", "snowy rooftop"), ("2026-10-25", "18:00", "tea at dusk"),
        ("2026-10-26", "18:00", "rainy night"), ("2026-10-27", "18:00", "quiet library"),
        ("2026-10-28", "18:00", "rainy night"),
        ("2026-11-01", "09:30", "sunday pages"), ("2026-11-08", "09:30", "sunday pages"),
        ("2026-11-15", "09:30", "sunday pages"),
    ]
    first = p.entries[0]
    assert first.key == "2026-10-24-snowy-rooftop"
    assert first.params["season"] == "winter" and first.params["atmosphere"] == "rain"
    assert p.entries[1].params["atmosphere"] == "cafe" and p.entries[1].params["season"] == "autumn"
    assert all(e.params["privacy"] == "private" for e in p.entries)  # private until publishAt


def test_publish_at_is_right_across_the_end_of_daylight_saving_in_berlin(tmp_path):
    # Europe/Berlin leaves summer time (UTC+2) for winter time (UTC+1) at 03:00 on 2026-10-25.
    p = plans.load(write(tmp_path, GOOD))
    by_date = {e.date.isoformat(): e.publish_utc for e in p.entries}
    assert by_date["2026-10-24"] == "2026-10-24T16:00:00Z"   # 18:00 CEST
    assert by_date["2026-10-25"] == "2026-10-25T17:00:00Z"   # 18:00 CET
    assert by_date["2026-10-26"] == "2026-10-26T17:00:00Z"
    assert by_date["2026-11-01"] == "2026-11-01T08:30:00Z"   # 09:30 CET


def test_a_time_the_clock_skips_moves_forward_and_a_repeated_one_takes_the_first(tmp_path):
    zone = plans.ZoneInfo("Europe/Berlin")
    gap, note = plans.localize(dt.date(2026, 3, 29), dt.time(2, 30), zone, "Europe/Berlin")
    assert gap.astimezone(UTC) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC) and "does not exist" in note
    twice, note = plans.localize(dt.date(2026, 10, 25), dt.time(2, 30), zone, "Europe/Berlin")
    assert twice.astimezone(UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC) and "twice" in note
    plain, note = plans.localize(dt.date(2026, 10, 26), dt.time(2, 30), zone)
    assert plain.astimezone(UTC) == dt.datetime(2026, 10, 26, 1, 30, tzinfo=UTC) and note is None


BAD = """\
[series]
name = "Rainy Nights"
zone = "Europe/Berln"
publish_time = "25:00"
daily_budget = -1
atmosphre = "rain"

[[entry]]
date = "2026-13-05"
theme = "snowy rooftop"

[[entry]]
date = 2026-12-05
theme = "snowy cafe"
season = "wintr"

[[entry]]
date = 2026-12-06
theme = "a <b> theme"

[[cadence]]
every = "month"
start = 2026-12-06
count = 2
themes = ["a"]

[[cadence]]
every = "day"
start = 2026-12-06
themes = []
count = 2
"""


def test_every_problem_is_one_line_with_its_line_number(tmp_path):
    with pytest.raises(plans.PlanError) as err:
        plans.load(write(tmp_path, BAD))
    lines = err.value.lines("series.toml")
    assert [line.split(":")[1] for line in lines] == ["3", "4", "5", "6", "9", "15", "19", "22", "30"]
    text = "\n".join(lines)
    assert "unknown time zone 'Europe/Berln'" in text and "atmosphre" in text and "'wintr'" in text
    assert "< or >" in text and "every must be one of: day, week" in text and "themes must be a list" in text


@pytest.mark.parametrize("body, line, words", [
    ("[series\nname = 1\n", 1, "not valid TOML"),
    ("[series]\nname = \"x\"\nzone = \"UTC\"\n", 1, "no [[entry]] or [[cadence]]"),
    ("[[entry]]\ndate = 2026-12-01\ntheme = \"x\"\n", 1, "needs a [series] table"),
    ("[series]\nname = \"x\"\nzone = \"UTC\"\n[[entry]]\ndate = 2026-12-01T10:00:00\ntheme = \"x\"\n", 5,
     "without a time"),
    ("[series]\nname = \"x\"\nzone = \"UTC\"\nprivacy = \"unlisted\"\n[[entry]]\ndate = 2026-12-01\ntheme = \"x\"\n",
     4, "publishAt can only make a video public"),
    ("[series]\nname = \"x\"\nzone = \"UTC\"\n[[entry]]\ndate = 2026-12-01\ntheme = \"x\"\n"
     "[[entry]]\ndate = 2026-12-01\ntheme = \"X\"\n", 7, "twice"),
    ("[series]\nname = \"x\"\nzone = \"UTC\"\n[[cadence]]\nevery = \"day\"\nstart = 2026-01-01\n"
     "until = 2030-01-01\nthemes = [\"x\"]\n", 5, "at most 1000"),
    ("[series]\nname = \"x\"\nzone = \"../../etc/passwd\"\n[[entry]]\ndate = 2026-12-01\ntheme = \"x\"\n", 3,
     "unknown time zone"),
])
def test_bad_plans_name_the_line(tmp_path, body, line, words):
    with pytest.raises(plans.PlanError) as err:
        plans.load(write(tmp_path, body))
    [(got_line, message)] = err.value.problems
    assert got_line == line and words in message


def test_files_that_are_not_plans_are_one_line(tmp_path):
    for path, words in ((tmp_path / "missing.toml", "no such file"), (tmp_path, "is a folder")):
        with pytest.raises(plans.PlanError, match=words):
            plans.load(path)
    (tmp_path / "bin.toml").write_bytes(b"[series]\nname = \"\xff\"\n")
    with pytest.raises(plans.PlanError) as err:
        plans.load(tmp_path / "bin.toml")
    assert err.value.problems == [(2, "not UTF-8 text")]


def test_series_check_prints_the_calendar_with_the_spend_per_day(tmp_path):
    paid = GOOD.replace('provider = "local"', 'provider = "fal"\ntracks = 2')
    out = run_cli("series", "check", str(write(tmp_path, paid)), root=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    row = next(line for line in lines if line.lstrip().startswith("2026-10-24"))
    # cover $0.075 + clip $0.35 + 2 tracks at $0.035 = $0.495 a run
    assert "18:00 CEST" in row and "$0.49" in row and "snowy rooftop" in row
    assert any("2026-10-25 Sun 18:00 CET" in line for line in lines)
    assert "total $3.96 estimated over 8 day(s)" in out.stdout
    assert "Europe/Berlin" in lines[0] and "$1.50 daily budget" in out.stdout


def test_series_check_of_a_bad_plan_exits_2_with_one_line_per_problem(tmp_path):
    path = write(tmp_path, BAD)
    out = run_cli("series", "check", str(path), root=tmp_path)
    assert out.returncode == 2 and out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 9 and all(line.startswith(f"{path}:") for line in lines)
    assert "Traceback" not in out.stderr


def test_an_entry_whose_estimate_crosses_the_cap_is_a_problem(tmp_path):
    paid = GOOD.replace('provider = "local"', 'provider = "fal"\ntracks = 10\ncap = 0.30')
    out = run_cli("series", "check", str(write(tmp_path, paid)), root=tmp_path)
    assert out.returncode == 2
    assert f"{tmp_path / 'series.toml'}:11: 2026-10-24-snowy-rooftop: estimated $0.78 is over the $0.30 cap" \
        in out.stderr
