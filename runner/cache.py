"""Answers to paid requests, kept so the same request is never paid for twice.

Keyed by provider + model + parameters (Call.cache_key). An entry is a folder holding
result.json and copies of the files the call produced; it is written under a temporary
name and renamed into place, so a run killed mid-write leaves no entry that looks whole.
The cache sits under the data root in .cache/paid/, shared by every session: a resumed run,
a retried step, or a new session asking the very same thing all get the stored answer.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


class PaidCache:
    def __init__(self, root: Path):
        self.dir = root / ".cache" / "paid"

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self.dir / key
        try:
            result = json.loads((entry / "result.json").read_text())
        except (OSError, ValueError):
            return None
        files = {}
        for name, rel in (result.get("files") or {}).items():
            path = entry / rel
            if not path.is_file():
                return None
            files[name] = path
        if files:
            result["files"] = files
        return result

    def put(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        """Store result (copying its files); return it with "files" pointing at the cached copies."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=self.dir))
        stored = dict(result)
        rel_files = {}
        for name, src in (result.get("files") or {}).items():
            rel = f"{name}{Path(src).suffix}"
            shutil.copyfile(src, tmp / rel)
            rel_files[name] = rel
        if rel_files:
            stored["files"] = rel_files
        (tmp / "result.json").write_text(json.dumps(stored, default=str, indent=1))
        final = self.dir / key
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return self.get(key) or result
