"""The format module's readers survive whatever they find on disk."""

from __future__ import annotations

import json

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
    assert store.session_summary(root, sid) == {"id": sid, "status": "unreadable", "readable": False}


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
    assert p == {**store.DEFAULTS, "theme": "rainy night"}
