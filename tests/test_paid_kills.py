"""A kill at any moment of a paid run, then `resume`, never sends more paid requests than assets.

Each runner is a `python -m runner` subprocess killed with SIGKILL (no cleanup runs) while a
loopback fake holds the request at the chosen moment: before fal takes a submit, after it took
it but before the runner learns the request id, mid-stream for ElevenLabs. A request sent
without its answer recorded is an unknown outcome: resume stops as needs_attention (exit 5),
naming the call and where to check, and sends nothing; `resume --resend` sends it again on
the person's word and keeps both reservations. The YouTube upload's kills are in
tests/test_paid_youtube.py; a kill while fal renders (re-attach) in tests/test_paid_session.py.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from fakes.fal import APPS
from fakes.fixtures import elevenlabs_fake, fal_fake, loopback_only  # noqa: F401 - fixtures
from fakes.harness import kill_hard, ledger, netguard_log, paid_env, runner, session_id, start_runner, wait_for

from runner import budget, store
from runner.intents import Intents, args_hash

PRICE = {asset: budget.price_of(model).per_call(width=1920, height=1080, seconds=5)
         for asset, model in budget.FAL_MODELS.items()}
AMBIENCE = budget.price_of(budget.ELEVENLABS_SFX_MODEL).per_call()


def _killed_run(root: Path, env: dict, held, *args: str, fakes: tuple = ()) -> str:
    """Start a fal run, SIGKILL it once the fake holds the chosen request, release the hold and
    let the fakes finish what reached them before the kill; return the session id."""
    proc = start_runner("run", "--theme", "rainy night", "--provider", "fal", "--no-upload", *args, root=root, env=env)
    try:
        wait_for(lambda: held.is_set() or proc.poll() is not None, 120, "the held request")
        assert proc.poll() is None, f"the runner ended before the request was held:\n{proc.communicate()[0]}"
    finally:
        out = kill_hard(proc)
    for fake in fakes:
        fake.release.set()
        wait_for(fake.idle, 30, f"{fake.name} to finish the requests it had")
    return session_id(out)


def _taken_unseen(root: Path, sid: str, fal_fake) -> Counter:
    """Per asset: requests waiting for a person that fal had in fact taken (a resend repeats them)."""
    taken = {args_hash(a) for a in fal_fake.submits()}
    return Counter(i.asset for i in Intents(store.session_dir(root, sid)).unknown() if i.args_sha256 in taken)


def _attention(root: Path, sid: str) -> dict:
    state = store.read_state(root, sid)
    assert state["status"] == "needs_attention", state["status"]
    return state["attention"]


def test_a_kill_after_fal_took_the_second_track_stops_for_a_person_then_resend_pays_once_more(root, tmp_path,
                                                                                             fal_fake):
    # The example: killed right after fal accepted the 2nd music submit of a 4-track
    # run. Before intents, resume sent it again unseen (fal saw 6 music submits for 4 tracks).
    env = paid_env(tmp_path, fal=fal_fake)
    fal_fake.hold_submit = {"app": APPS["music"], "n": 2, "accept": True}
    sid = _killed_run(root, env, fal_fake.submit_held, "--minutes", "2", "--tracks", "4", fakes=(fal_fake,))
    taken = {args_hash(a) for a in fal_fake.submits()}
    held = args_hash(fal_fake.submits(APPS["music"])[1])

    out = runner("resume", sid, root=root, env=env)
    assert out.returncode == 5, out.stdout + out.stderr
    assert {args_hash(a) for a in fal_fake.submits()} == taken  # nothing more was sent
    attention = _attention(root, sid)
    # Every request on the wire at the kill waits for a person; the one fal took is among them.
    unknown = {i.id: i for i in Intents(store.session_dir(root, sid)).unknown()}
    assert {c["id"] for c in attention["calls"]} == set(unknown)
    [held_call] = [c for c in attention["calls"] if unknown[c["id"]].args_sha256 == held]
    assert held_call["label"].startswith("track ") and held_call["request_id"] is None
    assert held_call["label"] in attention["message"] and "https://fal.ai/dashboard/requests" in attention["message"]
    assert f"python -m runner resume {sid} --resend" in attention["message"]
    assert "Traceback" not in out.stderr and attention["message"] in out.stderr
    # Their estimates are held against the cap as possibly spent.
    held_usd = round(sum(i.estimate_usd for i in unknown.values()), 6)
    assert store.read_state(root, sid)["cost"]["unconfirmed_usd"] >= held_usd >= PRICE["music"]

    done = runner("resume", sid, "--resend-all", root=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    state = store.read_state(root, sid)
    assert state["status"] == "completed" and state["attention"] is None
    # One submit per asset, plus a second one only for each request fal had taken unseen and
    # the person asked to send again.
    resent_taken = Counter(i.asset for i in unknown.values() if i.args_sha256 in taken)
    assert resent_taken["music"] >= 1
    assert len(fal_fake.submits(APPS["music"])) == 4 + resent_taken["music"]
    assert len(fal_fake.submits(APPS["image"])) == 1 + resent_taken["image"]
    assert len(fal_fake.submits(APPS["video"])) == 1 + resent_taken["video"]
    lines = [e for e in ledger(root, sid) if e["label"] == held_call["label"]]
    assert Counter(e["phase"] for e in lines)["unconfirmed"] == 1 and Counter(e["phase"] for e in lines)["actual"] == 1
    assert state["cost"]["unconfirmed_usd"] == pytest.approx(held_usd)  # both reservations kept
    assert state["cost"]["spent_usd"] == pytest.approx(PRICE["image"] + PRICE["video"] + 4 * PRICE["music"])
    assert netguard_log(env) == []


def test_a_kill_while_fal_has_not_taken_the_submit_still_waits_for_a_person(root, tmp_path, fal_fake):
    # Killed with the cover's submit on the wire: from here, "not taken" and "taken" look alike.
    env = paid_env(tmp_path, fal=fal_fake)
    fal_fake.hold_submit = {"app": APPS["image"], "n": 1, "accept": False}
    sid = _killed_run(root, env, fal_fake.submit_held, "--minutes", "0.5", "--tracks", "1", fakes=(fal_fake,))
    [intent] = [i for i in Intents(store.session_dir(root, sid)).by_id.values() if i.app == APPS["image"]]
    assert intent.phase == "intent" and intent.request_id is None and intent.args_sha256

    out = runner("resume", sid, root=root, env=env)
    assert out.returncode == 5, out.stdout + out.stderr
    assert "cover art" in [c["label"] for c in _attention(root, sid)["calls"]]
    assert fal_fake.submits(APPS["image"]) == []
    again = _taken_unseen(root, sid, fal_fake)  # a track's submit may have been on the wire too

    done = runner("resume", sid, "--resend-all", root=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(fal_fake.submits(APPS["image"])) == 1  # never more submits than assets
    assert len(fal_fake.submits(APPS["music"])) == 1 + again["music"]
    assert len(fal_fake.submits(APPS["video"])) == 1


def test_resend_names_only_a_request_that_waits(root, tmp_path, fal_fake):
    env = paid_env(tmp_path, fal=fal_fake)
    fal_fake.hold_submit = {"app": APPS["image"], "n": 1, "accept": True}
    sid = _killed_run(root, env, fal_fake.submit_held, "--minutes", "0.5", "--tracks", "1", fakes=(fal_fake,))
    out = runner("resume", sid, "--resend", "track 9/9", root=root, env=env)
    assert out.returncode == 2 and "no request with an unknown outcome matches 'track 9/9'" in out.stderr
    assert "cover art" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert len(fal_fake.submits(APPS["image"])) == 1


@pytest.mark.parametrize("moment", ["before", "mid"])
def test_a_kill_while_elevenlabs_answers_never_generates_the_ambience_twice_unasked(root, tmp_path, fal_fake,
                                                                                    elevenlabs_fake, moment):
    # ElevenLabs answers in one response: there is nothing to follow, so a kill after the
    # request went out (before any answer, or half-way through the audio) is unknown. Once the
    # answer has begun, its `request-id` header is already on record, for the person to look up.
    env = paid_env(tmp_path, fal=fal_fake, elevenlabs=elevenlabs_fake)
    elevenlabs_fake.hold = moment
    sid = _killed_run(root, env, elevenlabs_fake.held, "--minutes", "0.5", "--tracks", "1",
                      fakes=(elevenlabs_fake, fal_fake))
    elevenlabs_fake.hold = None

    out = runner("resume", sid, root=root, env=env)
    assert out.returncode == 5, out.stdout + out.stderr
    [call] = _attention(root, sid)["calls"]
    assert call["provider"] == "elevenlabs" and "elevenlabs.io" in call["check"]
    assert len(elevenlabs_fake.bodies()) == 1
    first_id = elevenlabs_fake.request_ids[0] if moment == "mid" else None
    assert call["request_id"] == first_id
    assert (f"as request {first_id}" in _attention(root, sid)["message"]) == (moment == "mid")

    done = runner("resume", sid, "--resend", call["id"], root=root, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(elevenlabs_fake.bodies()) == 2  # the one asked for, and nothing else
    lines = [e for e in ledger(root, sid) if e["asset"] == "ambience" and e["phase"] in ("actual", "unconfirmed")]
    assert [(e["phase"], e.get("request_id")) for e in lines] == [("unconfirmed", first_id),
                                                                  ("actual", elevenlabs_fake.request_ids[-1])]
    state = store.read_state(root, sid)
    assert state["cost"]["by_asset"]["ambience"] == pytest.approx(AMBIENCE)
    assert state["cost"]["unconfirmed_usd"] == pytest.approx(AMBIENCE)
