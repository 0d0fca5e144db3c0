"""A series' uploads against the loopback YouTube fake: publishAt from the plan (across daylight
saving), a past publish time refused, the playlist made once, and the quota ledger stopping an
upload before a known limit. The real googleapiclient; the clock is passed in."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import textwrap
import urllib.parse
from pathlib import Path

import httplib2
import pytest
from fakes.fixtures import fast, loopback_only, youtube_fake  # noqa: F401 - pytest fixtures
from fakes.harness import FakeCtx, assets, kill_hard, paid_env, start_runner, write_token

from runner import plan as plans, quota, series, store
from runner.providers import youtube, youtube_auth
from runner.providers.errors import UploadError

UTC = dt.timezone.utc
META = {"title": "rain on the skylight", "description": "tracklist\n1. paper moons\n", "tags": ["lofi"]}
PLAN = """\
[series]
name = "Night Desk"
zone = "Europe/Berlin"
publish_time = "18:00"
playlist = "night desk"

[[entry]]
date = 2026-10-24
theme = "rain on the skylight"

[[entry]]
date = 2026-10-25
theme = "tea at dusk"
"""


def _plan(tmp_path: Path, text: str = PLAN) -> plans.Plan:
    (tmp_path / "series.toml").write_text(textwrap.dedent(text))
    return plans.load(tmp_path / "series.toml")


def _uploader(tmp_path: Path, fake, fast, now: dt.datetime) -> youtube.YouTubeUploader:
    write_token(tmp_path / "token.json", fake)
    env = {"YOUTUBE_TOKEN_FILE": str(tmp_path / "token.json"), "YOUTUBE_API_ENDPOINT": fake.base_url + "/"}
    return youtube.YouTubeUploader(env, policy=fast.policy, clock=lambda: now,
                                   http_factory=lambda: httplib2.Http(ca_certs=str(assets().tls.ca), timeout=30))


def _ctx(root: Path, plan: plans.Plan, entry: plans.Entry, n: int) -> FakeCtx:
    folder = root / "sessions" / f"2026102{n}-080000-x"
    folder.mkdir(parents=True)
    return FakeCtx(folder, state={"id": folder.name, "series": series.series_block(plan, entry)}, root_dir=root)


def _upload(up, ctx) -> dict:
    final = ctx.session_dir / "final.mp4"
    final.write_bytes(os.urandom(300_000))
    return asyncio.run(up.upload(ctx, final, assets().media["thumb.jpg"], META, "private"))


def test_uploads_are_private_with_publish_at_right_across_the_end_of_daylight_saving(root, tmp_path, youtube_fake,
                                                                                        fast):
    plan = _plan(tmp_path)
    up = _uploader(tmp_path, youtube_fake, fast, dt.datetime(2026, 10, 20, 12, tzinfo=UTC))
    results = [_upload(up, _ctx(root, plan, e, n)) for n, e in enumerate(plan.entries)]
    sent = [v["status"] for v in youtube_fake.videos.values()]
    # 18:00 in Berlin is 16:00 UTC in summer time (24 October), 17:00 UTC in winter time (25 October).
    assert [s["publishAt"] for s in sent] == ["2026-10-24T16:00:00Z", "2026-10-25T17:00:00Z"]
    assert all(s["privacyStatus"] == "private" and s["containsSyntheticMedia"] is True for s in sent)
    assert [r["publish_at"] for r in results] == ["2026-10-24T16:00:00Z", "2026-10-25T17:00:00Z"]
    assert all(r["privacy_note"] is None for r in results)


def test_a_publish_time_already_past_is_refused_before_anything_is_sent(root, tmp_path, youtube_fake, fast):
    plan = _plan(tmp_path)
    late = dt.datetime(2026, 10, 24, 16, 0, 1, tzinfo=UTC)  # one second after 18:00 in Berlin
    ctx = _ctx(root, plan, plan.entries[0], 0)
    with pytest.raises(UploadError) as err:
        _upload(_uploader(tmp_path, youtube_fake, fast, late), ctx)
    msg = str(err.value)
    assert "publish time 2026-10-24 18:00 CEST has passed; not uploaded" in msg and "\n" not in msg
    assert youtube_fake.requests == [] and youtube_fake.videos == {}
    assert quota.QuotaLedger(root).usage(late).used == {}


def test_the_series_playlist_is_created_on_first_use_and_reused(root, tmp_path, youtube_fake, fast):
    plan = _plan(tmp_path)
    up = _uploader(tmp_path, youtube_fake, fast, dt.datetime(2026, 10, 20, 12, tzinfo=UTC))
    first = _upload(up, _ctx(root, plan, plan.entries[0], 0))
    second = _upload(up, _ctx(root, plan, plan.entries[1], 1))
    [(pid, body)] = youtube_fake.playlists.items()
    assert body["snippet"]["title"] == "night desk" and body["status"]["privacyStatus"] == "public"
    assert youtube_fake.playlist_calls == ["list", "insert"]  # looked for it once, made it once
    assert [i["snippet"]["playlistId"] for i in youtube_fake.playlist_items] == [pid, pid]
    assert first["playlist_id"] == second["playlist_id"] == pid
    assert store.read_json(root / "series" / "night-desk" / "youtube.json") == {"playlists": {"night desk": pid}}
    # Every call was counted in the day's quota ledger (1 + 50 + 1 + 50 + 50, then 1 + 50 + 50).
    assert quota.QuotaLedger(root).usage(dt.datetime(2026, 10, 20, 12, tzinfo=UTC)).used == {
        "videos.insert": 2, "shared": 50 + 1 + 50 + 50 + 50 + 50}


def test_an_existing_playlist_of_that_title_is_found_not_made_again(root, tmp_path, youtube_fake, fast):
    for n in range(3):  # the fake pages two at a time: the match is on the second page
        youtube_fake.playlists[f"PLother{n}"] = {"snippet": {"title": f"other {n}"}}
    youtube_fake.playlists["PLmine"] = {"snippet": {"title": "night desk"}}
    plan = _plan(tmp_path)
    result = _upload(_uploader(tmp_path, youtube_fake, fast, dt.datetime(2026, 10, 20, 12, tzinfo=UTC)),
                     _ctx(root, plan, plan.entries[0], 0))
    assert result["playlist_id"] == "PLmine" and youtube_fake.playlist_calls == ["list", "list"]


def test_the_quota_ledger_stops_an_upload_at_a_known_limit_and_says_when_it_resets(root, tmp_path, youtube_fake,
                                                                                     fast):
    plan = _plan(tmp_path)
    now = dt.datetime(2026, 10, 20, 12, tzinfo=UTC)  # 05:00 Pacific (PDT)
    ledger = quota.QuotaLedger(root)
    for _ in range(100):
        ledger.take("videos.insert", now, "earlier")
    with pytest.raises(UploadError) as err:
        _upload(_uploader(tmp_path, youtube_fake, fast, now), _ctx(root, plan, plan.entries[0], 0))
    msg = str(err.value)
    assert "100 of 100 video uploads used" in msg and "videos.insert not sent" in msg
    # Midnight Pacific on 21 October is 07:00 UTC, 09:00 in Berlin (CEST), 19 hours on.
    assert "resets at midnight Pacific time, 2026-10-21 09:00 CEST (in 19 h 00 min)" in msg
    assert youtube_fake.requests == [] and youtube_fake.videos == {}


def test_an_upload_whose_thumbnail_and_playlist_would_not_fit_is_not_started(root, tmp_path, youtube_fake, fast):
    plan = _plan(tmp_path)
    now = dt.datetime(2026, 10, 20, 12, tzinfo=UTC)
    ledger = quota.QuotaLedger(root)
    for _ in range(197):
        ledger.take("playlistItems.insert", now, "earlier")  # 9,850 of 10,000 units
    with pytest.raises(UploadError, match=r"9850 of 10000 units used, 151 more needed"):
        _upload(_uploader(tmp_path, youtube_fake, fast, now), _ctx(root, plan, plan.entries[0], 0))
    assert youtube_fake.videos == {}


def test_youtube_saying_quota_exceeded_stops_the_next_upload_before_it_is_sent(root, tmp_path, youtube_fake, fast):
    plan = _plan(tmp_path)
    now = dt.datetime(2026, 10, 20, 12, tzinfo=UTC)
    youtube_fake.fail_reason("thumbnail", 403, "quotaExceeded")
    up = _uploader(tmp_path, youtube_fake, fast, now)
    with pytest.raises(UploadError, match="quota"):
        _upload(up, _ctx(root, plan, plan.entries[0], 0))
    assert len(youtube_fake.videos) == 1
    assert quota.QuotaLedger(root).usage(now).exhausted == {"shared"}
    with pytest.raises(UploadError, match="YouTube said the shared units are used up"):
        _upload(up, _ctx(root, plan, plan.entries[1], 1))
    assert len(youtube_fake.videos) == 1  # the second video was never sent


@pytest.mark.parametrize("playlist, wide", [(True, True), (False, False)])
def test_auth_youtube_asks_for_the_youtube_scope_when_the_plan_names_a_playlist(tmp_path, youtube_fake, playlist,
                                                                                  wide):
    text = PLAN if playlist else PLAN.replace('playlist = "night desk"\n', "")
    _plan(tmp_path, text)
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(json.dumps({"installed": {
        "client_id": "c.apps.googleusercontent.com", "client_secret": "s", "auth_uri": f"{youtube_fake.base_url}/auth",
        "token_uri": f"{youtube_fake.base_url}/token", "redirect_uris": ["http://localhost"]}}))
    env = paid_env(tmp_path, YOUTUBE_CLIENT_SECRETS=str(secrets), YOUTUBE_TOKEN_FILE=str(tmp_path / "t.json"))
    proc = start_runner("auth", "youtube", "--plan", str(tmp_path / "series.toml"), root=tmp_path, env=env)
    try:
        url = next(line.strip() for line in proc.stdout if line.startswith("https://"))
    finally:
        kill_hard(proc)
    scopes = set(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["scope"][0].split())
    expected = {youtube_auth.SCOPE_UPLOAD, youtube_auth.SCOPE_MANAGE} if wide else {youtube_auth.SCOPE_UPLOAD}
    assert scopes == expected
