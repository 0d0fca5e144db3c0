"""Step 6: metadata.json with a lofi title, a chaptered tracklist and tags."""

from __future__ import annotations

from typing import Any

from .. import metadata, store


async def run(ctx) -> dict[str, Any]:
    music = ctx.outputs_of("music")
    meta = metadata.build(ctx.params, ctx.variation, music.get("segments") or [], music.get("tracks") or [])
    issues = metadata.problems(meta)
    if issues:  # build() keeps within limits; this guards against a future change breaking that
        raise ValueError("metadata breaks YouTube limits: " + "; ".join(issues))
    store.atomic_write_json(ctx.session_dir / "metadata.json", meta)
    ctx.state["title"] = meta["title"]
    return {"metadata": "metadata.json", "title": meta["title"]}, meta["title"]
