"""Step 7: the YouTube upload, private unless the person said otherwise.

A title that repeats an earlier session's (runner/titles.py) is refused here, before anything
is sent: the metadata step varies titles, so this only happens when every pattern is taken
or a person edited metadata.json.
"""

from __future__ import annotations

import json
from typing import Any

from .. import metadata, titles
from ..pipeline import Skip, StepContext, StepResult
from ..providers.errors import UploadError


async def run(ctx: StepContext) -> StepResult:
    if not ctx.params.get("upload", True):
        raise Skip("upload turned off for this run (--no-upload)")
    uploader = ctx.providers.uploader
    reason = uploader.unavailable_reason()
    if reason:
        raise Skip(reason)
    final = ctx.session_dir / ctx.outputs_of("render")["final"]
    thumb = ctx.session_dir / ctx.outputs_of("artwork")["thumbnail"]
    meta = _checked_metadata(ctx)
    clash = titles.earlier(ctx.root, ctx.state["id"]).get(titles.normalise(meta["title"]))
    if clash:
        raise UploadError(f"title {meta['title']!r} repeats session {clash}'s once case, punctuation and numbers "
                          "are set aside; not uploaded: edit the title in metadata.json, then resume")
    privacy = ctx.state.get("privacy_override") or ctx.params["privacy"]
    result = await uploader.upload(ctx, final, thumb, meta, privacy)
    # The privacy YouTube answered is the one recorded; a lock (unaudited API project) is said.
    actual = result.get("privacy") or privacy
    note = result.get("privacy_note")
    return StepResult({"video_id": result.get("id"), "url": result.get("url"), "privacy": actual,
                       "privacy_requested": privacy, "privacy_note": note,
                       "quota_units": result.get("quota_units"), "publish_at": result.get("publish_at"),
                       "playlist_id": result.get("playlist_id")},
                      note or (f"{result.get('url')}, publishes at {result['publish_at']}" if result.get("publish_at")
                               else result.get("url")))


def _checked_metadata(ctx: StepContext) -> dict[str, Any]:
    """metadata.json as it is now (a person may have edited it during review), if YouTube would take it."""
    path = ctx.session_dir / "metadata.json"
    resume = f"fix {path.name}, then run `python -m runner resume {ctx.state['id']}`"
    try:
        meta = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise UploadError(f"{path.name} is unreadable ({type(exc).__name__}); {resume}") from None
    video_s = ctx.outputs_of("render").get("seconds") or float(ctx.params["minutes"]) * 60
    issues = metadata.problems(meta, video_s)
    if issues:
        raise UploadError(f"{path.name} breaks YouTube's rules: {'; '.join(issues[:3])}; {resume}")
    return meta
