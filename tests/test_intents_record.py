"""intents.jsonl never takes a torn line for a written one (issue 10.1: the record is what stops a
second payment, so a line that cannot be read back is a request that may be paid twice)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from runner import intents
from runner.intents import Intents


def _begin(record: Intents, iid: str) -> None:
    record.begin(id=iid, call_key=f"key-{iid}", provider="fal", app="fal-ai/minimax-music/v2",
                 arguments={"prompt": iid}, label=f"track {iid}", step="music", asset="music",
                 estimate_usd=0.035, reattach=True)


def test_a_line_left_without_its_newline_does_not_swallow_the_next_intent(tmp_path: Path) -> None:
    # An earlier run's last line was cut short (power cut, full disk): the next intent, written
    # after it, must still be read back, or a resume would send that request a second time.
    _begin(Intents(tmp_path), "first")
    with open(tmp_path / intents.FILE, "ab") as fh:
        fh.write(b'{"ts":"2026-12-01T00:00:00Z","id":"first","phase":"acc')
    _begin(Intents(tmp_path), "second")

    again = Intents(tmp_path)
    assert set(again.by_id) == {"first", "second"}
    assert [i.id for i in again.unknown()] == ["first", "second"]
    for raw in (tmp_path / intents.FILE).read_bytes().splitlines()[2:]:
        assert json.loads(raw)["id"] == "second"


def test_a_short_write_on_a_full_disk_is_an_error_not_a_record(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # write(2) on a nearly full disk writes part of the line and returns its length: the
    # request must not be sent as if its intent were on disk.
    real_write = os.write
    monkeypatch.setattr(intents.os, "write", lambda fd, data: real_write(fd, data[: len(data) // 2]))
    with pytest.raises(OSError) as info:
        _begin(Intents(tmp_path), "cut")
    assert info.value.errno == errno.ENOSPC and intents.FILE in str(info.value)
