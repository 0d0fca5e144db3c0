"""Which provider makes what, from the run's parameters and the environment.

Paid SDKs are imported only inside their own provider modules, and those modules only when a
run asks for them, so a local run never imports fal-client, elevenlabs or googleapiclient.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from .. import store
from .base import ProviderSet


class NoUploader:
    """Stands in when YouTube is not set up; the upload step is skipped with this reason."""

    name = "none"

    def __init__(self, reason: str):
        self.reason = reason

    def unavailable_reason(self) -> str | None:
        return self.reason

    async def upload(self, *a: Any, **kw: Any) -> dict[str, Any]:  # pragma: no cover - never called
        raise RuntimeError(self.reason)


def youtube_uploader(env: Mapping[str, str]) -> Any:
    try:
        from . import youtube  # noqa: PLC0415 - imported only when an upload could happen
    except ImportError:
        return NoUploader("no YouTube credentials: set YOUTUBE_CLIENT_SECRETS in .env, then run "
                          "`python -m runner auth youtube`")
    return youtube.uploader_from_env(env)


def build(params: dict[str, Any], env: Mapping[str, str] | None = None) -> ProviderSet:
    env = os.environ if env is None else env
    from . import local  # noqa: PLC0415

    made = local.local_providers()
    art, motion, music, ambience = made["art"], made["motion"], made["music"], made["ambience"]
    if params["provider"] == "fal":
        from . import fal  # noqa: PLC0415

        art, motion, music = fal.FalArt(env), fal.FalMotion(env), fal.FalMusic(env)
    own = store.unpaid_assets(params)  # what the person brought (runner/library.py) is never made or paid
    if env.get("ELEVENLABS_API_KEY") and params["atmosphere"] != "none" and "ambience" not in own:
        from . import elevenlabs  # noqa: PLC0415

        ambience = elevenlabs.ElevenLabsAmbience(env)
    if "image" in own:
        from . import own as theirs  # noqa: PLC0415

        art = theirs.OwnArt() if params.get("artwork") else theirs.LoopFrameArt()
        if "video" in own:
            motion = theirs.OwnLoop()
    uploader = youtube_uploader(env) if params.get("upload", True) else NoUploader("upload turned off")
    return ProviderSet(art=art, motion=motion, music=music, ambience=ambience, uploader=uploader)
