"""The few places where the runner reaches inside a provider SDK, checked before they are used.

Pointing fal_client at other hosts means assigning its module globals, and continuing an
interrupted YouTube upload means setting one private attribute of googleapiclient's request.
Assigning a name an SDK no longer has raises nothing in Python: the new value is simply
ignored, and the SDK would then talk to its real hosts, or restart an upload from byte 0.
Every such seam goes through here, so a renamed attribute stops the run with one line naming
the package, its version and the range this runner was tested with.

TESTED_MAJORS is that range; pyproject.toml bounds the same packages to the same majors
(tests/test_sdk_seams.py keeps the two in step).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, Mapping

from .errors import ProviderError

# Package name on PyPI -> the major version whose seams the tests exercise (November 2026:
# fal-client 1.0.3, elevenlabs 2.78.0, google-api-python-client 2.202.0, google-auth-oauthlib 1.5.0).
TESTED_MAJORS: dict[str, int] = {
    "fal-client": 1,
    "elevenlabs": 2,
    "google-api-python-client": 2,
    "google-auth-oauthlib": 1,
}

# googleapiclient's HttpRequest flag that makes the next call ask the server for the offset
# it holds (PUT, Content-Range: bytes */size) before sending more; no public API sets it.
GOOGLE_RESUME_ATTRIBUTE = "_in_error_state"


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"


def _mismatch(package: str, where: str, names: list[str]) -> ProviderError:
    return ProviderError(
        f"{package} {version_of(package)} has no {', '.join(f'{where}.{n}' for n in names)}, which this runner "
        f"sets (tested with {package} {TESTED_MAJORS.get(package, '?')}.x): nothing was sent; install a tested "
        "version with `pip install -e .`")


def set_globals(module: Any, values: Mapping[str, Any], *, package: str) -> None:
    """Assign module-level names of an SDK, all or none.

    Raises ProviderError (one line: package, version, missing names) when any name is absent,
    before anything is assigned.
    """
    missing = [name for name in values if not hasattr(module, name)]
    if missing:
        raise _mismatch(package, module.__name__, missing)
    for name, value in values.items():
        setattr(module, name, value)


def set_attribute(obj: Any, name: str, value: Any, *, package: str) -> None:
    """Assign an existing attribute of an SDK object; ProviderError when it has no such attribute."""
    if not hasattr(obj, name):
        raise _mismatch(package, type(obj).__name__, [name])
    setattr(obj, name, value)
