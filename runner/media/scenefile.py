"""The painted scene on disk: how the artwork step hands its layers to the motion step.

Painting a scene (`art.build_scene`) takes a couple of seconds; the motion loop animates the
same layers. The artwork step saves them next to the cover and the motion step loads them,
so nothing passes between steps outside the session folder and a resumed run finds them too.

The file is an uncompressed NumPy .npz (arrays only, read with allow_pickle=False) holding a
JSON manifest: the scene key (`art.scene_key`) and the dataclass tree with every array by
name. A scene holds no callables (should one, it is not stored but rebuilt by name).
Anything read back is checked: a missing, foreign, corrupt or stale file loads as None and
the caller paints again.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import art

# Dataclasses a scene file may name; nothing else is ever constructed from one.
_CLASSES: dict[str, type] = {"Scene": art.Scene, "Tail": art.Tail, "Patches": art.Patches, "Fire": art.Fire}
_MANIFEST = "manifest"


class SceneFileError(ValueError):
    """A scene holds something this format cannot store (a new field type in art.Scene)."""


def save(scene: art.Scene, variation: dict[str, Any], path: Path) -> None:
    """Write scene's layers to path (under a temporary name, then renamed).

    Raises SceneFileError when the scene holds a value the format cannot store.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(scene, arrays, "scene")
    manifest = json.dumps({"key": art.scene_key(variation), "scene": tree}).encode()
    arrays[_MANIFEST] = np.frombuffer(manifest, np.uint8)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: Path, variation: dict[str, Any]) -> art.Scene | None:
    """The scene saved at path for this variation; None when the file is missing, unreadable,
    or was painted for another variation (the caller then paints again)."""
    rebuild: dict[str, Callable[[], Any]] = {}  # callables a scene holds, rebuilt by name (none today)
    try:
        with np.load(Path(path), allow_pickle=False) as npz:
            manifest = json.loads(npz[_MANIFEST].tobytes())
            if not isinstance(manifest, dict) or manifest.get("key") != art.scene_key(variation):
                return None
            scene = _decode(manifest.get("scene"), npz, rebuild)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
        return None
    return scene if isinstance(scene, art.Scene) else None


def _encode(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(value, (np.ndarray, np.generic)):
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return {"array": name, "scalar": isinstance(value, np.generic)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value).__name__
        if _CLASSES.get(cls) is not type(value):
            raise SceneFileError(f"{where}: {cls} is not a scene class this file format knows")
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if callable(v) and not isinstance(v, type):
                fields[f.name] = {"rebuilt": f"{cls}.{f.name}"}
            else:
                fields[f.name] = _encode(v, arrays, f"{where}.{f.name}")
        return {"class": cls, "fields": fields}
    if isinstance(value, tuple):
        return {"tuple": [_encode(v, arrays, where) for v in value]}
    if isinstance(value, list):
        return {"list": [_encode(v, arrays, where) for v in value]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise SceneFileError(f"{where}: cannot store a {type(value).__name__}")


def _decode(node: Any, npz: Any, rebuild: dict[str, Callable[[], Any]]) -> Any:
    if not isinstance(node, dict) or len(node) == 0:
        raise ValueError("malformed scene manifest")
    if "array" in node:
        arr = npz[str(node["array"])]
        return arr[()] if node.get("scalar") else arr
    if "class" in node:
        cls = _CLASSES[str(node["class"])]
        given = node.get("fields")
        if not isinstance(given, dict):
            raise ValueError("malformed scene manifest")
        kwargs = {}
        for f in dataclasses.fields(cls):
            sub = given[f.name]  # KeyError: a file from before a field was added
            if isinstance(sub, dict) and "rebuilt" in sub:
                kwargs[f.name] = rebuild[str(sub["rebuilt"])]()
            else:
                kwargs[f.name] = _decode(sub, npz, rebuild)
        return cls(**kwargs)
    if "tuple" in node:
        return tuple(_decode(v, npz, rebuild) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, npz, rebuild) for v in node["list"]]
    if "value" in node:
        return node["value"]
    raise ValueError("malformed scene manifest")
