"""Redaction at the one door (studio/door.py) and key patterns that run in linear time.

Secrets are planted in every field a session's files allow free text in, in a temp data root;
no answer of any kind (JSON, stream event, CSV cell, HTML page) may carry one, whole or in part.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runner import store
from studio.app import App, Config
from studio.logs import MAX_LINE
from test_studio_support import (ENV, HOME, NOW, SECRET, SSEClient, add_event, add_ledger, body_bytes, call, get_json,
                                 log, make_app, make_session, make_static, serving, sid, wait_for_sweeps)

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-proj-Q7wErTy8uIoP9aSdF0gHjK1lZxCv"       # key-shaped: redacted wherever it appears
KEY_PARTS = (KEY[:10], KEY[-10:])                    # no half of it may show either
PLANTS = (KEY, SECRET, HOME + "/")


def leaked(text: str) -> list[str]:
    return [p for p in (*PLANTS, *KEY_PARTS) if p in text]


def planted_session(root: Path, session_id: str) -> None:
    """A valid session whose every free-text field, file name and spend key carries a secret."""
    s = f"{KEY} {SECRET} {HOME}/x"
    state = make_session(root, session_id, status="failed", steps_done=6, theme="plain theme",
                         title=f"title {KEY}", error=f"render: {s}",
                         youtube={"id": KEY, "url": f"https://www.youtube.com/watch?v={KEY}", "privacy": s})
    state["params"]["theme"] = f"theme {KEY}"
    state["halt"] = {"message": s, "call": s}
    state["cost"]["by_asset"][KEY] = 0.0
    for name, step in state["steps"].items():
        step["note"] = f"note {s}"
        step["error"] = f"{name}: {s}"
        step["outputs"][KEY] = {s: [s, {"file": f"{KEY}.wav"}]}
    state["steps"]["music"]["outputs"]["tracks"][0]["title"] = s
    state["steps"]["music"]["outputs"]["tracks"][0]["file"] = f"tracks/{KEY}.wav"
    state["steps"]["upload"].update(status="running", progress={"label": s, "percent": 10.0})
    state["status"] = "running"
    state["pid"], state["heartbeat_at"] = os.getpid(), store.iso(NOW)
    store.atomic_write_json(store.session_dir(root, session_id) / "state.json", state)
    add_event(root, session_id, 1, f"type {KEY}", s, step=s, ts=NOW, **{KEY: s})
    add_ledger(root, session_id, s, 0.5)
    with open(store.session_dir(root, session_id) / "ledger.jsonl", "a") as fh:
        fh.write(json.dumps({"ts": s, "call_id": "c9", "phase": "estimate", "provider": s, "model": s,
                             "asset": s, "step": s, "label": s, "cache_key": s, "usd": 0.1}) + "\n")
    log(root, f"message {s}", session=session_id)
    path = store.log_path(root)
    with open(path, "a") as fh:   # secrets in the fields the log line format parses out
        fh.write(f"{KEY} INFO  [{KEY}] {KEY[:8].lower()}: m\n")


def test_no_answer_of_any_kind_carries_a_planted_secret(root):
    planted_session(root, sid(1))
    make_session(root, sid(2), title=f"second {KEY}")
    app = make_app(root, now=lambda: NOW)
    paths = ["/api/sessions", "/api/sessions?sort=title", f"/api/sessions?q={KEY[:6]}", "/api/kpis",
             "/api/sessions.json", "/api/sessions.csv", "/api/logs", "/api/logs?q=message", "/api/launcher",
             f"/api/sessions/{sid(1)}", f"/api/sessions/{sid(1)}/events", f"/api/sessions/{sid(1)}/ledger",
             f"/api/sessions/{sid(1)}?progress=1", "/api/config", "/"]
    for path in paths:
        resp = call(app, "GET", path)
        assert resp.status == 200, path
        text = body_bytes(resp).decode("utf-8-sig")
        assert leaked(text) == [], (path, leaked(text))
    d = get_json(app, f"/api/sessions/{sid(1)}")
    assert "[redacted]" in d["title"] and "[redacted]" in d["steps"][0]["note"]
    assert d["youtube"]["url"] is None or KEY not in d["youtube"]["url"]


def test_stream_events_carry_no_planted_secret(root):
    planted_session(root, sid(1))
    app = make_app(root, now=store.utc_now, tick=0.05, heartbeat_s=0.3, stream_poll_s=0.05)
    with serving(app) as (_, port):
        c = SSEClient(port)
        c.wait_for("hello")
        wait_for_sweeps(app)
        state = json.loads((store.session_dir(root, sid(1)) / "state.json").read_text())
        state["heartbeat_at"] = store.iso()
        store.atomic_write_json(store.session_dir(root, sid(1)) / "state.json", state)
        log(root, f"live {KEY} {SECRET}", session=sid(1))
        add_event(root, sid(1), 2, "step_done", f"live {KEY}", step="music", ts=store.utc_now(), secret=KEY)
        seen = [c.wait_for("session"), c.wait_for("log"), c.wait_for("timeline")]
        c.close()
    for ev in seen:
        assert leaked(json.dumps(ev["data"])) == [], ev


def test_a_secret_at_the_cut_of_an_error_shows_no_part_of_itself(root):
    cut = 300
    make_session(root, sid(1), status="failed", error="x" * (cut - 8) + " " + KEY)
    state = make_session(root, sid(2), status="failed", steps_done=2)
    state["steps"]["motion"]["error"] = "y" * 1995 + " " + KEY
    state["steps"]["motion"]["status"] = "failed"
    store.atomic_write_json(store.session_dir(root, sid(2)) / "state.json", state)
    app = make_app(root)
    rows = {r["id"]: r for r in get_json(app, "/api/sessions")["items"]}
    assert len(rows[sid(1)]["error"]) <= cut and "sk-" not in rows[sid(1)]["error"]
    motion = get_json(app, f"/api/sessions/{sid(2)}")["steps"][2]["error"]
    assert "sk-" not in motion and len(motion) <= 2000
    assert "sk-" not in body_bytes(call(app, "GET", "/api/sessions.csv")).decode("utf-8-sig")


@pytest.mark.parametrize("d", [3, 12, 30])
def test_a_key_across_the_cut_of_a_long_log_line_shows_no_half(root, d):
    """A line of 2 * MAX_LINE - 1 bytes is cut at MAX_LINE read forwards and backwards alike;
    the key starts d bytes before that cut."""
    prefix = store.format_log_line("INFO", sid(1), "music", "", NOW).rstrip("\n")
    head = ("word " * MAX_LINE)[: MAX_LINE - d - len(prefix)]
    message = head + KEY + ("-word" * MAX_LINE)[: 2 * MAX_LINE - 1 - len(prefix) - len(head) - len(KEY)]
    log(root, message, session=sid(1))
    log(root, "after")
    app = make_app(root)
    for direction in ("before", "after"):
        lines, cursor = [], None
        while True:   # every page, backwards from the end or forwards from the start
            page = get_json(app, "/api/logs" + (f"?before={cursor}" if direction == "before" and cursor is not None
                                                else f"?after={cursor or 0}" if direction == "after" else ""))
            lines += page["lines"]
            if direction == "before" and not page["has_more_before"]:
                break
            if direction == "after" and not page["has_more_after"]:
                break
            cursor = page["start"] if direction == "before" else page["end"]
        text = json.dumps(lines)
        assert sum(l["partial"] for l in lines) == 2 and "after" in [l["message"] for l in lines]
        assert leaked(text) == [] and "sk-" not in text, direction


def test_search_answers_only_for_what_is_shown(root):
    make_session(root, sid(1), title=f"title {KEY}")
    log(root, f"log {KEY}", session=sid(1))
    app = make_app(root)
    for q in (KEY[:8], KEY[:4], KEY[-6:].lower(), "q7wer"):
        assert get_json(app, f"/api/sessions?q={q}")["total"] == 0, q
        assert get_json(app, f"/api/logs?q={q}")["lines"] == [], q
    assert get_json(app, "/api/sessions?q=[redacted]")["total"] == 1
    assert len(get_json(app, "/api/logs?q=[redacted]")["lines"]) == 1


def test_the_page_is_redacted_but_its_token_is_not(root, tmp_path):
    static = make_static(tmp_path / "static")
    (static / "index.html").write_text(f'<meta name="studio-token" content="{{{{studio_token}}}}"><p>{KEY} '
                                       f'{HOME}/x</p>\n')
    app = App(Config(root=root, static_dir=static, quick_interval=0, full_interval=0), env=ENV, home=HOME)
    app.bind("127.0.0.1", 8765)
    # The real token is key-shaped (43 random URL-safe characters); the door passes it on.
    html = body_bytes(call(app, "GET", "/")).decode()
    assert f'content="{app.token}"' in html and leaked(html) == []
    assert get_json(app, "/api/config")["token"] == app.token


# ------------------------------------------------------------------ linear time, at 4 MiB

STALL_CHECK = textwrap.dedent('''
    import json, sys, time
    from runner import store
    from studio.csvexport import neutralise
    from studio.redact import Redactor
    r = Redactor(env={"FAL_KEY": "fal-secret-Zq8Xv1Lm3Np5Rt7"}, home="/home/porsuk")
    n = 4 * 1024 * 1024
    def clock(fn, text):
        t = time.perf_counter(); fn(text); return time.perf_counter() - t
    benign = ("lorem ipsum dolor sit amet " * (n // 27 + 1))[:n]
    base = max(clock(r.text, benign), clock(store.parse_log_line, benign), 0.01)
    cases = {"eyJ": "eyJ", "sk-": "sk-", "ya29.": "ya29.", "1//": "1//", "aA1": "aA1", "key: ": "key: ",
             "token=": "token=", "Bearer ": "Bearer ", "api_key = x ": "api_key = x ", ".eyJa": ".eyJa",
             "uuid:": "00000000-0000-0000-0000-000000000000:", "ghp_": "ghp_", "AKIA": "AKIA", "a": "a"}
    out = {}
    for name, unit in cases.items():
        text = (unit * (n // len(unit) + 1))[:n]
        out[name] = clock(r.text, text) / base
    out["key+spaces"] = clock(r.text, "key" + " " * n + "x") / base
    out["log line"] = clock(store.parse_log_line, "2026 INFO  [" + "a" * n) / base
    out["csv number"] = clock(neutralise, "-" + "1" * n + "x") / base
    print(json.dumps(out))
''')


def test_every_key_pattern_is_linear_at_4_mib():
    """Quadratic patterns take minutes to hours on these inputs, linear ones a second or two.

    Measured in a child process so that a pattern that backtracks is killed (the timeout is
    a stall detector, 20 times what the linear code needs on a busy 2-core machine); each
    input is then compared with plain text of the same size, measured in the same process.
    """
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run([sys.executable, "-c", STALL_CHECK], capture_output=True, text=True, env=env,
                              timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("a key pattern did not finish on 4 MiB of input: it backtracks")
    assert done.returncode == 0, done.stderr
    ratios = json.loads(done.stdout)
    slow = {k: round(v, 1) for k, v in ratios.items() if v > 40}
    assert slow == {}, f"times plain text of the same size: {slow}"


def test_a_huge_title_and_a_huge_log_line_answer(root):
    """Through the app: a 4 MiB title of JWT starts and a 4 MiB log line (in a child process)."""
    state = make_session(root, sid(1))
    state["title"] = ("eyJ" * (4 * 1024 * 1024 // 3))
    store.atomic_write_json(store.session_dir(root, sid(1)) / "state.json", state)
    path = store.log_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("eyJ" * (4 * 1024 * 1024 // 3) + "\n" + "key: " * (800 * 1024) + "\n")
    script = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(REPO / "tests")!r})
        from pathlib import Path
        from test_studio_support import get_json, make_app
        app = make_app(Path({str(root)!r}))
        assert get_json(app, "/api/sessions?q=zzz")["total"] == 0
        assert get_json(app, "/api/sessions?q=eyjeyj&sort=title")["total"] == 1
        assert get_json(app, "/api/logs?q=zzz")["lines"] == []
        page = get_json(app, "/api/logs?limit=10")
        assert page["lines"] and page["has_more_before"]
        print("ok")
    ''')
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("the session list or the log search stalled on a 4 MiB title or log line")
    assert done.stdout.strip() == "ok", done.stderr


def test_rows_the_door_keeps_encoded_are_never_stale(root):
    state = make_session(root, sid(1), title="first title")
    app = make_app(root)
    assert get_json(app, "/api/sessions")["items"][0]["title"] == "first title"
    state["title"] = f"second title {KEY}"
    store.atomic_write_json(store.session_dir(root, sid(1)) / "state.json", state)
    assert get_json(app, "/api/sessions")["items"][0]["title"] == "second title [redacted]"
    assert get_json(app, "/api/sessions.json")["items"][0]["title"] == "second title [redacted]"
