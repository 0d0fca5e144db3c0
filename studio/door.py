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

__all__ = ["Door", "Verbatim"]


class Door:
    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def json(self, value: Any) -> bytes:
        """Compact ASCII JSON of value, every string redacted (Verbatim ones excepted)."""
        return dumps(self.redactor.value(value))

    def csv(self, rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> bytes:
        """The CSV export: each text cell redacted, then defused for spreadsheets."""
        text = self.redactor.text
        return csvexport.to_csv(({k: text(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows),
                                columns)

    def html(self, template: str, placeholder: str, token: str) -> bytes:
        """The page, redacted, with the per-process token put in after redaction."""
        return self.redactor.text(template).replace(placeholder, token).encode("utf-8")
