"""Bad input gets one clear line on stderr, a non-zero exit, no traceback and no session folder.

The refusals are checked by calling `cli.main(argv)` in this process (what the console script
does), with the environment and working directory set per test; two smoke tests at the end
run `python -m runner` as a person would, to prove the same holds through a real process.
"""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import run_cli

from runner import cli


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def main(monkeypatch):
    """cli.main in-process: env scrubbed of provider keys as run_cli does, cwd the data root."""

    def call(*args: str, root: Path | None = None, env: dict[str, str] | None = None) -> Result:
        for name in list(os.environ):
            if name.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_")):
                monkeypatch.delenv(name)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        if root is not None and root.is_dir():
            monkeypatch.chdir(root)
        argv = [*args] + (["--root", str(root)] if root is not None else [])
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = cli.main(argv)
            except SystemExit as exc:  # argparse's usage errors and --help end this way
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        return Result(code, out.getvalue(), err.getvalue())

    return call


def _assert_refused(result, *needles: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def _no_sessions(root: Path) -> None:
    assert [p.name for p in (root / "sessions").iterdir()] == []


@pytest.mark.parametrize("extra,needle", [
    (["--theme", ""], "theme must not be empty"),
    (["--theme", "   "], "theme must not be empty"),
    (["--theme", "x" * 81], "81 characters; the limit is 80"),
    (["--theme", "rainy\x07night"], "control characters"),
    (["--theme", "rainy\nnight"], "control characters"),
    (["--theme", "rainy\u2028night"], "line or paragraph separators (U+2028)"),
    (["--theme", "rainy\u2029night"], "line or paragraph separators (U+2029)"),
    (["--theme", "rainy\u202enight"], "bidirectional control characters (U+202E)"),
    (["--theme", "rainy\udcffnight"], "unpaired surrogates (U+DCFF"),
    (["--theme", "ok", "--season", "fall"], "unknown season 'fall'"),
    (["--theme", "ok", "--atmosphere", "ocean"], "unknown atmosphere 'ocean'"),
    (["--theme", "ok", "--minutes", "0"], "minutes must be more than 0"),
    (["--theme", "ok", "--minutes", "-5"], "minutes must be more than 0"),
    (["--theme", "ok", "--minutes", "721"], "at most 720"),
    (["--theme", "ok", "--minutes", "1e-9"], "a video of at least 1 s"),   # failed in music, after paying
    (["--theme", "ok", "--minutes", "0.01"], "a video of at least 1 s"),   # 0.6 s: "[1 sec]" would be false
    (["--theme", "ok", "--minutes", "an hour"], "minutes must be a number"),
    (["--theme", "ok", "--tracks", "0"], "tracks must be a whole number from 1 to 30"),
    (["--theme", "ok", "--tracks", "31"], "tracks must be a whole number from 1 to 30"),
    (["--theme", "ok", "--tracks", "2.5"], "tracks must be a whole number"),
    (["--theme", "ok", "--cap", "0"], "cap must be more than 0"),
    (["--theme", "ok", "--cap", "-1"], "cap must be more than 0"),
    (["--theme", "ok", "--provider", "openai"], "unknown provider"),
    (["--theme", "ok", "--privacy", "secret"], "unknown privacy"),
    (["--season", "autumn"], "--theme"),
])
def test_run_refuses_bad_parameters(main, root, extra, needle):
    result = main("run", *extra, root=root)
    _assert_refused(result, needle)
    assert result.returncode == 2
    _no_sessions(root)


@pytest.mark.parametrize("command", ["resume", "show", "approve"])
@pytest.mark.parametrize("sid", ["20261121-031500-nothing-here", "../../etc", "not an id"])
def test_an_unknown_session_id_is_one_line(main, root, command, sid):
    _assert_refused(main(command, sid, root=root), "no session")


def test_a_root_that_cannot_be_written_is_refused(main, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = main("run", "--theme", "ok", "--no-upload", root=blocker / "data")
    _assert_refused(result, "cannot write to data root")
    assert blocker.read_text() == "not a folder"


def test_missing_ffmpeg_says_how_to_get_it(main, root):
    result = main("run", "--theme", "ok", root=root, env={"FFMPEG": str(root / "no-such-ffmpeg")})
    _assert_refused(result, "apt-get install ffmpeg", "pip install imageio-ffmpeg")
    _no_sessions(root)


def test_a_paid_run_without_its_key_is_refused_before_a_session_exists(main, root):
    result = main("run", "--theme", "ok", "--provider", "fal", root=root, env={"FAL_KEY": ""})
    _assert_refused(result, "--provider fal needs FAL_KEY")
    _no_sessions(root)


def test_estimate_exits_non_zero_over_the_cap(main, root):
    result = main("estimate", "--theme", "ok", "--provider", "fal", "--cap", "0.50", root=root)
    assert result.returncode == 1
    assert "OVER THE CAP" in result.stdout
    ok = main("estimate", "--theme", "ok", "--provider", "fal", root=root)
    assert ok.returncode == 0 and "$1.265 of $2.00 cap" in ok.stdout  # an hour: 24 tracks with --tracks auto


def test_every_subcommand_has_help(main):
    for command in ["run", "resume", "list", "show", "estimate", "approve", "monitor", "auth"]:
        result = main(command, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, command


# -- through a real process: the console entry point, stderr and the exit status as a shell sees them

def test_a_theme_that_is_not_utf8_through_python_m_runner_is_one_line_and_exit_2(root):
    # Bytes from a Latin-1 terminal reach Python as lone surrogates (surrogateescape).
    result = run_cli("run", "--theme", "caf\udce9 night", root=root)
    _assert_refused(result, "unpaired surrogates (U+DCE9")
    assert result.returncode == 2
    _no_sessions(root)


def test_an_unknown_session_through_python_m_runner_is_one_line(root):
    result = run_cli("resume", "../../etc", root=root)
    _assert_refused(result, "no session")
    assert result.returncode == 2
