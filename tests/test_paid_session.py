"""Whole `--provider fal` sessions through `python -m runner`, against the loopback fakes.

Each runner is a subprocess whose environment can reach nothing but the fakes (see
fakes/harness.py: the fakes' CA only, dead proxies, a netguard that logs any escape).
The fakes count requests, so "not paid twice" is checked where the money would go.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from fakes.fal import APPS
from fakes.fixtures import elevenlabs_fake, fal_fake, loopback_only, youtube_fake  # noqa: F401 - fixtures
from fakes.harness import (events, kill_hard, ledger, netguard_log, paid_env, runner, session_id, start_runner,
                           wait_for, write_token)

from runner import budget, store
from runner.intents import Intents

PRICE = {asset: budget.price_of(model).per_call(width=1920, height=1080, seconds=5)
         for asset, model in budget.FAL_MODELS.items()}


def _actuals(root: Path, sid: str) -> list[dict]:
    """Paid calls booked; the local providers' $0 calls take the same path and are left out."""
    return [e for e in ledger(root, sid) if e["phase"] == "actual" and e["provider"] != "local"]


def test_a_full_fal_session_with_elevenlabs_and_youtube(root, tmp_path, fal_fake, elevenlabs_fake, youtube_fake):
    token = write_token(tmp_path / "token.json", youtube_fake)
    env = paid_env(tmp_path, fal=fal_fake, elevenlabs=elevenlabs_fake, youtube=youtube_fake, token=token)
    out = runner("run", "--theme", "rainy night", "--provider", "fal", "--minutes", "0.4", "--tracks", "2",
                 root=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    sid = session_id(out.stdout)
    state = store.read_state(root, sid)
    assert state["status"] == "completed"
    assert all(s["status"] == "done" for s in state["steps"].values())
    steps = state["steps"]
    assert steps["artwork"]["outputs"]["provider"] == steps["motion"]["outputs"]["provider"] == "fal"
    assert {t["provider"] for t in steps["music"]["outputs"]["tracks"]} == {"fal"}
    assert steps["music"]["outputs"]["ambience_provider"] == "elevenlabs"
    upload = steps["upload"]["outputs"]
    assert upload["privacy"] == "private" and upload["quota_units"] == 51 and upload["video_id"]
    assert (store.session_dir(root, sid) / "final.mp4").stat().st_size > 0

    # Where each asset came from (provenance.json): fal's own request id and what was sent.
    origins = [steps["artwork"]["outputs"]["origin"], steps["motion"]["outputs"]["origin"],
               *(t["origin"] for t in steps["music"]["outputs"]["tracks"])]
    for origin, app in zip(origins, [APPS["image"], APPS["video"], APPS["music"], APPS["music"]], strict=True):
        job = fal_fake.jobs[origin["request_id"]]
        assert (origin["provider"], origin["model"], job["app"]) == ("fal", app, app)
        assert origin["prompt"] == job["arguments"]["prompt"]
    assert origins[0]["seed"] == fal_fake.jobs[origins[0]["request_id"]]["arguments"]["seed"]
    ambience = steps["music"]["outputs"]["ambience_origin"]
    assert ambience["provider"] == "elevenlabs" and ambience["prompt"] == elevenlabs_fake.bodies()[0]["text"]
    # ElevenLabs names its request only in the `request-id` header: it reaches the origin,
    # provenance.json and the ledger, as fal's ids do.
    assert ambience["request_id"] == elevenlabs_fake.request_ids[0]
    provenance = json.loads((store.session_dir(root, sid) / "provenance.json").read_text())
    assert provenance["ambience"]["request_id"] == elevenlabs_fake.request_ids[0]
    assert [t["request_id"] for t in provenance["tracks"]] == [o["request_id"] for o in origins[2:]]

    # What reached the services: each paid thing exactly once.
    assert len(fal_fake.submits(APPS["image"])) == 1 and len(fal_fake.submits(APPS["video"])) == 1
    assert len(fal_fake.submits(APPS["music"])) == 2 and len(fal_fake.uploads) == 1
    assert len(elevenlabs_fake.bodies()) == 1
    [video] = youtube_fake.videos.values()
    assert video["status"]["containsSyntheticMedia"] is True and video["status"]["privacyStatus"] == "private"
    assert youtube_fake.thumbnails == [video["id"]]

    # Money: one estimate and one actual per call, and the state adds up to the ledger.
    actual = _actuals(root, sid)
    assert Counter(e["asset"] for e in actual) == {"image": 1, "video": 1, "music": 2, "ambience": 1}
    assert len({e["cache_key"] for e in actual}) == 5
    named = {e["asset"]: e["request_id"] for e in actual if e["asset"] in ("image", "ambience")}
    assert named == {"image": origins[0]["request_id"], "ambience": elevenlabs_fake.request_ids[0]}
    assert {e["request_id"] for e in actual if e["asset"] == "music"} == {o["request_id"] for o in origins[2:]}
    by_asset = state["cost"]["by_asset"]
    assert by_asset["image"] == pytest.approx(PRICE["image"]) and by_asset["video"] == pytest.approx(PRICE["video"])
    assert by_asset["music"] == pytest.approx(2 * PRICE["music"])
    assert state["cost"]["spent_usd"] == pytest.approx(sum(e["usd"] for e in actual))

    kinds = {e["type"] for e in events(root, sid)}
    assert {"fal_submitted", "fal_queue", "fal_log", "paid_call", "youtube_done"} <= kinds
    assert netguard_log(env) == []


def test_the_cap_halts_before_the_third_track_is_sent_and_resume_pays_only_for_the_rest(root, tmp_path, fal_fake):
    env = paid_env(tmp_path, fal=fal_fake)
    cap = round(PRICE["image"] + 2 * PRICE["music"] + 0.01, 3)  # room for the cover and two tracks only
    out = runner("run", "--theme", "rainy night", "--provider", "fal", "--minutes", "0.5", "--tracks", "3",
                 "--cap", str(cap), "--no-upload", root=root, env=env)
    assert out.returncode == 3, out.stdout + out.stderr
    sid = session_id(out.stdout)
    state = store.read_state(root, sid)
    assert state["status"] == "halted_budget" and state["halt"]["call"] == "track 3/3"
    assert "would cross the cap" in out.stderr
    # The third track (and the clip, which comes later) were never sent.
    assert len(fal_fake.submits(APPS["music"])) == 2 and fal_fake.submit_attempts(APPS["video"]) == 0
    assert state["cost"]["spent_usd"] <= cap
    assert not [e for e in ledger(root, sid) if e["label"] == "track 3/3"]

    out = runner("resume", sid, "--cap", "5", root=root, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    state = store.read_state(root, sid)
    assert state["status"] == "completed"
    # Finished calls were not paid again: the fake saw each request once, the ledger too.
    assert len(fal_fake.submits(APPS["image"])) == 1
    assert len(fal_fake.submits(APPS["music"])) == 3 and len(fal_fake.submits(APPS["video"])) == 1
    actual = _actuals(root, sid)
    assert Counter(e["asset"] for e in actual) == {"image": 1, "music": 3, "video": 1}
    assert len({e["cache_key"] for e in actual}) == len(actual)
    assert state["cost"]["spent_usd"] == pytest.approx(PRICE["image"] + PRICE["video"] + 3 * PRICE["music"])
    assert netguard_log(env) == []


def test_a_kill_while_the_clip_renders_then_resume_follows_the_same_request(root, tmp_path, fal_fake):
    env = paid_env(tmp_path, fal=fal_fake)
    fal_fake.hold_app = APPS["video"]
    proc = start_runner("run", "--theme", "rainy night", "--provider", "fal", "--minutes", "0.2", "--tracks", "1",
                        "--no-upload", root=root, env=env)
    try:
        wait_for(lambda: fal_fake.held.is_set() or proc.poll() is not None, 120, "the clip request")
        assert proc.poll() is None, f"the runner ended before the clip was requested:\n{proc.communicate()[0]}"
    finally:
        out = kill_hard(proc)
    fal_fake.release.set()
    sid = session_id(out)
    state = store.read_state(root, sid)
    # Its request id was on disk the moment fal named it (runner/intents.py).
    [pending] = [i for i in Intents(store.session_dir(root, sid)).by_id.values() if i.app == APPS["video"]]
    assert pending.phase == "accepted" and pending.request_id

    done = runner("resume", sid, root=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert store.read_state(root, sid)["status"] == "completed"
    assert fal_fake.submit_attempts(APPS["video"]) == 1  # followed again, never sent again
    reattached = [e for e in events(root, sid) if e["type"] == "fal_reattached"]
    assert [e["data"]["request_id"] for e in reattached] == [pending.request_id]
    video = [e for e in ledger(root, sid) if e["asset"] == "video"]
    assert [e["phase"] for e in video].count("actual") == 1
    assert netguard_log(env) == []
