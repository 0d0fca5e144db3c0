"""POST /api/launch, approve, resume and GET /api/estimate, with a fake runner and a real one."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO
from runner import store
from test_studio_support import (call, fake_env, fake_runner, fetch, make_app, make_session, serving, sid)


def launcher_app(root: Path, tmp_path: Path, *, mode: str | None = None, seconds: str = "0.3", **options):
    script = fake_runner(tmp_path)
    env = fake_env(tmp_path, REPO, FAKE_SECONDS=seconds, **({"FAKE_MODE": mode} if mode else {}))
    lo = {"env": env, "first_line_timeout": 10.0, "action_wait": 0.5, **options.pop("launcher_options", {})}
    app = make_app(root, tmp_path, command=lambda: [sys.executable, str(script)], launcher_options=lo, **options)
    return app


def calls(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fake_runner.calls"
    return [json.loads(l) for l in path.read_text().splitlines()] if path.exists() else []


def launch(app, **body):
    return call(app, "POST", "/api/launch", body={"theme": "rainy night", "minutes": 0.4, "tracks": 2,
                                                  "upload": False, **body}, write=True)


def wait_gone(app, timeout=10):
    deadline = time.monotonic() + timeout
    while app.launcher.children() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_launch_spawns_the_runner_and_returns_the_new_session_id(root, tmp_path):
    app = launcher_app(root, tmp_path)
    resp = launch(app, review=True, season="winter", cap=1.5)
    assert resp.status == 202, resp.body
    body = resp.json()
    assert store.is_session_id(body["id"]) and body["id"].endswith("-rainy-night")
    assert body["url"] == f"/api/sessions/{body['id']}"
    assert store.read_state(root, body["id"]) is not None
    argv = calls(tmp_path)[0]
    assert argv == ["run", "--theme=rainy night", "--season=winter", "--atmosphere=rain", "--minutes=0.4",
                    "--tracks=2", "--cap=1.5", "--provider=local", "--privacy=private", "--no-upload", "--review",
                    f"--root={root}"]
    # Detached: its own session, so a Ctrl-C in the studio's terminal does not reach it.
    assert os.getsid(body["pid"]) == body["pid"]
    wait_gone(app)


def test_a_theme_that_looks_like_an_option_or_shell_stays_one_argument(root, tmp_path):
    app = launcher_app(root, tmp_path)
    theme = "--root=/etc; rm -rf ~ $(id) `x`"
    assert launch(app, theme=theme).status == 202
    argv = calls(tmp_path)[0]
    assert argv[1] == f"--theme={theme}" and argv[-1] == f"--root={root}"
    wait_gone(app)


@pytest.mark.parametrize("body,field", [
    ({"theme": ""}, "theme"), ({"theme": "x" * 81}, "theme"), ({"season": "monsoon"}, "season"),
    ({"minutes": 0}, "minutes"), ({"minutes": "lots"}, "minutes"), ({"tracks": 2.5}, "tracks"),
    ({"cap": -1}, "cap"), ({"provider": "openai"}, "provider"), ({"privacy": "secret"}, "privacy"),
    ({"review": "yes"}, "review"), ({"theme": "a <b>"}, "theme"), ({"colour": "red"}, None),
])
def test_launch_refuses_what_the_runner_refuses_with_the_same_words(root, tmp_path, body, field):
    app = launcher_app(root, tmp_path)
    resp = launch(app, **body)
    assert resp.status == 400
    raw = {"theme": "rainy night", "minutes": 0.4, "tracks": 2, "upload": False, **body}
    with pytest.raises(store.InvalidParams) as exc:
        store.validate_params(raw)
    assert resp.json()["error"] == str(exc.value)
    assert resp.json()["reason"] == "invalid" and resp.json()["field"] == field
    assert calls(tmp_path) == []


def test_a_body_that_is_not_a_json_object_is_refused(root, tmp_path):
    app = launcher_app(root, tmp_path)
    assert call(app, "POST", "/api/launch", body=b"[1]", write=True).status == 400
    assert call(app, "POST", "/api/launch", body=b"{nope", write=True).status == 400


def test_one_launched_run_at_a_time_and_the_refusal_says_why(root, tmp_path):
    app = launcher_app(root, tmp_path, seconds="3")
    first = launch(app).json()["id"]
    second = launch(app, theme="another")
    assert second.status == 409
    body = second.json()
    assert body["reason"] == "busy" and first in body["error"] and "at most 1" in body["error"]
    assert body["busy"] == [first]
    assert call(app, "GET", "/api/launcher").json()["busy"] == [first]
    for child in app.launcher.children():
        child.proc.terminate()
        child.proc.wait()
    # The runner left its state "running" with a dead pid: that reads as interrupted, not busy.
    assert launch(app, theme="third").status == 202
    for child in app.launcher.children():
        child.proc.terminate()
        child.proc.wait()


def test_the_run_limit_is_configurable(root, tmp_path):
    app = launcher_app(root, tmp_path, seconds="3", max_runs=2)
    assert launch(app).status == 202
    assert launch(app, theme="second").status == 202   # another theme, another id in the same second
    assert launch(app, theme="third").status == 409
    for child in app.launcher.children():
        child.proc.terminate()
        child.proc.wait()


def test_a_run_started_elsewhere_counts_against_the_limit(root, tmp_path):
    make_session(root, sid(1), status="running", steps_done=2, pid=os.getpid(),
                 heartbeat=store.utc_now())
    app = launcher_app(root, tmp_path, now=store.utc_now)
    resp = launch(app)
    assert resp.status == 409 and sid(1) in resp.json()["error"]


def test_a_runner_that_crashes_is_reported_with_its_last_words(root, tmp_path):
    app = launcher_app(root, tmp_path, mode="crash")
    resp = launch(app)
    assert resp.status == 502
    body = resp.json()
    assert body["reason"] == "runner_failed"
    assert body["error"] == "the runner exited with code 1: RuntimeError: ffmpeg not found"
    assert "Traceback" in body["detail"]


def test_a_runner_that_never_reports_an_id_times_out(root, tmp_path):
    app = launcher_app(root, tmp_path, mode="silent", launcher_options={"first_line_timeout": 0.3})
    resp = launch(app)
    assert resp.status == 502 and "did not report a session id within 0.3 s" in resp.json()["error"]
    for child in app.launcher.children():
        child.proc.kill()
        child.proc.wait()


def test_the_launcher_can_be_switched_off(root, tmp_path):
    app = launcher_app(root, tmp_path, launcher=False)
    resp = launch(app)
    assert resp.status == 403 and resp.json()["reason"] == "disabled"
    assert call(app, "GET", "/api/config").json()["launcher"]["enabled"] is False


def test_approve_only_a_session_awaiting_review_and_pass_the_privacy(root, tmp_path):
    make_session(root, sid(1), status="awaiting_review", steps_done=6)
    make_session(root, sid(2), status="completed")
    app = launcher_app(root, tmp_path)
    resp = call(app, "POST", f"/api/sessions/{sid(1)}/approve", body={"privacy": "unlisted"}, write=True)
    assert resp.status == 202, resp.body
    assert resp.json()["id"] == sid(1) and resp.json()["action"] == "approve"
    assert calls(tmp_path)[0] == ["approve", sid(1), "--privacy=unlisted", f"--root={root}"]
    wrong = call(app, "POST", f"/api/sessions/{sid(2)}/approve", body={}, write=True)
    assert wrong.status == 409 and "completed" in wrong.json()["error"]
    bad = call(app, "POST", f"/api/sessions/{sid(1)}/approve", body={"privacy": "everyone"}, write=True)
    assert bad.status == 400 and bad.json()["field"] == "privacy"
    assert call(app, "POST", f"/api/sessions/{sid(9)}/approve", body={}, write=True).status == 404
    wait_gone(app)


def test_resume_an_interrupted_or_halted_session_optionally_with_a_higher_cap(root, tmp_path):
    make_session(root, sid(1), status="halted_budget", steps_done=2)
    make_session(root, sid(2), status="completed")
    make_session(root, sid(3), status="running", steps_done=2, pid=999_999_999)   # its runner died
    app = launcher_app(root, tmp_path)
    resp = call(app, "POST", f"/api/sessions/{sid(1)}/resume", body={"cap": 5}, write=True)
    assert resp.status == 202 and resp.json()["action"] == "resume"
    assert calls(tmp_path)[0] == ["resume", sid(1), "--cap=5", f"--root={root}"]
    wait_gone(app)
    assert call(app, "POST", f"/api/sessions/{sid(3)}/resume", body={}, write=True).status == 202
    wait_gone(app)
    wrong = call(app, "POST", f"/api/sessions/{sid(2)}/resume", body={}, write=True)
    assert wrong.status == 409 and wrong.json()["session_status"] == "completed"
    assert call(app, "POST", f"/api/sessions/{sid(1)}/resume", body={"cap": "lots"}, write=True).status == 400


def test_a_resume_the_runner_refuses_says_why(root, tmp_path):
    make_session(root, sid(1), status="failed", steps_done=2)
    app = launcher_app(root, tmp_path, mode="refuse", launcher_options={"action_wait": 5.0})
    resp = call(app, "POST", f"/api/sessions/{sid(1)}/resume", body={}, write=True)
    assert resp.status == 502
    assert resp.json()["error"] == f"the runner exited with code 2: error: session {sid(1)} cannot be resumed"


def test_estimate_asks_the_runner_and_passes_its_answer_through(root, tmp_path):
    app = launcher_app(root, tmp_path)
    headers = {"X-Studio-Token": app.token}
    resp = call(app, "GET", "/api/estimate?theme=x&minutes=30&tracks=4&upload=false", headers=headers)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert body["estimate"]["total_usd"] == 0.0 and body["estimate"]["over_cap"] is False
    assert body["params"]["minutes"] == 30.0 and body["params"]["upload"] is False
    assert calls(tmp_path)[0][:1] == ["estimate"] and "--json" in calls(tmp_path)[0]
    # Over the cap the runner exits 1, but its JSON is still the answer.
    over = call(app, "GET", "/api/estimate?provider=fal&cap=0.1", headers=headers).json()
    assert over["estimate"]["over_cap"] is True
    # A repeat is answered from a short cache.
    call(app, "GET", "/api/estimate?theme=y&minutes=30&tracks=4&upload=false", headers=headers)
    assert len(calls(tmp_path)) == 2
    bad = call(app, "GET", "/api/estimate?tracks=99", headers=headers)
    assert bad.status == 400 and bad.json()["field"] == "tracks"
    assert call(app, "GET", "/api/estimate?review=maybe", headers=headers).status == 400


def test_the_launcher_works_over_a_real_socket(root, tmp_path):
    app = launcher_app(root, tmp_path)
    with serving(app) as (_, port):
        origin = f"http://127.0.0.1:{port}"
        status, _, body = fetch(port, "POST", "/api/launch", body=b'{"theme": "socket run", "upload": false}',
                                headers={"Origin": origin, "Content-Type": "application/json",
                                         "X-Studio-Token": app.token, "Sec-Fetch-Site": "same-origin"})
        assert status == 202 and json.loads(body)["id"].endswith("-socket-run")
    wait_gone(app)


REAL_RUNNER = importlib.util.find_spec("runner.providers.local") is not None


@pytest.mark.skipif(not REAL_RUNNER, reason="the local media engine (runner.providers.local) has not landed yet")
def test_the_launcher_spawns_a_short_real_local_run_to_completion(root):
    """The real `python -m runner run` through the studio, on a real socket, to the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "ELEVENLABS_", "YOUTUBE_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    app = make_app(root, launcher_options={"env": env, "first_line_timeout": 60.0}, now=store.utc_now)
    with serving(app) as (_, port):
        h = {"Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json", "X-Studio-Token": app.token}
        status, _, body = fetch(port, "POST", "/api/launch", headers=h, body=json.dumps(
            {"theme": "studio real run", "minutes": 0.4, "tracks": 2, "upload": False}).encode())
        assert status == 202, body
        session_id = json.loads(body)["id"]
        deadline = time.monotonic() + 120
        detail = {}
        while time.monotonic() < deadline:
            detail = json.loads(fetch(port, "GET", f"/api/sessions/{session_id}")[2])
            if detail.get("status") in store.FINAL_STATUSES:
                break
            time.sleep(0.5)
        assert detail["status"] == "completed", detail.get("error")
        final = detail["media"]["final"]
        assert final["exists"]
        status, headers, part = fetch(port, "GET", final["url"], headers={"Range": "bytes=0-99"})
        assert status == 206 and len(part) == 100
        assert [s["status"] for s in detail["steps"]][-1] == "skipped"
