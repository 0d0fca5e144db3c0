"""Shared test helpers for the runner: a CLI runner and a fake, priced provider set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, root: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """`python -m runner ARGS` in a subprocess, as a person would type it."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_"))}
    full_env["PYTHONPATH"] = str(REPO) + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    argv = [sys.executable, "-m", "runner", *args]
    if root is not None:
        argv += ["--root", str(root)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=str(root if root is not None and root.is_dir() else REPO))


def params(**over: Any) -> dict[str, Any]:
    from runner import store

    raw = {"theme": "rainy night", "minutes": 1, "tracks": 3, "upload": False}
    raw.update(over)
    return store.validate_params(raw)
