"""The README's series example, run as written (keyless), in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from helpers import REPO

from runner import store


def _example() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## A channel: series plans", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, flags=re.S).group(1)


@pytest.mark.slow
def test_the_readme_series_example_runs_keyless_end_to_end(tmp_path):
    script = _example()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_", "STUDIO_"))}
    env["PYTHONPATH"] = str(REPO)
    out = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "series 'night desk' (night-desk): 7 entries" in text and "20:00 CET" in text
    made = re.findall(r"^  (\S+)\s+made\s", text, flags=re.M)
    assert len(made) == 1 and made[0].endswith("-rainy-night") and "nothing due" in text
    [sid] = store.list_session_ids(tmp_path)
    state = store.read_state(tmp_path, sid)
    assert state["status"] == "completed" and state["series"]["id"] == "night-desk"
    assert state["steps"]["upload"]["status"] == "skipped"
    assert "1 session(s)" in text and "on disk" in text and "would free" in text
