"""ElevenLabs' sound-effects endpoint over plain HTTP (the SDK takes any base_url).

  sfx  POST /v1/sound-generation?output_format=... -> audio/mpeg bytes

A request needs the `xi-api-key` header; the JSON body is recorded so tests can check that
loop=true and duration_seconds <= 30 were asked for. Every audio answer carries a fresh
`request-id` header, as ElevenLabs' do; `request_ids` lists them in the order they were sent. `hold` keeps a request waiting (before
any answer, or after half the audio) so a test can kill the runner at that moment.
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from .server import FakeService, Reply, Request


class ElevenLabsFake(FakeService):
    name = "elevenlabs"

    def __init__(self, audio: Path, *, key: str = "test-elevenlabs-key"):
        super().__init__(None)
        self.key = key
        self.audio = Path(audio).read_bytes()
        # Kill hooks: "before" holds a request before answering; "mid" sends the headers and
        # half the audio, then holds. `held` is set while it waits for `release`.
        self.hold: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.request_ids: list[str] = []

    def route(self, req: Request) -> str:
        return "sfx" if req.path == "/v1/sound-generation" else "unknown"

    def handle(self, req: Request) -> Reply | None:
        if req.headers.get("xi-api-key") != self.key:
            return Reply.json({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, 401)
        if req.route != "sfx":
            return Reply.json({"detail": "not found"}, 404)
        body = req.json()
        if not body.get("text") or not 0.5 <= float(body.get("duration_seconds", 1)) <= 30:
            return Reply.json({"detail": {"status": "invalid_request", "message": "bad duration"}}, 422)
        if self.hold == "before":
            self.held.set()
            self.release.wait(60)
            return None
        headers = {"Content-Type": "audio/mpeg", "request-id": self._new_request_id()}
        if self.hold == "mid":
            return Reply(200, self.audio, headers, hold_after=len(self.audio) // 2, hold=self._hold_mid)
        return Reply(200, self.audio, headers)

    def _new_request_id(self) -> str:
        with self.lock:
            self.request_ids.append(secrets.token_hex(10))
            return self.request_ids[-1]

    def _hold_mid(self) -> None:
        self.held.set()
        self.release.wait(60)

    def bodies(self) -> list[dict]:
        return [r.json() for r in self.routed("sfx") if r.headers.get("xi-api-key") == self.key]
