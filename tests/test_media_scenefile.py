"""The painted scene's layers on disk: what the artwork step hands the motion step."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from media_helpers import variation
from runner.media import art, motion, scenefile
from runner.steps import motion as motion_step


@pytest.fixture(scope="module")
def painted(tmp_path_factory):
    v = variation(11, "winter")
    path = tmp_path_factory.mktemp("scene") / "artwork-layers.npz"
    scene = art.build_scene(v)
    scenefile.save(scene, v, path)
    return {"v": v, "path": path, "scene": scene}


def test_a_loaded_scene_makes_the_same_loop_frames_as_the_painted_one(painted):
    loaded = scenefile.load(painted["path"], painted["v"])
    assert loaded is not None
    fresh = art.build_scene(painted["v"])
    a, b = motion.LoopBuilder(fresh, motion.FRAMES), motion.LoopBuilder(loaded, motion.FRAMES)
    for i in (0, 37, motion.FRAMES // 2, motion.FRAMES - 1):
        assert a.frame(i) == b.frame(i), f"frame {i} differs"


def test_layers_painted_for_another_variation_are_not_used(painted):
    assert scenefile.load(painted["path"], variation(12, "winter")) is None


def test_a_missing_or_corrupt_file_loads_as_nothing(painted, tmp_path):
    assert scenefile.load(tmp_path / "absent.npz", painted["v"]) is None
    broken = tmp_path / "broken.npz"
    broken.write_bytes(painted["path"].read_bytes()[:4096])
    assert scenefile.load(broken, painted["v"]) is None
    (tmp_path / "text.npz").write_text("not a zip")
    assert scenefile.load(tmp_path / "text.npz", painted["v"]) is None


def _with_manifest(tmp_path, v, tree) -> object:
    manifest = json.dumps({"key": art.scene_key(v), "scene": tree}).encode()
    path = tmp_path / "forged.npz"
    np.savez(path, manifest=np.frombuffer(manifest, np.uint8))
    return path


def test_a_forged_manifest_builds_nothing_it_does_not_know(painted, tmp_path):
    v = painted["v"]
    for tree in ({"class": "Popen", "fields": {}}, {"class": "Scene", "fields": {}}, {"array": "nope"},
                 "just a string", {"tuple": [{"weird": 1}]}):
        assert scenefile.load(_with_manifest(tmp_path, v, tree), v) is None, tree


def test_a_pickled_array_is_refused(painted, tmp_path):
    v = painted["v"]
    buf = io.BytesIO()
    np.save(buf, np.array([object()], dtype=object), allow_pickle=True)
    path = _with_manifest(tmp_path, v, {"array": "evil"})
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("evil.npy", buf.getvalue())
    assert scenefile.load(path, v) is None


def test_a_scene_with_a_value_the_format_cannot_store_fails_loudly(painted, tmp_path):
    odd = art.build_scene(painted["v"])
    odd.lights = [object()]  # a field type added to art.Scene without teaching scenefile
    with pytest.raises(scenefile.SceneFileError, match="lights"):
        scenefile.save(odd, painted["v"], tmp_path / "odd.npz")
    assert not list(tmp_path.iterdir()), "nothing half-written is left behind"


def test_the_motion_step_never_touches_a_layers_path_outside_the_session_folder(tmp_path):
    session = tmp_path / "s"
    session.mkdir()
    (tmp_path / "victim.npz").write_bytes(b"x")
    (session / "artwork-layers.npz").write_bytes(b"x")
    for name in ("../victim.npz", str(tmp_path / "victim.npz"), "..", "", None, 3):
        assert motion_step._layers(session, name) is None, name
    assert motion_step._layers(session, "artwork-layers.npz") == session / "artwork-layers.npz"
