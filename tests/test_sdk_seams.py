"""The places where the runner sets SDK internals exist in the installed SDKs, and a missing one
stops the run with one line instead of sending traffic to the real hosts.

That fal_client still has every global configure_sdk sets is
tests/test_paid_fal.py::test_hosts_come_from_the_environment."""

from __future__ import annotations

import re
import types
from pathlib import Path

import pytest

from runner.providers import sdk
from runner.providers.errors import ProviderError

REPO = Path(__file__).resolve().parent.parent


def test_a_renamed_sdk_global_fails_loudly_and_nothing_is_assigned():
    module = types.ModuleType("fal_client.client")
    module.RUN_URL_FORMAT = "https://fal.run/"
    module.REST_URL = "https://rest.fal.ai"  # QUEUE_URL_FORMAT is "renamed" in this future SDK
    with pytest.raises(ProviderError) as info:
        sdk.set_globals(module, {"RUN_URL_FORMAT": "https://127.0.0.1:9/", "QUEUE_URL_FORMAT": "https://q/",
                                 "REST_URL": "https://127.0.0.1:9"}, package="fal-client")
    message = str(info.value)
    assert "fal_client.client.QUEUE_URL_FORMAT" in message and "tested with fal-client 1.x" in message
    assert "\n" not in message
    # All or none: the real hosts are not half-replaced.
    assert module.RUN_URL_FORMAT == "https://fal.run/" and module.REST_URL == "https://rest.fal.ai"


def test_the_installed_googleapiclient_request_has_the_resume_flag():
    from googleapiclient.discovery import build
    from googleapiclient.http import MediaInMemoryUpload

    service = build("youtube", "v3", developerKey="offline", static_discovery=True, cache_discovery=False)
    media = MediaInMemoryUpload(b"\0" * 1024, mimetype="video/mp4", resumable=True)
    req = service.videos().insert(part="snippet,status", body={}, media_body=media)
    assert hasattr(req, sdk.GOOGLE_RESUME_ATTRIBUTE)
    sdk.set_attribute(req, sdk.GOOGLE_RESUME_ATTRIBUTE, True, package="google-api-python-client")
    assert getattr(req, sdk.GOOGLE_RESUME_ATTRIBUTE) is True


def test_a_missing_private_attribute_is_refused_not_silently_added():
    class Request:  # an SDK whose request no longer has the flag
        resumable_uri = None

    req = Request()
    with pytest.raises(ProviderError, match="Request._in_error_state"):
        sdk.set_attribute(req, sdk.GOOGLE_RESUME_ATTRIBUTE, True, package="google-api-python-client")
    assert not hasattr(req, sdk.GOOGLE_RESUME_ATTRIBUTE)


def test_pyproject_bounds_each_sdk_to_the_major_tested_and_the_installed_one_is_inside():
    text = (REPO / "pyproject.toml").read_text()
    for package, major in sdk.TESTED_MAJORS.items():
        m = re.search(rf'"{re.escape(package)}>=([0-9.]+),<([0-9]+)"', text)
        assert m, f"{package} has no upper bound in pyproject.toml"
        assert int(m.group(1).split(".")[0]) == major and int(m.group(2)) == major + 1, package
        installed = sdk.version_of(package)
        assert int(installed.split(".")[0]) == major, f"{package} {installed} installed, tested {major}.x"
