"""CSV export of session rows, safe to open in a spreadsheet.

A theme such as `=HYPERLINK("http://evil", "click")` would run as a formula in Excel or
LibreOffice. Any text cell starting with = + - @ tab or CR therefore gets a leading
apostrophe (OWASP's advice); numbers, including negative ones, are left as numbers.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Iterable, Sequence

_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(value: Any) -> str:
    """The text of one cell, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_DANGEROUS_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """UTF-8 with a BOM (so Excel reads accents right) and CRLF line ends (RFC 4180)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([neutralise(row.get(c)) for c in columns])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")
