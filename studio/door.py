"""The one door: every JSON body, stream event, CSV cell and HTML page leaves through here.

Each string in what is encoded is redacted here (studio/redact.py), as it is encoded, so no
field can be forgotten: handlers return plain values (web.json_response keeps the value, not
bytes) and App.handle has the door encode them; the event hub encodes every event with it;
the CSV export and the page go through it too. Code that cuts or searches text (a table
cell's error, a log line's pieces, the search text of a row) redacts before it cuts or
searches, because a cut key is no longer key-shaped; the door redacting again is harmless.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from . import csvexport
from .redact import Redactor, Verbatim
from .web import dumps

__all__ = ["Door", "Rows", "Verbatim"]
ROWS_KEPT = 4096          # encoded rows kept (about 1 KB each): the pages people look at


class Rows(list):  # type: ignore[type-arg]
    """The session rows of a listing, as a top-level value of an answer: the door encodes
    each row once and keeps it while the row object lives (a row is replaced, never changed,
    when its session changes), so a page of 50 rows costs 50 look-ups, not 1,500 strings."""


class Door:
    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self._rows: dict[int, tuple[dict[str, Any], bytes]] = {}

    def json(self, value: Any) -> bytes:
        """Compact ASCII JSON of value, every string redacted (Verbatim ones excepted)."""
        if type(value) is dict and any(type(v) is Rows for v in value.values()):
            return b"{" + b",".join(dumps(self.redactor.text(k)) + b":" + (
                self._listing(v) if type(v) is Rows else dumps(self.redactor.value(v, k)))
                for k, v in value.items()) + b"}"
        return dumps(self.redactor.value(value))

    def _listing(self, rows: Rows) -> bytes:
        return b"[" + b",".join(self._row(r) for r in rows) + b"]"

    def _row(self, row: dict[str, Any]) -> bytes:
        kept = self._rows.get(id(row))
        if kept is not None and kept[0] is row:
            return kept[1]
        encoded = dumps(self.redactor.value(row))
        if len(self._rows) >= ROWS_KEPT:
            self._rows.clear()
        self._rows[id(row)] = (row, encoded)   # the row is kept too, so its id is not reused
        return encoded

    def csv(self, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
        """The CSV export: each text cell redacted, then defused for spreadsheets."""
        text = self.redactor.text
        return csvexport.to_csv(({k: text(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows),
                                columns)

    def html(self, template: str, placeholder: str, token: str) -> bytes:
        """The page, redacted, with the per-process token put in after redaction."""
        return self.redactor.text(template).replace(placeholder, token).encode("utf-8")
