"""provenance.json: where every asset of a session came from (the own-asset and paid runs are in
test_own_music.py, test_own_loop.py and test_own_artwork.py)."""

from __future__ import annotations

import json

from helpers import params, run_cli

from runner import provenance, sessions, store


def test_a_keyless_run_records_the_local_maker_and_every_seed(root):
    out = run_cli("run", "--theme", "rainy night", "--minutes", "0.4", "--tracks", "2", "--no-upload", root=root,
                  timeout=600)
    assert out.returncode == 0, out.stderr
    sid = out.stdout.splitlines()[0]
    state = store.read_state(root, sid)
    prov = json.loads((store.session_dir(root, sid) / "provenance.json").read_text())
    v = state["steps"]["variation"]["outputs"]["variation"]
    local = {"source": "generated", "provider": "local", "model": "procedural-v1", "request_id": None, "prompt": None}
    assert prov["artwork"] == {**local, "seed": v["seed"]} and prov["loop"] == {**local, "seed": v["seed"]}
    assert prov["ambience"] == {**local, "seed": v["seed"]}
    assert [(t["index"], t["title"], t["seed"]) for t in prov["tracks"]] == [
        (s["index"], s["title"], s["seed"]) for s in v["tracks"][:2]]
    assert all({**t, "seed": None, "index": None, "title": None, "artist": None} ==
               {**local, "seed": None, "index": None, "title": None, "artist": None} for t in prov["tracks"])
    assert prov["license_note"] is None and prov["session"] == sid
    shown = run_cli("show", sid, root=root).stdout
    assert f"artwork   made by local procedural-v1 seed {v['seed']}" in shown


def test_a_new_session_names_its_files_before_any_step_has_run(tmp_path):
    state = sessions.create(tmp_path, params(license_note="CC BY 4.0, Ada Reed", music="library/a", tracks=None,
                                             minutes=1), own={
        "music": {"source": "library/a", "tracks": [{"path": "library/a/1.flac", "sha256": "ab" * 32, "title": "One",
                                                      "artist": "Ada Reed"}]},
        "artwork": {"path": "library/cover.png", "sha256": "cd" * 32}})
    prov = provenance.read(store.session_dir(tmp_path, state["id"]))
    assert prov is not None and prov["license_note"] == "CC BY 4.0, Ada Reed"
    assert prov["artwork"] == {"source": "file", "path": "library/cover.png", "sha256": "cd" * 32}
    assert prov["tracks"] == [{"index": 1, "title": "One", "artist": "Ada Reed", "source": "file",
                               "path": "library/a/1.flac", "sha256": "ab" * 32}]
    assert prov["loop"] is None and prov["ambience"] is None  # not made yet
