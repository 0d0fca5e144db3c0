"""YouTube's resumable upload, thumbnails, playlist items and Google's OAuth token endpoint, on TLS.

Routes:
  init       POST /upload/youtube/v3/videos?uploadType=resumable  -> 200, Location: the session URI
  chunk      PUT  that URI, Content-Range: bytes a-b/total         -> 308 Range: bytes=0-b, or 200 + video
  query      PUT  that URI, Content-Range: bytes */total           -> 308 with what is held, or 200 when done
  thumbnail  POST /upload/youtube/v3/thumbnails/set?videoId=...
  playlist   POST /youtube/v3/playlistItems
  playlists  GET  /youtube/v3/playlists?mine=true (pages of 2), POST /youtube/v3/playlists (create)
  token      POST /token  (refresh_token and authorization_code grants)

Point googleapiclient here with YOUTUBE_API_ENDPOINT=https://127.0.0.1:PORT/ and a token file
whose token_uri is https://127.0.0.1:PORT/token. `hold_after_chunk=n` makes the fake keep the
n-th chunk (it is stored) but not answer until `release` is set: a test kills the uploader
in that window; `hold_init` opens a session but holds the answer naming it. Quota errors and
the per-day upload limit are injected with `fail_reason(route, status, reason, message=...)`;
`lock_privacy = "private"` answers every video as locked private (an unaudited API project).
"""

from __future__ import annotations

import itertools
import threading
from typing import Any
from urllib.parse import parse_qs

from .server import FakeService, Reply, Request
from .tls import TLSFiles


def error_body(status: int, reason: str, message: str = "") -> dict[str, Any]:
    return {"error": {"code": status, "message": message or reason,
                      "errors": [{"domain": "youtube.quota" if "quota" in reason.lower() else "youtube",
                                  "reason": reason, "message": message or reason}]}}


class YouTubeFake(FakeService):
    name = "youtube"

    def __init__(self, tls: TLSFiles, *, access_token: str = "ya29.test-token",
                 refresh_token: str = "1//test-refresh"):
        super().__init__(tls)
        self.access_tokens = {access_token}
        self.refresh_tokens = {refresh_token}
        self._ids = itertools.count(1)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.bytes_received = 0
        self.hold_after_chunk: int | None = None
        # Open the session (it exists here) but hold the answer with its URI until `release`.
        self.hold_init = False
        # An API project Google has not audited: every video is locked to this privacy.
        self.lock_privacy: str | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.thumbnails: list[str] = []
        self.playlist_items: list[dict[str, Any]] = []
        self.playlists: dict[str, dict[str, Any]] = {}    # id -> the body it was created with
        self.playlist_calls: list[str] = []               # "list" / "insert", in order
        self.auth_codes: set[str] = set()

    def fail_reason(self, route: str, status: int, reason: str, times: int = 1, message: str = "") -> None:
        self.fail(route, *([status] * times), body=error_body(status, reason, message))

    # -- routing ----------------------------------------------------------------------------

    def route(self, req: Request) -> str:
        if req.path == "/token":
            return "token"
        if req.path == "/upload/youtube/v3/videos":
            if req.method == "POST":
                return "init"
            rng = req.headers.get("content-range", "")
            return "query" if rng.startswith("bytes */") else "chunk"
        if req.path == "/upload/youtube/v3/thumbnails/set":
            return "thumbnail"
        if req.path == "/youtube/v3/playlistItems":
            return "playlist"
        if req.path == "/youtube/v3/playlists":
            return "playlists"
        return "unknown"

    def handle(self, req: Request) -> Reply | None:
        if req.route == "token":
            return self._token(req)
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return Reply.json(error_body(401, "authError", "Invalid Credentials"), 401,
                              **{"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'})
        if req.route == "init":
            return self._init(req)
        if req.route in ("chunk", "query"):
            return self._put(req)
        if req.route == "thumbnail":
            self.thumbnails.append(req.q("videoId") or "")
            return Reply.json({"kind": "youtube#thumbnailSetResponse",
                               "items": [{"default": {"url": f"{self.base_url}/vi/thumb.jpg"}}]})
        if req.route == "playlist":
            body = req.json()
            self.playlist_items.append(body)
            return Reply.json({"kind": "youtube#playlistItem", "id": f"pli-{len(self.playlist_items)}",
                               "snippet": body.get("snippet", {})})
        if req.route == "playlists":
            return self._playlists(req)
        return Reply.json(error_body(404, "notFound"), 404)

    def _playlists(self, req: Request) -> Reply:
        if req.method == "POST":
            body = req.json()
            with self.lock:
                self.playlist_calls.append("insert")
                pid = f"PL{next(self._ids):06d}"
                self.playlists[pid] = body
            return Reply.json({"kind": "youtube#playlist", "id": pid, **body})
        with self.lock:
            self.playlist_calls.append("list")
            items = [{"kind": "youtube#playlist", "id": pid, **body} for pid, body in self.playlists.items()]
        start = int(req.q("pageToken") or 0)
        page = {"kind": "youtube#playlistListResponse", "items": items[start:start + 2]}
        if start + 2 < len(items):
            page["nextPageToken"] = str(start + 2)
        return Reply.json(page)

    def _token(self, req: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if form.get("grant_type") == "refresh_token" and form.get("refresh_token") in self.refresh_tokens:
            token = f"ya29.refreshed-{next(self._ids)}"
            self.access_tokens.add(token)
            return Reply.json({"access_token": token, "expires_in": 3599, "token_type": "Bearer",
                               "scope": "https://www.googleapis.com/auth/youtube.upload"})
        if form.get("grant_type") == "authorization_code" and form.get("code") in self.auth_codes:
            token = f"ya29.granted-{next(self._ids)}"
            self.access_tokens.add(token)
            return Reply.json({"access_token": token, "refresh_token": "1//granted-refresh", "expires_in": 3599,
                               "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/youtube.upload"})
        return Reply.json({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}, 400)

    def _init(self, req: Request) -> Reply:
        total = int(req.headers.get("x-upload-content-length") or 0)
        sid = f"up-{next(self._ids)}"
        with self.lock:
            self.sessions[sid] = {"total": total, "data": bytearray(), "meta": req.json(),
                                  "query": dict(req.query), "chunks": 0, "video": None}
        if self.hold_init:
            self.held.set()
            self.release.wait(60)
        return Reply(200, b"", {"Location": f"{self.base_url}/upload/youtube/v3/videos?uploadType=resumable"
                                            f"&upload_id={sid}"})

    def _put(self, req: Request) -> Reply | None:
        sid = req.q("upload_id") or ""
        with self.lock:
            sess = self.sessions.get(sid)
        if sess is None:
            return Reply.json(error_body(404, "notFound", "upload session not found"), 404)
        if req.route == "query":
            return self._progress(sess)
        rng = req.headers["content-range"][len("bytes "):]
        span, _, total = rng.partition("/")
        start, _, end = span.partition("-")
        start_i, end_i = int(start), int(end)
        with self.lock:
            self.bytes_received += len(req.body)
            if len(req.body) != end_i - start_i + 1 or start_i != len(sess["data"]):
                # A cut or misplaced chunk is not kept; the client must ask where to resume.
                return Reply.json(error_body(400, "badContentRange"), 400)
            sess["data"] += req.body
            sess["chunks"] += 1
            chunk_no = sess["chunks"]
        reply = self._progress(sess)  # the last chunk makes the video before any hold
        if self.hold_after_chunk is not None and chunk_no == self.hold_after_chunk:
            self.held.set()
            self.release.wait(30)
        return reply

    def _progress(self, sess: dict[str, Any]) -> Reply:
        held = len(sess["data"])
        if held >= sess["total"] > 0:
            with self.lock:
                if sess["video"] is None:
                    vid = f"vid{next(self._ids):05d}"
                    meta = sess["meta"]
                    status = dict(meta.get("status") or {})
                    if self.lock_privacy:
                        status["privacyStatus"] = self.lock_privacy
                    self.videos[vid] = {"id": vid, "snippet": meta.get("snippet"), "status": status,
                                        "bytes": held, "query": sess["query"]}
                    sess["video"] = vid
            return Reply.json({"kind": "youtube#video", "id": sess["video"], **{
                k: v for k, v in self.videos[sess["video"]].items() if k in ("snippet", "status")}})
        headers = {"Range": f"bytes=0-{held - 1}"} if held else {}
        return Reply(308, b"", headers)
