"""tools/mypy_baseline.py: the type-check gate that lets mypy's error count only shrink."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("mypy_baseline", REPO / "tools" / "mypy_baseline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


tool = _tool()


@pytest.mark.parametrize("output, count", [
    ("runner/x.py:1: error: bad  [arg-type]\nFound 127 errors in 17 files (checked 69 source files)\n", 127),
    ("a.py:1: error: bad  [misc]\nFound 1 error in 1 file (checked 2 source files)\n", 1),
    ("Success: no issues found in 69 source files\n", 0),
    ("Traceback (most recent call last):\n  ...\nKeyError: 'x'\n", None),
    ("", None),
])
def test_the_count_comes_from_mypys_summary_line_and_a_crash_has_none(output, count):
    assert tool.error_count(output) == count


def test_more_errors_than_the_baseline_fails_and_fewer_asks_for_a_lower_baseline():
    assert tool.verdict(128, 127)[0] == 1 and "1 more than the baseline of 127" in tool.verdict(128, 127)[1]
    assert tool.verdict(127, 127) == (0, "mypy: 127 errors, the baseline")
    code, line = tool.verdict(120, 127)
    assert code == 0 and "--update" in line


def test_the_baseline_file_holds_one_count_under_its_comments():
    assert tool.read_baseline("# why\n\n  42 \n") == 42
    with pytest.raises(ValueError):
        tool.read_baseline("# only comments\n")
    assert tool.read_baseline(tool.BASELINE.read_text()) >= 0
