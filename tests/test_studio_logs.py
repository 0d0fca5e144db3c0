"""GET /api/logs: tail, parsing, level and session filters, byte-offset paging, payload cap."""

from __future__ import annotations

import time

from runner import store
from studio.logs import MAX_LINE
from test_studio_support import at, call, get_json, log, make_app, sid


def _fill(root, n=30):
    for i in range(n):
        log(root, f"line {i}", level=("INFO", "WARN", "ERROR", "DEBUG")[i % 4],
            session=sid(1) if i % 2 else sid(2, "other"), step="music" if i % 3 else None, when=at(i))


def test_logs_tail_is_parsed_oldest_first(root):
    _fill(root)
    page = get_json(make_app(root), "/api/logs?limit=3")
    assert [l["message"] for l in page["lines"]] == ["line 27", "line 28", "line 29"]
    last = page["lines"][-1]
    assert last["level"] == "WARN" and last["session"] == sid(1) and last["step"] == "music"
    assert last["time"] == store.iso(at(29))
    assert page["end"] == page["size"] and page["has_more_before"] is True


def test_logs_filter_by_level_and_session(root):
    _fill(root)
    app = make_app(root)
    errors = get_json(app, "/api/logs?level=ERROR")["lines"]
    assert {l["level"] for l in errors} == {"ERROR"} and len(errors) == 7
    both = get_json(app, "/api/logs?level=warn,error")["lines"]
    assert {l["level"] for l in both} == {"WARN", "ERROR"}
    mine = get_json(app, f"/api/logs?session={sid(1)}")["lines"]
    assert len(mine) == 15 and {l["session"] for l in mine} == {sid(1)}
    assert get_json(app, "/api/logs?q=LINE 1")["lines"][0]["message"] == "line 1"
    assert call(app, "GET", "/api/logs?level=LOUD").status == 400
    assert call(app, "GET", "/api/logs?session=../../x").status == 400


def test_logs_page_backwards_and_forwards_by_byte_offset(root):
    _fill(root, 10)
    app = make_app(root)
    newest = get_json(app, "/api/logs?limit=4")
    older = get_json(app, f"/api/logs?limit=4&before={newest['start']}")
    oldest = get_json(app, f"/api/logs?limit=4&before={older['start']}")
    got = [l["message"] for p in (oldest, older, newest) for l in p["lines"]]
    assert got == [f"line {i}" for i in range(10)]
    assert oldest["has_more_before"] is False and oldest["start"] == 0
    # Following: nothing new, then exactly the new lines.
    follow = get_json(app, f"/api/logs?after={newest['end']}")
    assert follow["lines"] == [] and follow["end"] == newest["end"]
    log(root, "fresh one", session=sid(1))
    follow = get_json(app, f"/api/logs?after={newest['end']}")
    assert [l["message"] for l in follow["lines"]] == ["fresh one"]
    # Every line's offset and end point back into the file.
    data = store.log_path(root).read_bytes()
    for l in newest["lines"]:
        assert data[l["offset"]:l["end"]].decode().rstrip("\n").endswith(l["message"])


def test_a_line_still_being_written_is_left_out(root):
    _fill(root, 3)
    with open(store.log_path(root), "a") as fh:
        fh.write("2026-11-21T12:00:09.000Z INFO  [x] -: half a li")
    page = get_json(make_app(root), "/api/logs")
    assert [l["message"] for l in page["lines"]] == ["line 0", "line 1", "line 2"]
    assert page["end"] < page["size"]
    with open(store.log_path(root), "a") as fh:
        fh.write("ne\n")
    follow = get_json(make_app(root), f"/api/logs?after={page['end']}")
    assert [l["message"] for l in follow["lines"]] == ["half a line"]


def test_unparsed_lines_come_through_as_messages(root):
    store.log_path(root).write_text("Traceback (most recent call last):\n  boom\n")
    lines = get_json(make_app(root), "/api/logs")["lines"]
    assert [(l["level"], l["message"]) for l in lines] == [(None, "Traceback (most recent call last):"),
                                                           (None, "  boom")]


def test_the_payload_is_capped(root):
    big = "x" * 12_000
    for i in range(100):
        log(root, f"{i} {big}")
    page = get_json(make_app(root), "/api/logs?limit=2000")
    assert page["truncated"] is True
    assert sum(len(l["message"]) for l in page["lines"]) <= 512 * 1024
    assert page["lines"][-1]["message"].startswith("99 ")
    assert len(call(make_app(root), "GET", "/api/logs?limit=2000").body) < 700 * 1024


def test_an_enormous_line_is_cut_into_fragments(root):
    log(root, "before")
    with open(store.log_path(root), "a") as fh:
        fh.write("y" * (MAX_LINE * 3 + 5) + "\n")
    log(root, "after")
    lines = get_json(make_app(root), "/api/logs")["lines"]
    assert lines[0]["message"] == "before" and lines[-1]["message"] == "after"
    assert all(len(l["message"]) <= MAX_LINE for l in lines)
    assert any(l["partial"] for l in lines)


def test_a_1_gb_log_is_tailed_without_reading_it_whole(root):
    path = store.log_path(root)
    log(root, "at the very start", session=sid(2, "old"))
    with open(path, "r+b") as fh:
        fh.truncate(1 << 30)          # sparse: a gigabyte of holes, no disk used
    with open(path, "a") as fh:
        fh.write("\n")
    for i in range(5):
        log(root, f"recent {i}", session=sid(1))
    app = make_app(root)
    t = time.perf_counter()
    page = get_json(app, "/api/logs?limit=50")
    assert [l["message"] for l in page["lines"]] == [f"recent {i}" for i in range(5)]
    # A filter that matches nothing nearby stops at the scan budget and says where it stopped.
    miss = get_json(app, f"/api/logs?session={sid(2, 'old')}")
    assert miss["lines"] == [] and miss["has_more_before"] is True and miss["start"] > (1 << 29)
    follow = get_json(app, "/api/logs?after=0")
    assert [l["message"] for l in follow["lines"]] == ["at the very start"]
    assert time.perf_counter() - t < 2.0
    assert page["size"] > 1 << 30


def test_no_log_file_is_an_empty_page(root):
    page = get_json(make_app(root), "/api/logs")
    assert page["lines"] == [] and page["size"] == 0


def test_bad_offsets_are_refused(root):
    app = make_app(root)
    assert call(app, "GET", "/api/logs?before=-1").status == 400
    assert call(app, "GET", "/api/logs?after=abc").status == 400


def test_a_log_truncated_under_a_follower_starts_again(root):
    _fill(root, 5)
    app = make_app(root)
    end = get_json(app, "/api/logs")["end"]
    store.log_path(root).write_text("")
    log(root, "new file")
    follow = get_json(app, f"/api/logs?after={end}")
    assert follow["rotated"] is True and [l["message"] for l in follow["lines"]] == ["new file"]
