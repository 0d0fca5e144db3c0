"""fal's queue protocol, storage upload and CDN, on one TLS port.

Routes (the `route` names tests count and inject failures on):
  submit    POST /{app...}                      -> {request_id, response_url, status_url, cancel_url}
  status    GET  /{owner}/{alias}/requests/{id}/status?logs=1
                 -> IN_QUEUE (position), then IN_PROGRESS (logs), then COMPLETED
  result    GET  /{owner}/{alias}/requests/{id} -> the model's output JSON (URLs on this fake)
  cancel    PUT  /{owner}/{alias}/requests/{id}/cancel
  token     POST /storage/auth/token            -> a CDN token whose base_url is this fake
  upload    POST /files/upload                  -> {access_url}; the bytes become servable
  media     GET  /media/{name}                  -> a file, with its content type

Point the SDK here with FAL_RUN_HOST = FAL_QUEUE_RUN_HOST = FAL_REST_HOST = FAL_CDN_HOST = host.
A request needs `Authorization: Key <key>`; anything else is a 401, as on fal.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

from .server import FakeService, Reply, Request
from .tls import TLSFiles

APPS = {
    "image": "fal-ai/flux/dev",
    "video": "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
    "music": "fal-ai/minimax-music/v2",
}
TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".mp4": "video/mp4", ".mp3": "audio/mpeg", ".wav": "audio/wav"}


class FalFake(FakeService):
    name = "fal"

    def __init__(self, tls: TLSFiles, media: dict[str, Path], *, key: str = "test-fal-key",
                 polls_in_queue: int = 1, polls_in_progress: int = 1):
        super().__init__(tls)
        self.key = key
        self.media: dict[str, tuple[bytes, str]] = {}
        for name, path in media.items():
            self.media[name] = (Path(path).read_bytes(), TYPES.get(Path(path).suffix, "application/octet-stream"))
        self.polls_in_queue = polls_in_queue
        self.polls_in_progress = polls_in_progress
        self._ids = itertools.count(1)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.uploads: list[bytes] = []
        # Hold one app's requests IN_PROGRESS until released (a kill-while-rendering test).
        self.hold_app: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        # Kill-at-submit hook: hold the n-th submit to `app` without answering until `release`,
        # having taken it (accept=True: a job exists and would be billed) or not (accept=False).
        # `submit_held` is set once it waits; the test kills the runner in that window.
        self.hold_submit: dict[str, Any] | None = None
        self.submit_held = threading.Event()
        # Serve this media under a different content type (a wrong-type download test).
        self.content_type_override: dict[str, str] = {}

    # -- what tests ask -----------------------------------------------------------------------

    def submits(self, app: str | None = None) -> list[dict[str, Any]]:
        """The arguments of every accepted submission (to app, or to any)."""
        with self.lock:
            return [j["arguments"] for j in self.jobs.values() if app is None or j["app"] == app]

    def submit_attempts(self, app: str) -> int:
        return sum(1 for r in self.routed("submit") if r.path == "/" + app)

    # -- routing ------------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        p = req.path
        if p.startswith("/media/"):
            return "media"
        if p == "/storage/auth/token":
            return "token"
        if p == "/files/upload":
            return "upload"
        if "/requests/" in p:
            if p.endswith("/status"):
                return "status"
            if p.endswith("/cancel"):
                return "cancel"
            return "result"
        return "submit" if req.method == "POST" else "unknown"

    def handle(self, req: Request) -> Reply | None:
        if req.route == "media":
            return self._media(req.path[len("/media/"):])
        if req.headers.get("authorization") not in (f"Key {self.key}", "Bearer cdn-token"):
            return Reply.json({"detail": "No user found for Key ID and Secret"}, 401)
        if req.route == "token":
            return Reply.json({"token": "cdn-token", "token_type": "Bearer", "base_url": self.base_url,
                               "expires_at": "2099-01-01T00:00:00+00:00"})
        if req.route == "upload":
            with self.lock:
                self.uploads.append(req.body)
                n = len(self.uploads)
            ext = {"image/png": ".png", "image/jpeg": ".jpg"}.get(req.headers.get("content-type", ""), ".bin")
            name = f"upload-{n}{ext}"
            self.media[name] = (req.body, req.headers.get("content-type", "application/octet-stream"))
            return Reply.json({"access_url": f"{self.base_url}/media/{name}"})
        if req.route == "submit":
            return self._submit(req)
        rid = req.path.split("/requests/")[1].split("/")[0]
        with self.lock:
            job = self.jobs.get(rid)
        if job is None:
            return Reply.json({"detail": "Request not found"}, 404)
        if req.route == "status":
            return self._status(job)
        if req.route == "cancel":
            return Reply.json({"status": "CANCELLATION_REQUESTED"}, 202)
        if req.route == "result":
            if job["polls"] < self.polls_in_queue + self.polls_in_progress:
                return Reply.json({"detail": "Request is still in progress"}, 400)
            return Reply.json(self._output(job))
        return Reply(404)

    def _submit(self, req: Request) -> Reply | None:
        app = req.path.lstrip("/")
        if app not in APPS.values():
            return Reply.json({"detail": f"Application '{app}' not found"}, 404)
        hold = self.hold_submit
        if hold is not None and hold["app"] == app and self.submit_attempts(app) == hold["n"]:
            reply = self._take(req, app) if hold.get("accept", True) else None
            self.submit_held.set()
            self.release.wait(60)
            return reply  # to a runner that is gone by now; None drops the connection
        return self._take(req, app)

    def _take(self, req: Request, app: str) -> Reply:
        arguments = req.json()
        rid = f"req-{next(self._ids):04d}"
        owner, alias = app.split("/")[:2]
        base = f"{self.base_url}/{owner}/{alias}/requests/{rid}"
        with self.lock:
            n_of_app = sum(1 for j in self.jobs.values() if j["app"] == app)
            self.jobs[rid] = {"app": app, "arguments": arguments, "polls": 0, "n": n_of_app}
        return Reply.json({"request_id": rid, "response_url": base, "status_url": base + "/status",
                           "cancel_url": base + "/cancel", "queue_position": 0})

    def _status(self, job: dict[str, Any]) -> Reply:
        with self.lock:
            polls = job["polls"]
            held = self.hold_app is not None and job["app"] == self.hold_app and not self.release.is_set()
            if not held or polls < self.polls_in_queue:
                job["polls"] += 1
        logs = [{"message": f"step {i + 1}: generating", "level": "INFO", "source": "user",
                 "timestamp": "2026-11-21T03:15:00"} for i in range(max(0, polls - self.polls_in_queue + 1))]
        if polls < self.polls_in_queue:
            return Reply.json({"status": "IN_QUEUE", "queue_position": self.polls_in_queue - polls - 1})
        if held or polls < self.polls_in_queue + self.polls_in_progress:
            if held:
                self.held.set()
            return Reply.json({"status": "IN_PROGRESS", "logs": logs})
        return Reply.json({"status": "COMPLETED", "logs": logs, "metrics": {"inference_time": 0.01}})

    def _output(self, job: dict[str, Any]) -> dict[str, Any]:
        app = job["app"]
        if app == APPS["image"]:
            return {"images": [{"url": f"{self.base_url}/media/art.png", "width": 1920, "height": 1080,
                                "content_type": "image/png"}], "seed": job["arguments"].get("seed", 0)}
        if app == APPS["video"]:
            return {"video": {"url": f"{self.base_url}/media/clip.mp4"}}
        tracks = sorted(k for k in self.media if k.startswith("track"))
        return {"audio": {"url": f"{self.base_url}/media/{tracks[job['n'] % len(tracks)]}"}}

    def _media(self, name: str) -> Reply:
        with self.lock:
            self.requests[-1].route = "media"
        if name not in self.media:
            return Reply.json({"detail": "not found"}, 404)
        data, ctype = self.media[name]
        return Reply(200, data, {"Content-Type": self.content_type_override.get(name, ctype)})
