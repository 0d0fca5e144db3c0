"""`python -m studio`: starts on the port it prints, refuses bad arguments with one line."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys

from helpers import REPO
from studio.__main__ import main
from test_studio_support import fetch


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_python_m_studio_prints_its_address_and_serves_until_interrupted(root):
    proc = subprocess.Popen([sys.executable, "-m", "studio", "--port", "0", "--root", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=str(root))
    try:
        line = proc.stdout.readline().decode()
        m = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\n", line)
        assert m, line
        port = int(m.group(1))
        status, headers, body = fetch(port, "GET", "/api/health")
        assert status == 200 and headers["content-type"].startswith("application/json")
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_a_missing_root_or_a_bad_run_limit_is_refused(tmp_path, capsys):
    assert main(["--root", str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["--root", str(tmp_path), "--max-runs", "0"]) == 2


def test_a_port_in_use_is_refused_with_one_line(root, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["--root", str(root), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1


def test_the_studio_imports_only_the_format_module_from_the_runner_and_only_the_stdlib_otherwise():
    code = ("import sys; import studio.__main__, studio.server; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('runner', 'numpy', 'fal_client', 'elevenlabs', 'googleapiclient', 'dotenv')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(), cwd=str(REPO))
    assert out.stdout.strip() == "['runner', 'runner.store']", out.stderr


def test_a_bad_port_is_one_line_not_a_traceback(root):
    for port, needle in (("99999", "from 0 to 65535"), ("abc", "whole number"), ("-1", "from 0 to 65535")):
        result = subprocess.run([sys.executable, "-m", "studio", "--root", str(root), "--port", port],
                                capture_output=True, text=True, env=_env(), timeout=30)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.stderr
