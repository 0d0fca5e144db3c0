"""The YouTube upload and auth flow against the loopback YouTube fake (TLS), through the real
googleapiclient, google-auth and google-auth-oauthlib."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import urllib.parse
import urllib.request
from pathlib import Path

import httplib2
import pytest
from fakes.fixtures import fast, loopback_only, youtube_fake  # noqa: F401 - pytest fixtures
from fakes.harness import (FakeCtx, assets, events, kill_hard, netguard_log, paid_env, runner, start_runner,
                           wait_for, write_token)
from helpers import params

from runner import sessions, store
from runner.providers import youtube, youtube_auth
from runner.providers.errors import UploadError

MiB = 1024 * 1024
META = {"title": "beats to study to in the rain", "description": "tracklist\n1. paper moons\n", "tags": ["lofi", "rain"]}


def _uploader(env: dict, fast) -> youtube.YouTubeUploader:
    # httplib2 reads its CA bundle at import, so in-process the fake's CA is handed over directly.
    return youtube.YouTubeUploader(env, policy=fast.policy,
                                   http_factory=lambda: httplib2.Http(ca_certs=str(assets().tls.ca), timeout=30))


def _env(tmp_path: Path, fake, **over) -> dict:
    return {"YOUTUBE_TOKEN_FILE": str(tmp_path / "token.json"), "YOUTUBE_API_ENDPOINT": fake.base_url + "/", **over}


def _final(tmp_path: Path, size: int) -> Path:
    final = tmp_path / "final.mp4"
    final.write_bytes(os.urandom(size))
    return final


def test_a_private_upload_declares_synthetic_media_sets_the_thumbnail_and_records_quota(tmp_path, youtube_fake, fast):
    token = write_token(tmp_path / "token.json", youtube_fake, expired=True)  # refreshed before use
    env = _env(tmp_path, youtube_fake, YOUTUBE_PLAYLIST_ID="PLtest")
    ctx = FakeCtx(tmp_path)
    final = _final(tmp_path, 2 * MiB + 123)
    up = _uploader(env, fast)
    assert up.unavailable_reason() is None
    result = asyncio.run(up.upload(ctx, final, assets().media["thumb.jpg"], META, "private"))

    [video] = youtube_fake.videos.values()
    assert result["id"] == video["id"] and result["url"].endswith(video["id"])
    assert video["status"] == {"privacyStatus": "private", "selfDeclaredMadeForKids": False,
                               "containsSyntheticMedia": True}
    assert video["snippet"]["title"] == META["title"] and video["snippet"]["tags"] == META["tags"]
    assert video["bytes"] == final.stat().st_size and video["query"]["notifySubscribers"] == ["false"]
    assert youtube_fake.thumbnails == [video["id"]] and result["thumbnail"] is True
    assert youtube_fake.playlist_items[0]["snippet"] == {
        "playlistId": "PLtest", "resourceId": {"kind": "youtube#video", "videoId": video["id"]}}
    assert result["quota"] == {"videos.insert": 1, "thumbnails.set": 50, "playlistItems.insert": 50}
    assert result["quota_units"] == 101
    # The refreshed token was written back, still readable by its owner only.
    saved = json.loads(token.read_text())
    assert saved["token"].startswith("ya29.refreshed") and stat.S_IMODE(token.stat().st_mode) == 0o600
    labels = [e[1] for e in ctx.of_type("progress")]
    assert labels[-1] == "uploading to YouTube 100%"
    assert ctx.cp["youtube"]["video_id"] == video["id"]


def test_privacy_is_what_the_run_asked_for_and_the_declarations_never_change(tmp_path, youtube_fake, fast):
    write_token(tmp_path / "token.json", youtube_fake)
    asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast).upload(
        FakeCtx(tmp_path), _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "unlisted"))
    [video] = youtube_fake.videos.values()
    assert video["status"] == {"privacyStatus": "unlisted", "selfDeclaredMadeForKids": False,
                               "containsSyntheticMedia": True}


def test_a_503_on_a_chunk_is_retried_from_the_offset_youtube_confirms(tmp_path, youtube_fake, fast):
    write_token(tmp_path / "token.json", youtube_fake)
    youtube_fake.fail("chunk", 503)
    ctx = FakeCtx(tmp_path)
    final = _final(tmp_path, 3 * MiB)
    asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast)
                .upload(ctx, final, assets().media["thumb.jpg"], META, "private"))
    assert len(ctx.of_type("retry")) == 1 and "HTTP 503" in ctx.of_type("retry")[0][1]
    assert youtube_fake.count("query") == 1              # asked where to continue
    assert youtube_fake.bytes_received == final.stat().st_size  # and sent each byte once
    assert youtube_fake.count("init") == 1


@pytest.mark.parametrize("route,status,reason,expect", [
    ("init", 403, "quotaExceeded", r"quota is used up for today.*midnight Pacific.*resume"),
    ("init", 400, "uploadLimitExceeded", r"upload limit.*15 minutes.*youtube.com/verify.*resume"),
])
def test_quota_and_upload_limits_are_clear_step_errors(tmp_path, youtube_fake, fast, route, status, reason, expect):
    write_token(tmp_path / "token.json", youtube_fake)
    youtube_fake.fail_reason(route, status, reason)
    with pytest.raises(UploadError, match=expect):
        asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast).upload(
            FakeCtx(tmp_path), _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "private"))
    assert youtube_fake.count("init") == 1 and fast.waits == []  # permanent: not retried


def test_a_revoked_token_says_to_run_auth_again(tmp_path, youtube_fake, fast):
    write_token(tmp_path / "token.json", youtube_fake, expired=True, refresh_token="1//revoked")
    with pytest.raises(UploadError, match=r"python -m runner auth youtube.*resume"):
        asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast).upload(
            FakeCtx(tmp_path), _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "private"))
    assert youtube_fake.count("init") == 0


def test_a_401_that_a_refresh_cannot_fix_says_to_run_auth_again(tmp_path, youtube_fake, fast):
    # The token looks valid locally, YouTube rejects it, and the refresh token is dead too.
    write_token(tmp_path / "token.json", youtube_fake, access_token="ya29.rejected", refresh_token="1//revoked")
    with pytest.raises(UploadError, match=r"auth youtube"):
        asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast).upload(
            FakeCtx(tmp_path), _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "private"))
    assert youtube_fake.count("token") >= 1 and not youtube_fake.videos


def test_a_channel_not_allowed_custom_thumbnails_still_gets_its_video(tmp_path, youtube_fake, fast):
    write_token(tmp_path / "token.json", youtube_fake)
    youtube_fake.fail_reason("thumbnail", 403, "forbidden")
    ctx = FakeCtx(tmp_path)
    result = asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast).upload(
        ctx, _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "private"))
    assert result["thumbnail"] is False and youtube_fake.videos
    assert "verified channel" in ctx.of_type("youtube_thumbnail_refused")[0][1]


def test_an_interrupted_upload_continues_from_youtubes_offset(tmp_path, youtube_fake, fast):
    write_token(tmp_path / "token.json", youtube_fake)
    env = _env(tmp_path, youtube_fake)
    youtube_fake.hold_after_chunk = 2
    ctx = FakeCtx(tmp_path)
    final = _final(tmp_path, 2 * youtube.CHUNK_BYTES + MiB)
    thumb = assets().media["thumb.jpg"]

    async def interrupted():
        task = asyncio.create_task(_uploader(env, fast).upload(ctx, final, thumb, META, "private"))
        await asyncio.to_thread(youtube_fake.held.wait, 30)
        task.cancel()  # what SIGTERM does to the step
        with pytest.raises(asyncio.CancelledError):
            await task
        youtube_fake.release.set()  # the chunk's answer now reaches a step that has stopped listening

    asyncio.run(interrupted())
    assert ctx.cp["youtube"]["offset"] == youtube.CHUNK_BYTES and ctx.cp["youtube"]["uri"]
    result = asyncio.run(_uploader(env, fast).upload(ctx, final, thumb, META, "private"))
    assert youtube_fake.count("init") == 1 and youtube_fake.count("query") == 1
    assert youtube_fake.bytes_received == final.stat().st_size  # the held chunk was kept, not sent again
    assert result["id"] in youtube_fake.videos and ctx.of_type("upload_resumed")


def test_the_reason_an_upload_cannot_happen_says_what_to_set(tmp_path):
    tok = tmp_path / "token.json"
    reason = youtube.uploader_from_env({"YOUTUBE_TOKEN_FILE": str(tok)}).unavailable_reason()
    assert "YOUTUBE_CLIENT_SECRETS" in reason and "python -m runner auth youtube" in reason
    reason = youtube.uploader_from_env({"YOUTUBE_TOKEN_FILE": str(tok),
                                        "YOUTUBE_CLIENT_SECRETS": str(tmp_path / "nope.json")}).unavailable_reason()
    assert "does not exist" in reason
    (tmp_path / "secrets.json").write_text("{}")
    reason = youtube.uploader_from_env({"YOUTUBE_TOKEN_FILE": str(tok),
                                        "YOUTUBE_CLIENT_SECRETS": str(tmp_path / "secrets.json")}).unavailable_reason()
    assert reason.startswith("YouTube is not authorised yet") and str(tok) in reason
    tok.write_text("{}")
    assert youtube.uploader_from_env({"YOUTUBE_TOKEN_FILE": str(tok)}).unavailable_reason() is None
    # The default token file lives in the data root and is git-ignored.
    assert youtube_auth.token_path({"STUDIO_ROOT": str(tmp_path)}) == tmp_path / "youtube-token.json"


def test_auth_youtube_runs_the_installed_app_flow_and_stores_a_0600_token(tmp_path, youtube_fake):
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "test-client.apps.googleusercontent.com", "client_secret": "test-secret",
        "auth_uri": f"{youtube_fake.base_url}/auth", "token_uri": f"{youtube_fake.base_url}/token",
        "redirect_uris": ["http://localhost"]}}))
    token = tmp_path / "tokens" / "youtube-token.json"
    env = paid_env(tmp_path, YOUTUBE_CLIENT_SECRETS=str(secrets), YOUTUBE_TOKEN_FILE=str(token),
                   YOUTUBE_PLAYLIST_ID="PLtest")
    youtube_fake.auth_codes.add("code-from-google")
    proc = start_runner("auth", "youtube", root=tmp_path, env=env)
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("https://"):
                url = line.strip()
                break
        assert url and url.startswith(f"{youtube_fake.base_url}/auth?")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert q["access_type"] == ["offline"]
        assert set(q["scope"][0].split()) == {youtube_auth.SCOPE_UPLOAD, youtube_auth.SCOPE_MANAGE}
        # What the browser does after consent: Google redirects to the flow's loopback port.
        back = q["redirect_uri"][0] + "?" + urllib.parse.urlencode(
            {"state": q["state"][0], "code": "code-from-google", "scope": q["scope"][0]})
        assert re.match(r"^http://localhost:\d+/", back)
        with urllib.request.urlopen(back, timeout=10) as resp:
            assert b"authorised" in resp.read()
        out = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            kill_hard(proc)
    assert proc.returncode == 0, out
    assert str(token) in out
    saved = json.loads(token.read_text())
    assert saved["refresh_token"] == "1//granted-refresh" and saved["token_uri"] == f"{youtube_fake.base_url}/token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert netguard_log(env) == []


def test_auth_youtube_without_client_secrets_says_how_to_set_them_up(tmp_path):
    env = paid_env(tmp_path)
    out = runner("auth", "youtube", root=tmp_path, env=env, timeout=60)
    assert out.returncode == 2 and "YOUTUBE_CLIENT_SECRETS is not set" in out.stderr
    assert "Desktop app" in out.stderr and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------- SIGKILL + resume

def _reviewed_session(root: Path, size: int) -> str:
    """A session stopped at the review gate with every step but the upload done."""
    state = sessions.create(root, params(upload=True, review=True, minutes=0.2, tracks=1))
    sid, folder = state["id"], store.session_dir(root, state["id"])
    (folder / "final.mp4").write_bytes(os.urandom(size))
    (folder / "thumbnail.jpg").write_bytes(assets().media["thumb.jpg"].read_bytes())
    (folder / "metadata.json").write_text(json.dumps(META))
    outputs = {"artwork": {"artwork": "artwork.png", "thumbnail": "thumbnail.jpg"},
               "render": {"final": "final.mp4"}, "metadata": {"metadata": "metadata.json"}}
    for name in store.STEPS:
        if name != "upload":
            state["steps"][name].update(status="done", outputs=outputs.get(name, {}))
    state["status"] = "awaiting_review"
    store.write_state(root, state)
    return sid


def test_a_kill_during_the_upload_then_resume_sends_no_second_copy(root, tmp_path, youtube_fake):
    size = 2 * youtube.CHUNK_BYTES + 3 * MiB
    sid = _reviewed_session(root, size)
    token = write_token(tmp_path / "token.json", youtube_fake)
    env = paid_env(tmp_path, youtube=youtube_fake, token=token)
    youtube_fake.hold_after_chunk = 2

    proc = start_runner("approve", sid, root=root, env=env)
    try:
        wait_for(lambda: youtube_fake.held.is_set() or proc.poll() is not None, 60, "the second chunk")
        assert proc.poll() is None, f"the runner ended before the second chunk:\n{proc.communicate()[0]}"
        wait_for(lambda: (store.read_state(root, sid) or {}).get("steps", {}).get("upload", {})
                 .get("outputs", {}).get("checkpoint", {}).get("youtube", {}).get("offset"), 10, "the checkpoint")
    finally:
        kill_hard(proc)
    youtube_fake.release.set()
    cp = store.read_state(root, sid)["steps"]["upload"]["outputs"]["checkpoint"]["youtube"]
    assert cp["offset"] == youtube.CHUNK_BYTES and cp["uri"].startswith(youtube_fake.base_url)

    out = runner("resume", sid, root=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    state = store.read_state(root, sid)
    assert state["status"] == "completed"
    upload = state["steps"]["upload"]
    assert upload["status"] == "done" and upload["outputs"]["privacy"] == "private"
    assert upload["outputs"]["quota_units"] == 51  # videos.insert 1 + thumbnails.set 50
    [video] = youtube_fake.videos.values()
    assert upload["outputs"]["video_id"] == video["id"] and video["bytes"] == size
    assert youtube_fake.count("init") == 1          # one upload session, never a second one
    assert youtube_fake.count("query") == 1         # resume asked YouTube where to continue
    assert youtube_fake.bytes_received == size      # not a byte sent twice
    assert [e["type"] for e in events(root, sid)].count("upload_resumed") == 1
    assert netguard_log(env) == []


def _approve_killed(root: Path, tmp_path: Path, youtube_fake, size: int) -> tuple[str, dict]:
    """Approve a reviewed session and SIGKILL the runner once the fake holds the chosen moment."""
    sid = _reviewed_session(root, size)
    env = paid_env(tmp_path, youtube=youtube_fake, token=write_token(tmp_path / "token.json", youtube_fake))
    proc = start_runner("approve", sid, root=root, env=env)
    try:
        wait_for(lambda: youtube_fake.held.is_set() or proc.poll() is not None, 60, "the held request")
        assert proc.poll() is None, f"the runner ended before the request was held:\n{proc.communicate()[0]}"
    finally:
        kill_hard(proc)
    youtube_fake.release.set()
    return sid, env


@pytest.mark.parametrize("chunk", [1, 3])
def test_a_kill_inside_a_chunk_continues_the_same_upload_session(root, tmp_path, youtube_fake, chunk):
    # Chunk 1: killed while the first chunk is on the wire, after YouTube named the session
    # (before, that URI was saved only after the chunk, and resume opened a second session).
    # Chunk 3 (the last): YouTube made the video, the runner never heard; resume asks and finds it.
    size = 2 * youtube.CHUNK_BYTES + 3 * MiB
    youtube_fake.hold_after_chunk = chunk
    sid, env = _approve_killed(root, tmp_path, youtube_fake, size)

    out = runner("resume", sid, root=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    [video] = youtube_fake.videos.values()
    assert store.read_state(root, sid)["steps"]["upload"]["outputs"]["video_id"] == video["id"]
    assert youtube_fake.count("init") == 1 and video["bytes"] == size
    assert netguard_log(env) == []


def test_a_kill_before_youtube_named_the_session_waits_for_a_person_then_resend_opens_one_more(
        root, tmp_path, youtube_fake):
    youtube_fake.hold_init = True
    sid, env = _approve_killed(root, tmp_path, youtube_fake, 300_000)
    youtube_fake.hold_init = False

    out = runner("resume", sid, root=root, env=env)
    assert out.returncode == 5, out.stdout + out.stderr
    state = store.read_state(root, sid)
    [call] = state["attention"]["calls"]
    assert call["provider"] == "youtube" and call["app"] == "videos.insert"
    assert "studio.youtube.com" in state["attention"]["message"] and "published nothing" in state["attention"]["message"]
    assert youtube_fake.count("init") == 1 and not youtube_fake.videos

    done = runner("resume", sid, "--resend", call["id"], root=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert youtube_fake.count("init") == 2 and len(youtube_fake.videos) == 1


# ----------------------------------------------------------------------------- YouTube's answers believed

DAILY = "The user has exceeded the number of videos they may upload."


def test_the_daily_upload_limit_is_not_retried_and_says_when_it_resets(tmp_path, youtube_fake, fast):
    import datetime as dt

    youtube_fake.fail_reason("init", 429, "rateLimitExceeded", message=DAILY)
    write_token(tmp_path / "token.json", youtube_fake)
    noon_pacific = dt.datetime(2026, 11, 21, 20, 0, tzinfo=dt.timezone.utc)  # 12:00 PST
    up = youtube.YouTubeUploader(_env(tmp_path, youtube_fake), policy=fast.policy, clock=lambda: noon_pacific,
                                 http_factory=lambda: httplib2.Http(ca_certs=str(assets().tls.ca), timeout=30))
    ctx = FakeCtx(tmp_path)
    with pytest.raises(UploadError) as info:
        asyncio.run(up.upload(ctx, _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "private"))
    message = str(info.value)
    assert "daily upload limit" in message and f'"{DAILY}"' in message
    assert "midnight Pacific time (2026-11-22 00:00 PST, in 12 h 00 min)" in message
    assert "python -m runner resume 20261121-031500-test" in message and "\n" not in message
    assert youtube_fake.count("init") == 1 and fast.waits == [] and not ctx.of_type("retry")


def test_a_rate_limit_that_is_not_about_uploads_a_day_is_still_retried(tmp_path, youtube_fake, fast):
    youtube_fake.fail_reason("init", 429, "rateLimitExceeded", message="Too many requests; slow down.")
    write_token(tmp_path / "token.json", youtube_fake)
    result = asyncio.run(_uploader(_env(tmp_path, youtube_fake), fast).upload(
        FakeCtx(tmp_path), _final(tmp_path, 300_000), assets().media["thumb.jpg"], META, "private"))
    assert result["id"] in youtube_fake.videos and youtube_fake.count("init") == 2


def test_the_privacy_youtube_answers_is_the_one_recorded_with_the_audit_link(root, tmp_path, youtube_fake):
    # An API project Google has not audited: every upload is locked private, whatever was asked.
    youtube_fake.lock_privacy = "private"
    sid = _reviewed_session(root, 300_000)
    env = paid_env(tmp_path, youtube=youtube_fake, token=write_token(tmp_path / "token.json", youtube_fake))
    out = runner("approve", sid, "--privacy", "public", root=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    [video] = youtube_fake.videos.values()
    assert video["status"]["privacyStatus"] == "private"
    state = store.read_state(root, sid)
    yt = state["youtube"]
    assert yt["privacy"] == "private" and yt["privacy_requested"] == "public"
    assert "made the video private, not public" in yt["privacy_note"] and youtube.AUDIT_URL in yt["privacy_note"]
    assert state["steps"]["upload"]["outputs"]["privacy"] == "private"
    assert f"{yt['url']} (private)" in out.stdout   # the summary says what is true, and why
    assert yt["privacy_note"] in out.stderr
    assert "youtube_privacy_locked" in [e["type"] for e in events(root, sid)]
    # The dashboard's session page gets the same line.
    from test_studio_support import get_json, make_app

    detail = get_json(make_app(root, tmp_path), f"/api/sessions/{sid}")
    assert detail["youtube"]["privacy"] == "private" and detail["youtube"]["privacy_note"] == yt["privacy_note"]
