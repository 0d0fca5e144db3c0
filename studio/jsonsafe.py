"""Parsing JSON that may be hostile: request bodies, and every file read from the data root.

json.loads alone accepts NaN and Infinity (which then break any strict encoder), and raises
RecursionError, not ValueError, on deep nesting (3,000 levels of "[" are a few kilobytes).
Every parse of untrusted bytes in the studio goes through `loads`, so a bad file or body
is one clear reason, never an exception that escapes a route.
"""

from __future__ import annotations

import json
from typing import Any

# Deeper than any state, event, ledger line or body the runner or the page writes (about 6).
MAX_DEPTH = 32


class BadJSON(ValueError):
    """The bytes are not JSON the studio accepts; the message says why, in a few words."""


def _no_constants(name: str) -> Any:
    raise BadJSON(f"{name} is not a number JSON allows")


def loads(data: bytes | str, max_depth: int | None = None) -> Any:
    """The parsed value; BadJSON for invalid UTF-8 or JSON, NaN/Infinity, or nesting deeper
    than max_depth (None: only what the parser survives; check depth where values are walked).
    """
    try:
        value = json.loads(data, parse_constant=_no_constants)
    except BadJSON:
        raise
    except RecursionError:
        raise BadJSON("nested too deeply") from None
    except ValueError as exc:   # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadJSON("not valid JSON" if isinstance(exc, json.JSONDecodeError) else "not UTF-8") from None
    if max_depth is not None and not within_depth(value, max_depth):
        raise BadJSON(f"nested deeper than {max_depth} levels")
    return value


def within_depth(value: Any, max_depth: int) -> bool:
    """Whether no list or object in value lies deeper than max_depth (a scalar is depth 0).

    Iterative, so the check itself cannot overflow the stack it protects.
    """
    todo: list[tuple[Any, int]] = [(value, 0)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        if d >= max_depth:
            return False
        todo.extend((c, d + 1) for c in v if isinstance(c, (dict, list)))
    return True
