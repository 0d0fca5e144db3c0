"""Session media and static files: content types, HTTP Range over a real socket, caching."""

from __future__ import annotations

import os

import pytest

from runner import store
from studio.files import parse_range
from test_studio_support import body_bytes, call, fetch, make_app, make_session, serving, sid

DATA = os.urandom(1_000_003)


@pytest.fixture
def media_root(root):
    make_session(root, sid(1))
    folder = store.session_dir(root, sid(1))
    (folder / "final.mp4").write_bytes(DATA)
    (folder / "tracks").mkdir()
    (folder / "tracks" / "01.wav").write_bytes(b"RIFF....WAVE")
    (folder / "thumbnail.jpg").write_bytes(b"\xff\xd8jpeg")
    return root


def test_range_requests_over_a_real_socket_let_a_player_seek(media_root):
    app = make_app(media_root)
    path = f"/media/{sid(1)}/final.mp4"
    with serving(app) as (_, port):
        status, h, body = fetch(port, "GET", path)
        assert status == 200 and body == DATA
        assert h["accept-ranges"] == "bytes" and h["content-type"] == "video/mp4"
        assert h["content-length"] == str(len(DATA))

        status, h, body = fetch(port, "GET", path, headers={"Range": "bytes=100-199"})
        assert status == 206 and body == DATA[100:200]
        assert h["content-range"] == f"bytes 100-199/{len(DATA)}" and h["content-length"] == "100"

        status, h, body = fetch(port, "GET", path, headers={"Range": "bytes=999000-"})
        assert status == 206 and body == DATA[999000:]

        status, h, body = fetch(port, "GET", path, headers={"Range": "bytes=-10"})
        assert status == 206 and body == DATA[-10:]

        status, h, body = fetch(port, "GET", path, headers={"Range": "bytes=0-99999999"})
        assert status == 206 and body == DATA and h["content-range"] == f"bytes 0-{len(DATA) - 1}/{len(DATA)}"

        status, h, _ = fetch(port, "GET", path, headers={"Range": f"bytes={len(DATA)}-"})
        assert status == 416 and h["content-range"] == f"bytes */{len(DATA)}"

        status, h, body = fetch(port, "HEAD", path)
        assert status == 200 and body == b"" and h["content-length"] == str(len(DATA))

        # Keep-alive: several range requests on one connection, as media elements do.
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        for start in (0, 5000, 900_000):
            conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}", "Range": f"bytes={start}-{start + 9}"})
            r = conn.getresponse()
            assert r.status == 206 and r.read() == DATA[start:start + 10]
        conn.close()


def test_media_types_and_nested_track_files(media_root):
    app = make_app(media_root)
    wav = call(app, "GET", f"/media/{sid(1)}/tracks/01.wav")
    assert wav.status == 200 and wav.header("Content-Type") == "audio/wav" and body_bytes(wav) == b"RIFF....WAVE"
    assert call(app, "GET", f"/media/{sid(1)}/thumbnail.jpg").header("Content-Type") == "image/jpeg"
    assert call(app, "GET", f"/media/{sid(1)}/missing.png").status == 404
    assert call(app, "GET", f"/media/{sid(9)}/final.mp4").status == 404
    assert call(app, "GET", "/media/not-an-id/final.mp4").status == 404


def test_an_etag_lets_the_browser_revalidate(media_root):
    app = make_app(media_root)
    first = call(app, "GET", f"/media/{sid(1)}/thumbnail.jpg")
    again = call(app, "GET", f"/media/{sid(1)}/thumbnail.jpg", headers={"If-None-Match": first.header("ETag")})
    assert again.status == 304 and body_bytes(again) == b""


def test_multiple_ranges_fall_back_to_the_whole_file(media_root):
    resp = call(make_app(media_root), "GET", f"/media/{sid(1)}/thumbnail.jpg", headers={"Range": "bytes=0-1,3-4"})
    assert resp.status == 200 and body_bytes(resp) == b"\xff\xd8jpeg"


@pytest.mark.parametrize("header,expected", [
    (None, None), ("bytes=0-0", (0, 0)), ("bytes=5-", (5, 9)), ("bytes=-3", (7, 9)), ("bytes=-30", (0, 9)),
    ("bytes=10-", "unsatisfiable"), ("bytes=5-2", "unsatisfiable"), ("bytes=-0", "unsatisfiable"),
    ("items=0-1", None), ("bytes=0-1,2-3", None), ("bytes=abc", None),
])
def test_range_header_parsing(header, expected):
    assert parse_range(header, 10) == expected


def test_static_files_get_their_types_and_support_ranges(root, tmp_path):
    app = make_app(root, tmp_path)
    js = call(app, "GET", "/js/views.js")
    assert js.status == 200 and body_bytes(js) == b"export const views = [];\n"
    part = call(app, "GET", "/js/views.js", headers={"Range": "bytes=0-5"})
    assert part.status == 206 and body_bytes(part) == b"export"
    (app.config.static_dir / "js" / "views").mkdir()
    (app.config.static_dir / "js" / "views" / "live.js").write_text("export {};\n")
    assert call(app, "GET", "/js/views/live.js").status == 200
    head = call(app, "HEAD", "/app.js")
    assert head.status == 200


def test_a_missing_index_is_404_not_a_crash(root, tmp_path):
    app = make_app(root, tmp_path)
    (app.config.static_dir / "index.html").unlink()
    assert call(app, "GET", "/").status == 404


def test_a_session_whose_theme_sounds_secret_still_serves_its_media(root):
    sid_secret = "20261121-031500-secret-token-garden"
    make_session(root, sid_secret, theme="secret token garden")
    (store.session_dir(root, sid_secret) / "artwork.png").write_bytes(b"PNG")
    app = make_app(root)
    row = call(app, "GET", "/api/sessions").json()["items"][0]
    assert row["artwork_url"] == f"/media/{sid_secret}/artwork.png"
    assert body_bytes(call(app, "GET", row["artwork_url"])) == b"PNG"
