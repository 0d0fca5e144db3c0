"""The YouTube upload: resumable, chunked, checkpointed, private unless asked otherwise.

An hour of 1080p is gigabytes; the upload uses YouTube's resumable protocol in 8 MiB chunks,
and after every chunk the session URI and the confirmed offset go into the step's
checkpoint (state.json). A run killed mid-upload and resumed asks YouTube how much it has
(an empty PUT with `Content-Range: bytes */size`) and continues from there instead of
sending the file again. The video id, the thumbnail and the playlist entry are checkpointed
too, so a resume never uploads a second copy.

Every upload declares `containsSyntheticMedia: true` (the art, motion and music are
generated) unless metadata.json says false (only a run of the person's own music, artwork and
loop with no ambience bed: metadata.synthetic), and `selfDeclaredMadeForKids: false`; privacy is private unless the run said
otherwise. YOUTUBE_API_ENDPOINT moves the host; the media endpoints keep https, so a test
fake speaks TLS.

googleapiclient is imported inside the methods: deciding whether an upload is possible
(unavailable_reason) only looks at files.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import importlib.util
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping
from zoneinfo import ZoneInfo

from .. import quota, store
from ..quota import QuotaExhausted, QuotaLedger
from . import sdk, youtube_auth
from .base import ProviderContext
from .errors import ProviderError, UploadError
from .retry import DEFAULT_POLICY, RetryPolicy, TRANSIENT_STATUS, Verdict, network_verdict, with_retries

MiB = 1024 * 1024
CHUNK_BYTES = 8 * MiB  # a multiple of 256 KiB, as the protocol requires
HTTP_TIMEOUT_S = 120
CATEGORY_MUSIC = "10"
PRIVACIES = ("private", "unlisted", "public")

# Quota units per call, from developers.google.com/youtube/v3/determine_quota_cost (checked
# 2026-11): videos.insert has its own bucket of 100 calls a day at 1 unit each; thumbnails.set
# and playlistItems.insert cost 50 each from the shared 10,000 units a day. Resets at midnight PT.
QUOTA_UNITS = {"videos.insert": 1, "thumbnails.set": 50, "playlistItems.insert": 50}

# Where a project applies for Google's audit, without which uploads stay private (the form is
# linked from the YouTube API Services terms, developers.google.com/youtube/terms; checked 2026-11).
AUDIT_URL = "https://support.google.com/youtube/contact/yt_api_form"

# Reasons in a 403 that mean "slow down", not "no".
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"})


def uploader_from_env(env: Mapping[str, str]) -> "YouTubeUploader":
    return YouTubeUploader(env)


def authorize_cli(env: Mapping[str, str], *, playlist: bool = False) -> int:
    """`python -m runner auth youtube`: run the consent flow, store the token; exit code.

    playlist: a series plan names a playlist, so ask for the wider youtube scope too."""
    import sys  # noqa: PLC0415

    try:
        sys.stdout.reconfigure(line_buffering=True)  # the consent address must show at once
    except (AttributeError, ValueError):
        pass
    if importlib.util.find_spec("google_auth_oauthlib") is None:
        print("error: google-auth-oauthlib is not installed: run `pip install -e .`", file=sys.stderr)
        return 2
    try:
        path = youtube_auth.authorize(env, playlist=playlist)
    except UploadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: authorisation cancelled", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the flow's failures (timeout, denied consent) are one line
        print(f"error: authorisation failed ({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); "
              "run `python -m runner auth youtube` again", file=sys.stderr)
        return 1
    print(f"YouTube authorised; token saved to {path} (readable by you only).")
    print("Runs with upload on will now upload privately unless --privacy says otherwise.")
    return 0


class YouTubeUploader:
    name = "youtube"

    def __init__(self, env: Mapping[str, str], *, policy: RetryPolicy = DEFAULT_POLICY,
                 http_factory: Callable[[], Any] | None = None, chunk_bytes: int = CHUNK_BYTES,
                 clock: Callable[[], dt.datetime] = store.utc_now):
        self.env = dict(env)
        self.clock = clock  # for when a daily limit resets
        self.policy = policy
        self.chunk_bytes = chunk_bytes
        self._http_factory = http_factory
        self.endpoint = (env.get("YOUTUBE_API_ENDPOINT") or "").strip() or None
        self.playlist_id = (env.get("YOUTUBE_PLAYLIST_ID") or "").strip() or None

    # -- availability ---------------------------------------------------------------------

    def unavailable_reason(self) -> str | None:
        token = youtube_auth.token_path(self.env)
        if token.is_file():
            if importlib.util.find_spec("googleapiclient") is None:
                return "google-api-python-client is not installed: run `pip install -e .`"
            return None
        secrets = youtube_auth.secrets_path(self.env)
        if secrets is None:
            return ("no YouTube credentials: set YOUTUBE_CLIENT_SECRETS in .env to your OAuth client file "
                    "(docs/providers.md), then run `python -m runner auth youtube`")
        if not secrets.is_file():
            return (f"YOUTUBE_CLIENT_SECRETS points at {secrets}, which does not exist: download the OAuth "
                    "client JSON (docs/providers.md), then run `python -m runner auth youtube`")
        return f"YouTube is not authorised yet: run `python -m runner auth youtube` (the token goes to {token})"

    # -- the upload -----------------------------------------------------------------------

    def _http(self) -> Any:
        if self._http_factory is not None:
            http = self._http_factory()
        else:
            import httplib2  # noqa: PLC0415

            http = httplib2.Http(timeout=HTTP_TIMEOUT_S)
        # In the resumable protocol 308 means "resume incomplete", not a redirect to follow
        # (googleapiclient's own build_http makes the same change).
        if hasattr(http, "redirect_codes"):
            http.redirect_codes = set(http.redirect_codes) - {308}
        return http

    def _service(self, creds: Any) -> tuple[Any, "_SessionWatch"]:
        import google_auth_httplib2  # noqa: PLC0415
        from googleapiclient.discovery import build  # noqa: PLC0415

        watch = _SessionWatch(google_auth_httplib2.AuthorizedHttp(creds, http=self._http()))
        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        # The discovery document ships inside the package: building needs no network.
        service = build("youtube", "v3", http=watch, client_options=options, static_discovery=True,
                        cache_discovery=False)
        return service, watch

    async def upload(self, ctx: ProviderContext, final: Path, thumbnail: Path, metadata: dict[str, Any],
                     privacy: str) -> dict[str, Any]:
        """Upload final.mp4, set its thumbnail and add it to the playlist; each part checkpointed.

        A series session (state.series) uploads private with publishAt, refuses a publish time
        already past before anything is sent, and joins its series' playlist (found by title,
        or created on first use). Every call is counted in the data root's quota ledger
        (runner/quota.py) first: an upload starts only when all its calls fit in today's quota.
        """
        sid = ctx.state["id"]
        if privacy not in PRIVACIES:
            privacy = "private"
        cp = ctx.checkpoint().setdefault("youtube", {})
        quota = cp.setdefault("quota", {})
        up = _Upload.of(ctx, self.playlist_id, self.clock)
        if up.publish_at and not cp.get("video_id"):
            privacy = "private"  # publishAt is taken only with private (YouTube makes it public then)
            up.refuse_past(sid)

        def request() -> Any:
            import google_auth_httplib2  # noqa: PLC0415

            return google_auth_httplib2.Request(self._http())

        creds = await asyncio.to_thread(youtube_auth.load_credentials, self.env, request, sid=sid)
        token_before = creds.token
        service, watch = await asyncio.to_thread(self._service, creds)
        try:
            if not cp.get("video_id"):
                video_id, returned, publish_at = await self._send_video(ctx, service, watch, cp, final, metadata,
                                                                        privacy, sid, up)
                cp.update(video_id=video_id, privacy=returned or privacy, publish_at=publish_at)
                cp.pop("uri", None)
                ctx.save()
            video_id = cp["video_id"]

            if not cp.get("thumbnail_done"):
                cp["thumbnail_done"] = await self._set_thumbnail(ctx, service, video_id, thumbnail, quota, sid, up)
                ctx.save()
            if up.wants_playlist and not cp.get("playlist_item"):
                if not cp.get("playlist_id"):
                    cp["playlist_id"], created = await asyncio.to_thread(self._series_playlist, ctx, service, up, sid)
                    ctx.save()
                    if created:
                        ctx.event("youtube_playlist_created", f"created the playlist {up.playlist_title!r} "
                                  f"({cp['playlist_id']})", playlist_id=cp["playlist_id"], title=up.playlist_title)
                cp["playlist_item"] = await self._add_to_playlist(ctx, service, video_id, quota, sid, up,
                                                                  str(cp["playlist_id"]))
                ctx.save()
        finally:
            youtube_auth.save_if_refreshed(self.env, creds, token_before)

        units = sum(int(v) for v in quota.values())
        url = f"https://www.youtube.com/watch?v={video_id}"
        actual = str(cp.get("privacy") or privacy)  # what YouTube answered, not what was asked
        note = privacy_note(privacy, actual) or schedule_note(up.publish_at, cp.get("publish_at"))
        ctx.event("youtube_done", f"uploaded as {actual}: {url} ({units} quota units)"
                  + (f", publishes at {cp.get('publish_at')}" if cp.get("publish_at") else ""), video_id=video_id,
                  url=url, privacy=actual, privacy_requested=privacy, quota_units=units, quota=dict(quota),
                  publish_at=cp.get("publish_at"))
        if note:
            ctx.event("youtube_privacy_locked", note, requested=privacy, privacy=actual, audit=AUDIT_URL)
            ctx.log("WARN", note)
        return {"id": video_id, "url": url, "privacy": actual, "privacy_requested": privacy, "privacy_note": note,
                "quota_units": units, "quota": dict(quota), "thumbnail": cp.get("thumbnail_done") == "set",
                "playlist_item": cp.get("playlist_item"), "playlist_id": cp.get("playlist_id"),
                "publish_at": cp.get("publish_at")}

    async def _send_video(self, ctx: ProviderContext, service: Any, watch: "_SessionWatch", cp: dict[str, Any],
                          final: Path, metadata: dict[str, Any], privacy: str, sid: str,
                          up: "_Upload") -> tuple[str, str | None, str | None]:
        """Upload final.mp4 through one resumable session; return the video id, and the privacy
        and publishAt YouTube answered with (None when its answer did not say).

        Opening the session is the submit: its intent is written before the POST and the
        session URI the moment YouTube answers (from the worker thread, before any byte is
        sent), so a kill at any point continues that session and never opens a second one
        for the same file. A POST whose answer was lost is an unknown outcome (needs_attention).
        """
        from googleapiclient.errors import HttpError  # noqa: PLC0415
        from googleapiclient.http import MediaFileUpload  # noqa: PLC0415

        stat = final.stat()
        size = stat.st_size
        fingerprint = f"{size}:{stat.st_mtime_ns}"
        body = {
            "snippet": {"title": metadata["title"], "description": metadata.get("description", ""),
                        "tags": list(metadata.get("tags") or []), "categoryId": CATEGORY_MUSIC},
            # Declared whatever the privacy: generated media (unless all of it is the person's
            # own, metadata.synthetic), and never made for kids.
            "status": {"privacyStatus": privacy, "selfDeclaredMadeForKids": False,
                       "containsSyntheticMedia": metadata.get("contains_synthetic_media") is not False},
        }
        if up.publish_at:
            body["status"]["publishAt"] = up.publish_at

        def new_request(resume_uri: str | None) -> Any:
            media = MediaFileUpload(str(final), mimetype="video/mp4", chunksize=self.chunk_bytes, resumable=True)
            req = service.videos().insert(part="snippet,status", body=body, media_body=media,
                                          notifySubscribers=privacy == "public")
            if resume_uri:
                # In "error state" the next call first asks the server how many bytes it holds
                # (PUT, Content-Range: bytes */size) and continues from that offset.
                req.resumable_uri = resume_uri
                sdk.set_attribute(req, sdk.GOOGLE_RESUME_ATTRIBUTE, True, package="google-api-python-client")
            return req

        key = _insert_key(fingerprint)
        what = "YouTube upload of final.mp4"
        uri = (cp.get("uri") if cp.get("file") == fingerprint else None) or ctx.sent_request(key)
        resuming = bool(uri)
        if resuming:
            ctx.event("upload_resumed", f"continuing the interrupted upload (checkpoint at {cp.get('offset', 0)} of "
                                        f"{size} bytes; YouTube confirms the offset)",
                      offset=cp.get("offset", 0), bytes=size)
        elif cp.get("uri"):
            ctx.event("upload_restarted", "final.mp4 changed since the interrupted upload; starting it again")
            ctx.request_done(_insert_key(str(cp.get("file"))))  # that session's file is gone: nothing to owe
        req = new_request(uri)
        if not resuming:
            # Every call of this upload must fit in today's quota before the video is sent.
            up.take("videos.insert", sid, also=["thumbnails.set", *up.playlist_calls(cp)])
            cp.update(uri=None, offset=0, file=fingerprint, bytes=size)
            ctx.before_submit(key, provider="youtube", app="videos.insert", arguments=body, reattach=True, label=what)
        watch.on_session = lambda session_uri: ctx.submitted(key, session_uri)

        def classify(exc: BaseException) -> Verdict | None:
            # Until YouTube has named the session, only a plain refusal may be retried.
            return _classify(exc) if req.resumable_uri else _classify_open(exc)

        ctx.progress(percent=100.0 * int(cp.get("offset") or 0) / max(1, size), label="uploading to YouTube")

        response = None
        while response is None:
            had_uri = req.resumable_uri is not None
            try:
                status, response = await with_retries(
                    lambda: asyncio.to_thread(req.next_chunk, num_retries=0), ctx=ctx, what="YouTube upload",
                    classify=classify, policy=self.policy)
            except HttpError as exc:
                if resuming and _status(exc) in (404, 410):
                    # The upload session expired (they last about a week): a session YouTube no
                    # longer holds made no video, so a new one is safe. Start over, once.
                    ctx.event("upload_restarted", "YouTube no longer holds the interrupted upload; starting again")
                    ctx.request_done(key)
                    resuming = False
                    up.take("videos.insert", sid)
                    cp.update(uri=None, offset=0, file=fingerprint, bytes=size)
                    req = new_request(None)
                    ctx.before_submit(key, provider="youtube", app="videos.insert", arguments=body, reattach=True,
                                      label=what)
                    continue
                if req.resumable_uri is None:
                    ctx.not_submitted(key, f"HTTP {_status(exc)} {_reason(exc)}")
                up.note_refusal(exc, "videos.insert", sid)
                raise _problem(exc, "upload", sid, self.clock()) from None
            except ProviderError as exc:
                if req.resumable_uri is None:  # every attempt to open it was plainly refused
                    ctx.not_submitted(key, "every attempt was refused or never connected")
                raise UploadError(str(exc), transient=exc.transient) from None
            except Exception as exc:
                raise _auth_problem(exc, sid) or exc
            if not had_uri and req.resumable_uri:
                cp["quota"]["videos.insert"] = int(cp["quota"].get("videos.insert", 0)) + QUOTA_UNITS["videos.insert"]
            cp["uri"] = req.resumable_uri
            cp["offset"] = size if response is not None else int(req.resumable_progress or 0)
            ctx.save()
            pct = 100.0 * cp["offset"] / max(1, size)
            ctx.progress(percent=pct, label=f"uploading to YouTube {pct:.0f}%")
        video_id = (response or {}).get("id")
        if not video_id:
            raise UploadError(f"YouTube accepted the upload but returned no video id ({str(response)[:200]}); "
                              "check YouTube Studio before resuming, to avoid a duplicate")
        ctx.request_done(key)
        answered = (response or {}).get("status") or {}
        returned = answered.get("privacyStatus") if answered.get("privacyStatus") in PRIVACIES else None
        publish_at = answered.get("publishAt") if isinstance(answered.get("publishAt"), str) else None
        ctx.event("youtube_uploaded", f"video {video_id} uploaded ({size} bytes, {returned or privacy})",
                  video_id=video_id)
        return str(video_id), returned, publish_at

    async def _set_thumbnail(self, ctx: ProviderContext, service: Any, video_id: str, thumbnail: Path,
                             quota: dict[str, Any], sid: str, up: "_Upload") -> str:
        from googleapiclient.errors import HttpError  # noqa: PLC0415
        from googleapiclient.http import MediaFileUpload  # noqa: PLC0415

        mimetype = "image/png" if thumbnail.suffix.lower() == ".png" else "image/jpeg"

        def call() -> Any:
            media = MediaFileUpload(str(thumbnail), mimetype=mimetype, resumable=False)
            return service.thumbnails().set(videoId=video_id, media_body=media).execute(num_retries=0)

        up.take("thumbnails.set", sid)
        try:
            await with_retries(lambda: asyncio.to_thread(call), ctx=ctx, what="YouTube thumbnail",
                               classify=_classify, policy=self.policy)
        except HttpError as exc:
            quota["thumbnails.set"] = int(quota.get("thumbnails.set", 0)) + QUOTA_UNITS["thumbnails.set"]
            reason = _reason(exc)
            up.note_refusal(exc, "thumbnails.set", sid)
            if _status(exc) in (401,) or reason in ("quotaExceeded", "dailyLimitExceeded"):
                raise _problem(exc, "thumbnail", sid, self.clock()) from None
            # The video is up; a channel not yet allowed custom thumbnails should not fail the run.
            ctx.event("youtube_thumbnail_refused", f"YouTube did not take the thumbnail (HTTP {_status(exc)} "
                      f"{reason}): custom thumbnails need a verified channel (https://www.youtube.com/verify)",
                      status=_status(exc), reason=reason)
            ctx.log("WARN", f"thumbnail not set: HTTP {_status(exc)} {reason}")
            return "refused"
        except ProviderError as exc:
            raise UploadError(str(exc), transient=exc.transient) from None
        except Exception as exc:
            raise _auth_problem(exc, sid) or exc
        quota["thumbnails.set"] = int(quota.get("thumbnails.set", 0)) + QUOTA_UNITS["thumbnails.set"]
        ctx.event("youtube_thumbnail", f"thumbnail set on {video_id}", video_id=video_id)
        return "set"

    async def _add_to_playlist(self, ctx: ProviderContext, service: Any, video_id: str, quota: dict[str, Any],
                               sid: str, up: "_Upload", playlist_id: str) -> str:
        from googleapiclient.errors import HttpError  # noqa: PLC0415

        body = {"snippet": {"playlistId": playlist_id,
                            "resourceId": {"kind": "youtube#video", "videoId": video_id}}}

        def call() -> Any:
            return service.playlistItems().insert(part="snippet", body=body).execute(num_retries=0)

        up.take("playlistItems.insert", sid)
        try:
            item = await with_retries(lambda: asyncio.to_thread(call), ctx=ctx, what="YouTube playlist",
                                      classify=_classify, policy=self.policy)
        except HttpError as exc:
            up.note_refusal(exc, "playlistItems.insert", sid)
            raise _problem(exc, "playlist", sid, self.clock()) from None
        except ProviderError as exc:
            raise UploadError(str(exc), transient=exc.transient) from None
        except Exception as exc:
            raise _auth_problem(exc, sid) or exc
        finally:
            quota["playlistItems.insert"] = int(quota.get("playlistItems.insert", 0)) + QUOTA_UNITS["playlistItems.insert"]
        ctx.event("youtube_playlist", f"added to playlist {playlist_id}", playlist_id=playlist_id)
        return str((item or {}).get("id") or "added")

    def _series_playlist(self, ctx: ProviderContext, service: Any, up: "_Upload", sid: str) -> tuple[str, bool]:
        """The id of the series' playlist: YOUTUBE_PLAYLIST_ID outside a series; else the one
        remembered in series/<id>/youtube.json, else one of the channel's playlists with the
        plan's title, else a new one. Under the series' playlist lock, so two sessions of one
        series never create two playlists. Runs in a worker thread (blocking calls, no events);
        returns the id and whether it was created now."""
        from googleapiclient.errors import HttpError  # noqa: PLC0415

        if not up.playlist_title:
            return str(self.playlist_id), False
        title = up.playlist_title
        path = store.series_dir(ctx.root, up.series_id) / "youtube.json"
        with _flock(path.with_name(".youtube.lock")):
            known = store.read_json(path)
            known = known if isinstance(known, dict) and isinstance(known.get("playlists"), dict) else {"playlists": {}}
            if isinstance(known["playlists"].get(title), str):
                return str(known["playlists"][title]), False
            try:
                found = self._find_playlist(service, up, title, sid)
                created = found is None
                if found is None:
                    up.take("playlists.insert", sid)
                    body = {"snippet": {"title": title, "description": f"{title}: lofi, made by Badger Tape Studio"},
                            "status": {"privacyStatus": "public" if up.publish_at else "private"}}
                    made = service.playlists().insert(part="snippet,status", body=body).execute(num_retries=2)
                    found = str(made["id"])
            except HttpError as exc:
                up.note_refusal(exc, "playlists.insert", sid)
                raise _problem(exc, "playlist", sid, self.clock()) from None
            except Exception as exc:
                raise _auth_problem(exc, sid) or exc
            known["playlists"][title] = found
            store.atomic_write_json(path, known)
            return found, created

    @staticmethod
    def _find_playlist(service: Any, up: "_Upload", title: str, sid: str) -> str | None:
        token = None
        for _ in range(20):  # 50 a page: a thousand playlists is more than any channel here
            up.take("playlists.list", sid)
            page = service.playlists().list(part="snippet", mine=True, maxResults=50,
                                            pageToken=token).execute(num_retries=2)
            for item in page.get("items") or []:
                if ((item.get("snippet") or {}).get("title")) == title and item.get("id"):
                    return str(item["id"])
            token = page.get("nextPageToken")
            if not token:
                return None
        return None


@dataclass
class _Upload:
    """What one upload needs besides its files: the series' publish time and playlist, and the
    quota ledger every call is counted in first."""

    ledger: QuotaLedger
    clock: Callable[[], dt.datetime]
    zone: ZoneInfo | None = None
    series_id: str = ""
    publish_at: str | None = None
    playlist_title: str | None = None
    env_playlist: str | None = None
    taken: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, ctx: ProviderContext, env_playlist: str | None, clock: Callable[[], dt.datetime]) -> "_Upload":
        series = ctx.state.get("series")
        series = series if isinstance(series, dict) else {}
        zone = None
        with contextlib.suppress(Exception):
            zone = ZoneInfo(str(series.get("zone")))
        publish_at = series.get("publish_at") if isinstance(series.get("publish_at"), str) else None
        title = series.get("playlist") if isinstance(series.get("playlist"), str) else None
        return cls(QuotaLedger(ctx.root), clock, zone, str(series.get("id") or ""), publish_at, title,
                   None if title else env_playlist)

    @property
    def wants_playlist(self) -> bool:
        return bool(self.playlist_title or self.env_playlist)

    def playlist_calls(self, cp: dict[str, Any]) -> list[str]:
        if not self.wants_playlist or cp.get("playlist_item"):
            return []
        if self.playlist_title and not cp.get("playlist_id"):
            return ["playlists.list", "playlists.insert", "playlistItems.insert"]
        return ["playlistItems.insert"]

    def refuse_past(self, sid: str) -> None:
        """A publishAt already past would publish at once: refuse, before anything is sent."""
        when = store.parse_iso(self.publish_at)
        now = self.clock()
        if when is None or when <= now:
            zone = self.zone or dt.timezone.utc
            shown = f"{when.astimezone(zone):%Y-%m-%d %H:%M %Z}" if when else repr(self.publish_at)
            raise UploadError(f"the entry's publish time {shown} has passed; not uploaded (a publishAt in the past "
                              "would publish at once): it stays here, private; upload final.mp4 by hand, or give "
                              f"the entry a later date in the plan (session {sid})")

    def take(self, method: str, sid: str, also: list[str] | None = None) -> None:
        """Count one call in today's quota before it is sent; UploadError when it would not fit."""
        now = self.clock()
        try:
            if also:
                self.ledger.room_for([method, *also], now, self.zone)
            self.ledger.take(method, now, sid, self.zone)
        except QuotaExhausted as exc:
            raise UploadError(f"{exc}; then run `python -m runner resume {sid}`") from None
        self.taken.append(method)

    def note_refusal(self, exc: Any, method: str, sid: str) -> None:
        """YouTube said the quota, or the channel's uploads for today, are spent: the ledger
        believes it until the reset (midnight Pacific), so nothing else is tried before then."""
        if _reason(exc) in ("quotaExceeded", "dailyLimitExceeded"):
            self.ledger.mark_exhausted(method, self.clock(), sid)
        elif _daily_upload_limit(exc) or _reason(exc) == "uploadLimitExceeded":
            self.ledger.mark_exhausted("videos.insert", self.clock(), sid)


@contextlib.contextmanager
def _flock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def schedule_note(asked: str | None, answered: str | None) -> str | None:
    """One line when a publishAt was asked and YouTube's answer did not keep it, else None."""
    if not asked or answered:
        return None
    return ("YouTube did not keep the publish time (publishAt) for this video, so it will not publish by "
            f"itself: publish it in YouTube Studio (an unaudited API project's uploads stay private: {AUDIT_URL})")


# ----------------------------------------------------------------------------- errors

def _status(exc: Any) -> int:
    resp = getattr(exc, "resp", None)
    try:
        return int(getattr(resp, "status", 0) or 0)
    except (TypeError, ValueError):
        return 0


def _error_body(exc: Any) -> dict[str, Any]:
    content = getattr(exc, "content", b"") or b""
    try:
        data = json.loads(content.decode("utf-8", "replace") if isinstance(content, bytes) else content)
    except ValueError:
        return {}
    err = data.get("error") if isinstance(data, dict) else None
    return err if isinstance(err, dict) else {}


def _reason(exc: Any) -> str:
    err = _error_body(exc)
    errors = err.get("errors") or []
    if errors and isinstance(errors[0], dict) and errors[0].get("reason"):
        return str(errors[0]["reason"])
    for detail in err.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    return str(err.get("status") or "")


def _insert_key(fingerprint: str) -> str:
    """The intent key of the upload session for one version (size:mtime) of final.mp4."""
    return f"youtube:videos.insert:{fingerprint}"


class _SessionWatch:
    """The upload's HTTP client, which tells on_session the session URI the moment YouTube names it.

    googleapiclient opens the resumable session and sends the first chunk inside one
    next_chunk() call, so the URI is otherwise known to us only after the first chunk; a kill
    in between would lose the session and make a resume open a second one.
    """

    def __init__(self, http: Any):
        self._http = http
        self.on_session: Callable[[str], None] | None = None

    def request(self, uri: str, method: str = "GET", body: Any = None, headers: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        resp, content = self._http.request(uri, method, body, headers, *args, **kwargs)
        if (self.on_session is not None and method == "POST" and "uploadType=resumable" in uri
                and getattr(resp, "status", 0) == 200 and "location" in resp):
            self.on_session(resp["location"])
        return resp, content

    def __getattr__(self, name: str) -> Any:
        return getattr(self._http, name)


def _classify_open(exc: BaseException) -> Verdict | None:
    """Opening the session: retried only when YouTube answered with an error or never connected."""
    from googleapiclient.errors import HttpError  # noqa: PLC0415

    if isinstance(exc, HttpError):
        return _classify(exc)
    if isinstance(exc, (ConnectionRefusedError, socket.gaierror)):
        return Verdict(True, f"could not connect ({type(exc).__name__})")
    return None  # the POST may have arrived: not ours to repeat


def _classify(exc: BaseException) -> Verdict | None:
    from googleapiclient.errors import HttpError  # noqa: PLC0415

    if isinstance(exc, HttpError):
        status, reason = _status(exc), _reason(exc)
        if _daily_upload_limit(exc):  # a 429 that waits for tomorrow, not for a backoff
            return Verdict(False, f"HTTP {status} {reason}: daily upload limit")
        if status in TRANSIENT_STATUS or (status == 403 and reason in RATE_REASONS):
            return Verdict(True, f"HTTP {status}" + (f" {reason}" if reason else ""))
        return Verdict(False, f"HTTP {status} {reason}".strip())
    try:
        import httplib2  # noqa: PLC0415

        if isinstance(exc, httplib2.HttpLib2Error):
            return Verdict(True, f"connection problem ({type(exc).__name__})")
    except ImportError:  # pragma: no cover
        pass
    return network_verdict(exc)


def _message(exc: Any) -> str:
    return " ".join(str(_error_body(exc).get("message") or "").split())[:200]


def _daily_upload_limit(exc: Any) -> bool:
    """YouTube's per-channel cap on uploads a day: HTTP 429 (or 403/400) rateLimitExceeded whose
    message speaks of uploads ("The user has exceeded the number of videos they may upload.")."""
    if _reason(exc) not in ("rateLimitExceeded", "userRateLimitExceeded"):
        return False
    text = _message(exc).lower()
    return "upload" in text and ("videos" in text or "day" in text or "daily" in text)


def privacy_note(requested: str, actual: str) -> str | None:
    """One line when YouTube set another privacy than the one asked, else None."""
    if actual == requested:
        return None
    why = (" (videos uploaded from an API project Google has not audited are locked private; "
           f"ask for the audit at {AUDIT_URL})" if actual == "private" else "")
    return f"YouTube made the video {actual}, not {requested} as asked{why}"


def _problem(exc: Any, what: str, sid: str, now: dt.datetime) -> UploadError:
    """A permanent YouTube error as one line that says what to do next."""
    status, reason = _status(exc), _reason(exc)
    message = _message(exc)
    resume = f"`python -m runner resume {sid}`"
    if _daily_upload_limit(exc):
        at = quota.resets_at(now)
        left = max(0, int((at - now).total_seconds()))
        return UploadError(f"YouTube's daily upload limit for this channel is reached (HTTP {status} {reason}: "
                           f"\"{message}\"); it resets at midnight Pacific time ({at:%Y-%m-%d %H:%M %Z}, in "
                           f"{left // 3600} h {left % 3600 // 60:02d} min): run {resume} after that; nothing "
                           "is retried until then", status=status)
    if reason in ("quotaExceeded", "dailyLimitExceeded"):
        return UploadError(f"YouTube API quota is used up for today ({reason}); it resets at midnight Pacific "
                           f"time: run {resume} after that, or ask for more quota in the Google Cloud console",
                           status=status)
    if reason == "uploadLimitExceeded":
        return UploadError("YouTube refused the upload: this channel has reached its upload limit "
                           "(uploadLimitExceeded); unverified channels may upload videos of at most 15 minutes "
                           "and only a few a day: verify the channel at https://www.youtube.com/verify or "
                           f"wait a day, then run {resume}", status=status)
    if status == 401:
        return UploadError(f"YouTube rejected the saved authorisation (HTTP 401) and refreshing it did not help: "
                           f"{youtube_auth.reauth_hint(sid)}", status=status)
    if status == 403 and reason in ("insufficientPermissions", "forbidden", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"):
        extra = " (a playlist needs the wider 'youtube' scope)" if what == "playlist" else ""
        return UploadError(f"YouTube refused the {what}: the authorisation lacks permission{extra}: "
                           f"{youtube_auth.reauth_hint(sid)}", status=status)
    if what == "playlist" and status == 404:
        return UploadError("YOUTUBE_PLAYLIST_ID names a playlist this account cannot see (HTTP 404): fix it in "
                           f".env or remove it, then run {resume}", status=status)
    return UploadError(f"YouTube {what} failed: HTTP {status} {reason}: {message}".rstrip(": ")
                       + f"; fix that, then run {resume}", status=status)


def _auth_problem(exc: BaseException, sid: str) -> UploadError | None:
    try:
        from google.auth.exceptions import RefreshError  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, RefreshError):
        return UploadError(f"YouTube would not refresh the saved authorisation ({' '.join(str(exc).split())[:160]}): "
                           f"{youtube_auth.reauth_hint(sid)}")
    return None
