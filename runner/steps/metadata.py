"""Step 6: metadata.json with a lofi title, a chaptered tracklist and tags.

The title never repeats an earlier session's (runner/titles.py): another pattern is taken
when the usual one is used; when all are, the step says so and the upload step refuses.
"""

from __future__ import annotations

from .. import metadata, store, titles
from ..pipeline import StepContext, StepResult


async def run(ctx: StepContext) -> StepResult:
    music = ctx.outputs_of("music")
    video_s = ctx.outputs_of("render").get("seconds") or float(ctx.params["minutes"]) * 60
    meta = metadata.build(ctx.params, ctx.variation, music.get("segments") or [], music.get("tracks") or [],
                          video_s=video_s)
    meta["title"], repeats = titles.choose(titles.candidates(ctx.params, ctx.variation),
                                           titles.earlier(ctx.root, ctx.state["id"]))
    issues = metadata.problems(meta, video_s)
    if issues:  # build() keeps within limits; this guards against a future change breaking that
        raise ValueError("metadata breaks YouTube limits: " + "; ".join(issues))
    store.atomic_write_json(ctx.session_dir / "metadata.json", meta)
    note = meta["title"]
    if repeats:
        note += f" (repeats session {repeats}'s title: the upload will refuse it)"
        ctx.log("WARN", f"every title pattern repeats an earlier session's ({repeats}); edit metadata.json's "
                        "title before uploading")
    return StepResult({"metadata": "metadata.json", "title": meta["title"], "title_repeats": repeats}, note)
