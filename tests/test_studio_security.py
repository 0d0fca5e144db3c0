"""Each attack on the studio, as a test that fails if its defence is removed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runner import store
from studio.security import CSP
from test_studio_support import (ENV, HOME, HOST, ORIGIN, SECRET, body_bytes, call, fetch, get_json, log,
                                 make_app, make_session, serving, sid)

WRITES = [f"/api/launch", f"/api/sessions/{sid(1)}/approve", f"/api/sessions/{sid(1)}/resume"]


# ------------------------------------------------------------------ DNS rebinding

@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1.evil.example:8765", "127.0.0.1:9999",
                                  "localhost", "", "127.0.0.1:8765.evil"])
def test_a_foreign_host_header_is_refused_everywhere(root, host):
    app = make_app(root)
    for path in ("/", "/api/sessions", "/api/config", f"/media/{sid(1)}/artwork.png", "/app.js"):
        resp = call(app, "GET", path, headers={"Host": host})
        assert resp.status == 403, (host, path)
        assert b"t0ken" not in body_bytes(resp)


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "LOCALHOST:8765"])
def test_our_own_host_names_are_accepted(root, host):
    assert call(make_app(root), "GET", "/api/health", headers={"Host": host}).status == 200


def test_a_foreign_host_is_refused_on_a_real_socket(root):
    app = make_app(root)
    with serving(app) as (_, port):
        status, _, body = fetch(port, "GET", "/api/config", headers={"Host": f"attacker.example:{port}"})
        assert status == 403 and app.token.encode() not in body
        assert fetch(port, "GET", "/api/config")[0] == 200


# ------------------------------------------------------------------ cross-origin writes

@pytest.mark.parametrize("path", WRITES)
def test_a_cross_origin_post_is_refused(root, path):
    make_session(root, sid(1), status="interrupted")
    app = make_app(root, launcher_options={"first_line_timeout": 0.1})
    for headers in ({"Origin": "http://evil.example"},
                    {"Origin": "http://127.0.0.1:9999"},
                    {"Origin": "null"},
                    {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},
                    {"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"},
                    {"Origin": ""}):
        resp = call(app, "POST", path, body={"theme": "x"}, write=True, headers=headers)
        assert resp.status == 403, headers
        assert "cross" in resp.json()["error"]
    assert app.launcher.children() == []


@pytest.mark.parametrize("path", WRITES)
def test_a_write_without_the_token_is_refused(root, path):
    make_session(root, sid(1), status="interrupted")
    app = make_app(root)
    for token in ("", "wrong", app.token + "x"):
        resp = call(app, "POST", path, body={"theme": "x"}, write=True, headers={"X-Studio-Token": token})
        assert resp.status == 403 and "token" in resp.json()["error"]
    assert app.launcher.children() == []


def test_a_write_that_a_form_could_send_is_refused(root):
    app = make_app(root)
    for ctype in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""):
        resp = call(app, "POST", "/api/launch", body=b"theme=x", write=True, headers={"Content-Type": ctype})
        assert resp.status == 415, ctype


def test_cross_site_reads_of_the_api_are_refused(root):
    app = make_app(root)
    for site in ("cross-site", "same-site"):
        assert call(app, "GET", "/api/sessions", headers={"Sec-Fetch-Site": site}).status == 403
    assert call(app, "GET", "/api/sessions", headers={"Sec-Fetch-Site": "same-origin"}).status == 200
    assert call(app, "GET", "/api/sessions.csv", headers={"Sec-Fetch-Site": "none"}).status == 200


def test_the_estimate_needs_the_token_because_it_starts_a_process(root):
    app = make_app(root)
    assert call(app, "GET", "/api/estimate?theme=x").status == 403


def test_a_cross_origin_post_is_refused_on_a_real_socket(root):
    app = make_app(root)
    with serving(app) as (_, port):
        status, _, body = fetch(port, "POST", "/api/launch", body=b'{"theme": "x"}', headers={
            "Origin": "http://evil.example", "Content-Type": "application/json", "X-Studio-Token": app.token})
        assert status == 403
        status, _, _ = fetch(port, "POST", "/api/launch", body=b"x" * 70_000, headers={
            "Origin": f"http://127.0.0.1:{port}", "Content-Type": "application/json", "X-Studio-Token": app.token})
        assert status == 413


def test_other_methods_are_not_allowed(root):
    app = make_app(root)
    for method in ("PUT", "DELETE", "PATCH", "OPTIONS"):
        assert call(app, method, "/api/sessions").status == 405
    assert call(app, "POST", "/api/sessions", write=True).status == 405
    assert call(app, "POST", "/index.html", write=True).status == 405


# ------------------------------------------------------------------ files

def _media_folder(root: Path) -> Path:
    make_session(root, sid(1))
    folder = store.session_dir(root, sid(1))
    (folder / "artwork.png").write_bytes(b"PNG")
    return folder


@pytest.mark.parametrize("path", [
    "/media/{id}/../../.env", "/media/{id}/%2e%2e/%2e%2e/.env", "/media/{id}/%2E%2E%2F%2E%2E%2F.env",
    "/media/{id}/..%2f..%2fsecret.png", "/media/{id}/%252e%252e/%252e%252e/.env", "/media/{id}/tracks/../../x.png",
    "/media/..%2f..%2f/artwork.png", "/media/{id}/.%2e/.%2e/escape.png", "/media/{id}/%00artwork.png",
    "/%2e%2e/.env", "/js/%2e%2e/%2e%2e/.env", "/css/..%2f..%2f.env", "/static/../.env", "/..%2f.env",
])
def test_traversal_with_encoded_dots_is_refused(root, path):
    _media_folder(root)
    (root / ".env").write_text(f"FAL_KEY={SECRET}\n")
    (root / "sessions" / "secret.png").write_bytes(b"outside")
    (root / "escape.png").write_bytes(b"outside")
    (root / "x.png").write_bytes(b"outside")
    app = make_app(root)
    resp = call(app, "GET", path.format(id=sid(1)))
    assert resp.status == 404, path
    assert SECRET.encode() not in body_bytes(resp) and b"outside" not in body_bytes(resp)


def test_traversal_is_refused_on_a_real_socket(root):
    _media_folder(root)
    (root / ".env").write_text(f"FAL_KEY={SECRET}\n")
    app = make_app(root)
    with serving(app) as (_, port):
        for path in (f"/media/{sid(1)}/%2e%2e/%2e%2e/.env", "/%2e%2e/%2e%2e/.env", "/../.env"):
            status, _, body = fetch(port, "GET", path)
            assert status == 404 and SECRET.encode() not in body, path
        assert fetch(port, "GET", f"/media/{sid(1)}/artwork.png")[0] == 200


def test_a_symlink_leaving_the_session_folder_is_refused(root, tmp_path):
    folder = _media_folder(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.png").write_bytes(b"outside")
    os.symlink(outside / "stolen.png", folder / "cover.png")
    os.symlink(outside, folder / "tracks")
    (folder / "inside.png").write_bytes(b"ok")
    # No link is followed at all, even one that stays inside: it could be swapped for one
    # that does not between a check and a read.
    os.symlink(folder / "inside.png", folder / "alias.png")
    app = make_app(root)
    assert call(app, "GET", f"/media/{sid(1)}/cover.png").status == 404
    assert call(app, "GET", f"/media/{sid(1)}/tracks/stolen.png").status == 404
    assert call(app, "GET", f"/media/{sid(1)}/alias.png").status == 404
    assert body_bytes(call(app, "GET", f"/media/{sid(1)}/inside.png")) == b"ok"


def test_a_session_folder_that_is_a_symlink_elsewhere_is_refused(root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "artwork.png").write_bytes(b"outside")
    os.symlink(elsewhere, store.session_dir(root, sid(2)))
    assert call(make_app(root), "GET", f"/media/{sid(2)}/artwork.png").status == 404


def test_a_symlink_in_static_leaving_it_is_refused(root, tmp_path):
    app = make_app(root, tmp_path)
    static = app.config.static_dir
    (tmp_path / "secret.js").write_text("leak()")
    os.symlink(tmp_path / "secret.js", static / "js" / "leak.js")
    assert call(app, "GET", "/js/leak.js").status == 404
    assert call(app, "GET", "/js/views.js").status == 200


@pytest.mark.parametrize("name", [".env", "env.png", ".env.png", "client_secret.png", "token.png",
                                  "youtube-token.mp4", "client_secrets.json"])
def test_secret_files_are_never_served_even_with_a_media_name(root, name):
    folder = _media_folder(root)
    (folder / name).write_bytes(SECRET.encode())
    resp = call(make_app(root), "GET", f"/media/{sid(1)}/{name}")
    if name == "env.png":
        assert resp.status == 200      # only names that look like secrets are refused
    else:
        assert resp.status == 404 and SECRET.encode() not in body_bytes(resp)


@pytest.mark.parametrize("path", ["/.env", "/static/.env", "/js/.env", "/.env.js", "/js/token.js",
                                  "/client_secret.json", "/css/secret.css"])
def test_a_request_for_env_or_secrets_in_static_is_refused(root, tmp_path, path):
    app = make_app(root, tmp_path)
    static = app.config.static_dir
    for name in (".env", "js/.env", ".env.js", "js/token.js", "client_secret.json", "css/secret.css"):
        (static / name).write_text(f"FAL_KEY={SECRET}")
    resp = call(app, "GET", path)
    assert resp.status == 404 and SECRET.encode() not in body_bytes(resp)


def test_only_allowlisted_static_files_are_served_and_there_are_no_listings(root, tmp_path):
    app = make_app(root, tmp_path)
    static = app.config.static_dir
    (static / "notes.txt").write_text("private notes")
    (static / "app.py").write_text("print()")
    for path in ("/js/", "/css/", "/js", "/notes.txt", "/app.py", "/static/", "/static/app.js",
                 "/logs/runner.log", "/sessions/x/state.json", f"/media/{sid(1)}/", f"/media/{sid(1)}/state.json"):
        assert call(app, "GET", path).status == 404, path
    assert call(app, "GET", "/app.js").header("Content-Type") == "text/javascript; charset=utf-8"
    assert call(app, "GET", "/css/studio.css").header("Content-Type") == "text/css; charset=utf-8"


def test_state_and_logs_are_not_served_as_media(root):
    folder = _media_folder(root)
    for name in ("state.json", "events.jsonl", "ledger.jsonl", ".lock"):
        assert call(make_app(root), "GET", f"/media/{sid(1)}/{name}").status == 404, name
    assert (folder / "state.json").exists()


# ------------------------------------------------------------------ redaction

def test_secrets_and_the_home_path_planted_in_logs_are_redacted(root):
    s = sid(1)
    log(root, f"calling fal with FAL_KEY={SECRET}", session=s)
    log(root, f"Authorization: Key 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:{'ab12' * 8}", session=s)
    log(root, f"wrote {HOME}/badger/sessions/{s}/final.mp4", session=s)
    log(root, "token ghp_" + "A1b2C3d4" * 5 + " and sk-proj-" + "Z" * 30, session=s, level="ERROR")
    log(root, f"plain value {ENV['ELEVENLABS_API_KEY']} seen", session=s, level="WARN")
    body = body_bytes(call(make_app(root), "GET", "/api/logs"))
    text = body.decode()
    for secret in (SECRET, ENV["ELEVENLABS_API_KEY"], HOME, "ghp_A1b2", "sk-proj-ZZZ", "ab12ab12ab12"):
        assert secret not in text, secret
    lines = [l["message"] for l in get_json(make_app(root), "/api/logs")["lines"]]
    assert lines[2] == f"wrote ~/badger/sessions/{s}/final.mp4"
    assert "[redacted]" in lines[0] and "[redacted]" in lines[1] and "[redacted]" in lines[4]


def test_secrets_and_the_home_path_in_state_events_and_ledger_are_redacted(root):
    s = sid(1)
    state = make_session(root, s, status="failed", steps_done=2, theme="rainy night",
                         error=f"artwork: 401 for key {SECRET} reading {HOME}/.config/x")
    state["steps"]["artwork"]["error"] = f"auth failed: api_key={SECRET}"
    state["steps"]["artwork"]["outputs"] = {"debug": f"{HOME}/tmp/x.png", "api_key": "anything-at-all"}
    store.atomic_write_json(store.session_dir(root, s) / "state.json", state)
    from test_studio_support import add_event, add_ledger
    add_event(root, s, 1, "step_failed", f"boom {SECRET}", step="artwork", path=f"{HOME}/x")
    add_ledger(root, s, "c1", 0.1)
    app = make_app(root)
    for path in (f"/api/sessions/{s}", "/api/sessions", "/api/sessions.csv", "/api/sessions.json",
                 f"/api/sessions/{s}/events", f"/api/sessions/{s}/ledger"):
        text = body_bytes(call(app, "GET", path)).decode("utf-8-sig")
        assert SECRET not in text and HOME not in text and "anything-at-all" not in text, path
    d = get_json(app, f"/api/sessions/{s}")
    assert d["error"] == "artwork: 401 for key [redacted] reading ~/.config/x"
    assert d["steps"][1]["error"] == "auth failed: api_key=[redacted]"


def test_launch_failures_are_redacted(root, tmp_path):
    import sys
    script = tmp_path / "leaky.py"
    script.write_text(f"import sys; print('token={SECRET} at {HOME}/x', file=sys.stderr); sys.exit(1)\n")
    app = make_app(root, command=lambda: [sys.executable, str(script)])
    resp = call(app, "POST", "/api/launch", body={"theme": "x"}, write=True)
    assert resp.status == 502
    assert SECRET not in resp.body.decode() and HOME not in resp.body.decode()


# ------------------------------------------------------------------ headers

def test_every_answer_carries_the_security_headers(root):
    app = make_app(root)
    for method, path, h in (("GET", "/", {}), ("GET", "/api/sessions", {}), ("GET", "/nope", {}),
                            ("GET", "/api/x", {}), ("GET", "/", {"Host": "evil:1"})):
        resp = call(app, method, path, headers=h)
        assert resp.header("Content-Security-Policy") == CSP
        assert resp.header("X-Content-Type-Options") == "nosniff"
        assert resp.header("Referrer-Policy") == "no-referrer"
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP


def test_the_page_gets_the_token_in_a_meta_tag_and_is_not_cached(root):
    app = make_app(root)
    for path in ("/", "/index.html", "/sessions", f"/sessions/{sid(1)}", "/live"):
        resp = call(app, "GET", path)
        assert resp.status == 200, path
        assert f'content="{app.token}"' in body_bytes(resp).decode()
        assert resp.header("Cache-Control") == "no-store"
        assert "<script>" not in body_bytes(resp).decode()


def test_the_server_binds_loopback_by_default():
    from studio.__main__ import parse_args
    assert parse_args([]).host == "127.0.0.1" and parse_args([]).port == 8765


# ------------------------------------------------------------------ each layer on its own

@pytest.mark.parametrize("raw", ["..", "../x.png", "a/../../x.png", "%2e%2e/x.png", "%2E%2e%2fx.png", ".%2e/x",
                                 "./x.png", "a//b.png", "a\\..\\b.png", "%00x.png", ".env", "x/.env",
                                 "client_secret.png", "youtube-token.json", "key.pem", ""])
def test_path_splitting_refuses_dots_hidden_names_and_secret_names(raw):
    from studio.files import split_safe
    assert split_safe(raw) is None, raw


def test_path_splitting_keeps_ordinary_media_paths():
    from studio.files import split_safe
    assert split_safe("tracks/01.wav") == ["tracks", "01.wav"]
    assert split_safe("%252e%252e") is None       # decoded once to "%2e%2e", and "%" is no name character


def test_opening_refuses_a_link_out_even_for_an_innocent_name(tmp_path):
    from studio.files import open_inside
    base = tmp_path / "base"
    base.mkdir()
    (tmp_path / "outside.png").write_bytes(b"x")
    os.symlink(tmp_path / "outside.png", base / "innocent.png")
    assert open_inside(base, ["innocent.png"]) is None
    assert open_inside(base, ["..", "outside.png"]) is None


def test_the_origin_check_alone_refuses_cross_site_fetch_metadata():
    from studio.security import Guard
    from studio.web import Headers
    g = Guard("127.0.0.1", 8765, "tok")
    assert g.origin_ok(Headers({"Origin": ORIGIN, "Sec-Fetch-Site": "same-origin"}))
    assert g.origin_ok(Headers({"Origin": "http://localhost:8765"}))
    assert not g.origin_ok(Headers({"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}))
    assert not g.origin_ok(Headers({"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"}))
    assert not g.origin_ok(Headers({}))
    assert not g.token_ok(Headers({"X-Studio-Token": "tok2"})) and g.token_ok(Headers({"X-Studio-Token": "tok"}))


def test_an_upload_checkpoint_with_its_resumable_uri_never_reaches_the_page(root):
    state = make_session(root, sid(1), status="interrupted", steps_done=6)
    state["steps"]["upload"]["outputs"] = {"checkpoint": {"uri": "https://www.googleapis.com/upload/youtube/v3/"
                                                                 "videos?uploadType=resumable&upload_id=ABCsecret",
                                                          "offset": 8388608}}
    store.atomic_write_json(store.session_dir(root, sid(1)) / "state.json", state)
    body = body_bytes(call(make_app(root), "GET", f"/api/sessions/{sid(1)}")).decode()
    assert "upload_id" not in body and "ABCsecret" not in body
