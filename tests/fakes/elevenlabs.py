"""ElevenLabs' sound-effects endpoint over plain HTTP (the SDK takes any base_url).

  sfx  POST /v1/sound-generation?output_format=... -> audio/mpeg bytes

A request needs the `xi-api-key` header; the JSON body is recorded so tests can check that
loop=true and duration_seconds <= 30 were asked for.
"""

from __future__ import annotations

from pathlib import Path

from .server import FakeService, Reply, Request


class ElevenLabsFake(FakeService):
    name = "elevenlabs"

    def __init__(self, audio: Path, *, key: str = "test-elevenlabs-key"):
        super().__init__(None)
        self.key = key
        self.audio = Path(audio).read_bytes()

    def route(self, req: Request) -> str:
        return "sfx" if req.path == "/v1/sound-generation" else "unknown"

    def handle(self, req: Request) -> Reply:
        if req.headers.get("xi-api-key") != self.key:
            return Reply.json({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
        if req.route != "sfx":
            return Reply.json({"detail": "not found"}, 404)
        body = req.json()
        if not body.get("text") or not 0.5 <= float(body.get("duration_seconds", 1)) <= 30:
            return Reply.json({"detail": {"status": "invalid_request", "message": "bad duration"}}, 422)
        return Reply(200, self.audio, {"Content-Type": "audio/mpeg"})

    def bodies(self) -> list[dict]:
        return [r.json() for r in self.routed("sfx") if r.headers.get("xi-api-key") == self.key]
