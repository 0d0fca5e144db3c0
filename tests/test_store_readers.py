"""The format module's readers survive whatever they find on disk."""

from __future__ import annotations

import json
import math

import pytest
from helpers import params

from runner import store


def _session(root, sid="20261121-031500-rainy-night"):
    state = store.new_state(sid, params())
    store.session_dir(root, sid).mkdir(parents=True)
    store.write_state(root, state)
    return state


@pytest.mark.parametrize("content", [None, b"", b'{"id": "x", "status": "runn', b"not json", b"[]",
                                     b'{"id": "x", "status": "dancing", "steps": {}, "params": {}, "cost": {}}'])
def test_a_missing_partial_or_corrupt_state_reads_as_none(root, content):
    sid = "20261121-031500-broken"
    folder = store.session_dir(root, sid)
    folder.mkdir(parents=True)
    if content is not None:
        (folder / "state.json").write_bytes(content)
    assert store.read_state(root, sid) is None
    row = store.session_summary(root, sid)
    assert list(row) == list(store.SUMMARY_FIELDS)
    assert (row["id"], row["status"], row["readable"]) == (sid, "unreadable", False)
    assert row["created_at"] == "2026-11-21T03:15:00.000Z"   # from the id
    assert row["error"] == store.load_state(root, sid)[1] and row["error"]
    assert [k for k, v in row.items() if v is not None] == ["id", "readable", "status", "created_at", "error"]


def test_a_half_written_jsonl_line_is_left_for_later(root):
    path = root / "events.jsonl"
    path.write_bytes(b'{"seq": 1}\nnot json\n{"seq": 2}\n{"seq": 3, "ty')
    events, offset = store.read_jsonl(path)
    assert [e["seq"] for e in events] == [1, 2]
    with open(path, "ab") as fh:
        fh.write(b'pe": "x"}\n')
    more, _ = store.read_jsonl(path, offset)
    assert more == [{"seq": 3, "type": "x"}]


def test_atomic_writes_leave_no_temporary_files(root):
    state = _session(root)
    for n in range(5):
        state["title"] = f"t{n}"
        store.write_state(root, state)
    folder = store.session_dir(root, state["id"])
    assert sorted(p.name for p in folder.iterdir()) == ["state.json"]
    assert json.loads((folder / "state.json").read_text())["title"] == "t4"


def test_session_ids_are_strict(root):
    assert store.is_session_id("20261121-031500-rainy-night")
    for bad in ["../x", "20261121-031500-", "x", "20261121-031500-UPPER", ""]:
        assert not store.is_session_id(bad)
        with pytest.raises(ValueError):
            store.session_dir(root, bad)


def test_list_ignores_stray_names_and_sorts_newest_first(root):
    _session(root, "20261121-031500-a")
    _session(root, "20261122-000000-b")
    (root / "sessions" / "notes.txt").write_text("x")
    assert store.list_session_ids(root) == ["20261122-000000-b", "20261121-031500-a"]


def test_tailing_a_sparse_gigabyte_log_reads_a_bounded_amount(tmp_path):
    log = tmp_path / "runner.log"
    with open(log, "wb") as fh:
        fh.truncate(1 << 30)
    with open(log, "ab") as fh:
        fh.write(b"2026-11-21T03:15:00.000Z INFO  [s] -: first\n2026-11-21T03:15:01.000Z INFO  [s] -: last\n")
    before = _bytes_read()
    lines, first, end = store.tail_lines(log, 10, max_bytes=1 << 20)
    assert lines[-1].endswith("last")
    assert end == log.stat().st_size and first < end
    assert _bytes_read() - before < 2 << 20  # a whole-file read would be 1 GiB


def _bytes_read() -> int:
    """Bytes this process has read through read(2) so far (Linux /proc/self/io rchar)."""
    for line in open("/proc/self/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def test_log_lines_round_trip_and_cannot_forge_a_second_record():
    line = store.format_log_line("warn", "20261121-031500-x", "music", "two\nlines")
    assert line.count("\n") == 1
    parsed = store.parse_log_line(line)
    assert parsed["level"] == "WARN" and parsed["step"] == "music" and parsed["message"] == "two lines"


def test_validate_params_fills_defaults():
    p = store.validate_params({"theme": "  rainy night  "})
    # --tracks auto (the default) is resolved to a count for the default length.
    assert p == {**store.DEFAULTS, "theme": "rainy night", "tracks": store.auto_tracks(store.DEFAULTS["minutes"])}


# ----------------------------------------------------------------------------- validation

def _valid_state() -> dict:
    return json.loads(json.dumps(store.new_state("20261121-031500-rainy-night", params())))


def _with(change) -> dict:
    state = _valid_state()
    change(state)
    return state


@pytest.mark.parametrize("change, reason", [
    (lambda s: s["steps"].__setitem__("music", "done"), "steps.music is a string, not an object"),
    (lambda s: s["steps"].__setitem__("music", []), "steps.music is a list, not an object"),
    (lambda s: s["steps"].pop("render"), "steps.render is missing"),
    (lambda s: s.__setitem__("created_at", 1763694900), "created_at is a number, not a timestamp"),
    (lambda s: s.__setitem__("created_at", "last tuesday"), "created_at is a string, not a timestamp"),
    (lambda s: s["cost"].__setitem__("spent_usd", math.nan), "cost.spent_usd is a number, not a finite number"),
    (lambda s: s["cost"].__setitem__("spent_usd", math.inf), "cost.spent_usd is a number, not a finite number"),
    (lambda s: s["cost"].__setitem__("cap_usd", "2.00"), "cost.cap_usd is a string, not a finite number"),
    (lambda s: s.__setitem__("status", "dancing"), "status is not one of: queued, running, awaiting_review, "
                                                   "completed, failed, halted_budget, interrupted, needs_attention"),
    (lambda s: s["steps"]["music"].__setitem__("attempts", True),
     "steps.music.attempts is true/false, not a whole number within 2**53"),
    (lambda s: s.__setitem__("pid", 10 ** 30), "pid is a number, not a whole number within 2**53"),
    (lambda s: s["steps"]["music"].__setitem__("progress", {"percent": "half"}),
     "steps.music.progress.percent is a string, not a finite number"),
    (lambda s: s["params"].__setitem__("theme", None), "params.theme is null, not a string"),
    (lambda s: s.__setitem__("title", {"text": "x"}), "title is an object, not a string"),
    (lambda s: s.__setitem__("id", "../../etc"), "id is a string, not a session id"),
])
def test_each_wrong_type_is_unreadable_with_a_reason_that_names_the_field(change, reason):
    assert store.validate_state(_with(change)) == (None, reason)


def test_the_reason_never_echoes_what_the_file_holds():
    secret = "sk-" + "x" * 40
    for change in (lambda s: s.__setitem__("status", secret),
                   lambda s: s["cost"]["by_asset"].__setitem__(secret, "x")):
        _, reason = store.validate_state(_with(change))
        assert reason and secret not in reason


def test_a_valid_state_and_the_fields_a_newer_runner_may_add_are_accepted():
    state = _with(lambda s: s.update(future_field={"anything": [1, 2]}, approved_at="2026-11-21T04:00:00Z"))
    assert store.validate_state(state) == (state, None)


@pytest.mark.parametrize("data, reason", [
    (b"[" * 3000 + b"]" * 3000, "state.json is nested more than 64 levels deep"),
    (b'{"a": ' * 3000 + b"1" + b"}" * 3000, "state.json is nested more than 64 levels deep"),
    (b"[" * 3000, "state.json is nested more than 64 levels deep"),   # and partial
    (b'{"spent_usd": NaN}', "state.json holds a number that is NaN or infinite"),
    (b'{"spent_usd": Infinity}', "state.json holds a number that is NaN or infinite"),
    (b'{"spent_usd": -1e999}', "state.json holds a number that is NaN or infinite"),
    (b"\xff\xfe{\x00}\x00", "state.json is not UTF-8 text"),
    (b"  \n", "state.json is empty"),
    (b"null", "state.json is null, not an object"),
])
def test_hostile_bytes_are_refused_with_a_reason_and_never_raise(data, reason):
    assert store.decode_state(data) == (None, reason)


def test_deep_nesting_inside_free_form_fields_is_refused_before_anything_recurses():
    state = _valid_state()
    raw = json.dumps(state).encode()
    deep = b'{"x": ' * 3000 + b"1" + b"}" * 3000
    planted = raw.replace(b'"outputs": {}', b'"outputs": ' + deep, 1)
    assert store.decode_state(planted) == (None, "state.json is nested more than 64 levels deep")
    # Brackets inside strings are text, not nesting.
    state["title"] = "[" * 5000 + "\\\"" + "{" * 5000
    assert store.decode_state(json.dumps(state).encode())[1] is None


def test_the_depth_limit_is_exact():
    def nested(n: int) -> bytes:
        return b'{"a": ' * (n - 1) + b"[]" + b"}" * (n - 1)
    assert store._depth_within(nested(store.MAX_STATE_DEPTH), store.MAX_STATE_DEPTH)
    assert not store._depth_within(nested(store.MAX_STATE_DEPTH + 1), store.MAX_STATE_DEPTH)


def test_a_state_copied_into_another_folder_is_unreadable_there(root):
    state = _session(root)
    other = store.session_dir(root, "20261121-031500-copy")
    other.mkdir()
    (other / "state.json").write_bytes((store.session_dir(root, state["id"]) / "state.json").read_bytes())
    assert store.load_state(root, "20261121-031500-copy") == (None, "state.json's id is not the name of its folder")
    assert store.read_state(root, state["id"])["id"] == state["id"]


def test_timestamps_without_an_offset_are_utc_and_subtract_cleanly():
    a, b = store.parse_iso("2026-11-21T03:15:00"), store.parse_iso("2026-11-21T04:15:00+01:00")
    assert a == b and (a - b).total_seconds() == 0
    assert store.parse_iso("0001-01-01T00:00:00+14:00") is None   # out of range in UTC
