"""The studio application: guards first, then a table of routes to small handlers.

`App.handle(Request) -> Response` is the whole server minus the socket, so tests call it
directly; studio/server.py only moves bytes. Everything time-dependent gets its clock from
the constructor (`now` for wall time, `mono` for intervals).
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from runner import store

from . import disk, jsonsafe, kpis, library, query, series as series_view, sessionfiles, sse
from .detail import DEFAULT_TIMELINE, MAX_TIMELINE, calls_from_ledger, session_detail
from .launcher import Launcher, Refused, default_command
from .logs import DEFAULT_LIMIT as LOG_DEFAULT_LIMIT, LEVELS, MAX_LIMIT as LOG_MAX_LIMIT, LogReader
from .media import PREFIX as MEDIA_PREFIX, serve_media
from .reader import ROW_FIELDS, SessionIndex
from .door import Door, Rows
from .redact import Redactor, Verbatim
from .security import SECURITY_HEADERS, TOKEN_HEADER, Guard, is_json_content_type, new_token
from .static import is_page_route, serve_index, serve_static
from .watch import Watcher, session_publisher
from .web import Headers, Request, Response, error, json_response

VERSION = "0.1.0"
MAX_BODY = 64 * 1024
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_ID = r"(?P<id>[0-9]{8}-[0-9]{6}-[a-z0-9][a-z0-9-]{0,60})"
NO_STORE = ("Cache-Control", "no-store")


@dataclass
class Config:
    root: Path
    static_dir: Path = STATIC_DIR
    host: str = "127.0.0.1"
    port: int = 8765
    launcher: bool = True
    max_runs: int = 1
    quick_interval: float = 0.25     # how stale the session list may be for requests
    full_interval: float = 3.0
    tick: float = 0.25               # the live watcher's poll period
    heartbeat_s: float = sse.HEARTBEAT_S
    stream_poll_s: float = 0.5       # how often an idle stream checks that its client is there
    max_streams: int = 200
    quiet: bool = True


Handler = Callable[[Request, "re.Match[str]"], Response]


class App:
    def __init__(self, config: Config, *, now: Callable[[], _dt.datetime] = store.utc_now,
                 mono: Callable[[], float] = time.monotonic, env: Mapping[str, str] | None = None,
                 home: str | None = None, token: str | None = None,
                 command: Callable[[], list[str]] = default_command,
                 launcher_options: dict[str, Any] | None = None) -> None:
        self.config = config
        self.root = store.data_root(config.root)
        self.now = now
        self.mono = mono
        self.token = token or new_token()
        self.guard = Guard(config.host, config.port, self.token)
        self.redactor = Redactor(env=env, home=home)
        self.door = Door(self.redactor)
        self.hub = sse.Hub(start_seq=int(now().timestamp() * 1_000_000), encode=self.door.json)
        self.index = SessionIndex(self.root, self.redactor, quick_interval=config.quick_interval,
                                  full_interval=config.full_interval,
                                  listener=session_publisher(self.hub, self.redactor))
        self.logs = LogReader(self.root, self.redactor)
        self.watcher = Watcher(self.index, self.hub, self.logs, self.redactor, now=now, mono=mono,
                               tick=config.tick)
        self.hub.on_subscribers = self.watcher.on_subscribers
        self.launcher = Launcher(self.root, self.redactor, enabled=config.launcher, max_runs=config.max_runs,
                                 command=command, busy_sessions=self._busy_sessions,
                                 mono=mono, **(launcher_options or {}))
        self._kpi_cache: tuple[tuple[int, int], dict[str, Any]] | None = None
        self._kpi_lock = threading.Lock()
        # Sorting ten thousand rows costs ~10 ms; the order only changes with the index.
        self._sort_cache: dict[tuple[int, str], list[Any]] = {}
        self._disk_cache: tuple[int, int] | None = None   # (generation, bytes on disk of all sessions)
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("GET", re.compile(r"/api/health"), self.get_health),
            ("GET", re.compile(r"/api/config"), self.get_config),
            ("GET", re.compile(r"/api/sessions"), self.get_sessions),
            ("GET", re.compile(r"/api/sessions\.csv"), self.get_sessions_csv),
            ("GET", re.compile(r"/api/sessions\.json"), self.get_sessions_json),
            ("GET", re.compile(rf"/api/sessions/{_ID}"), self.get_session),
            ("GET", re.compile(rf"/api/sessions/{_ID}/events"), self.get_session_events),
            ("GET", re.compile(rf"/api/sessions/{_ID}/ledger"), self.get_session_ledger),
            ("GET", re.compile(r"/api/kpis"), self.get_kpis),
            ("GET", re.compile(r"/api/series"), self.get_series),
            ("GET", re.compile(r"/api/logs"), self.get_logs),
            ("GET", re.compile(r"/api/stream"), self.get_stream),
            ("GET", re.compile(r"/api/estimate"), self.get_estimate),
            ("GET", re.compile(r"/api/launcher"), self.get_launcher),
            ("GET", re.compile(r"/api/library"), self.get_library),
            ("POST", re.compile(r"/api/launch"), self.post_launch),
            ("POST", re.compile(rf"/api/sessions/{_ID}/approve"), self.post_approve),
            ("POST", re.compile(rf"/api/sessions/{_ID}/resume"), self.post_resume),
        ]

    def bind(self, host: str, port: int) -> None:
        """Called once the socket is bound (port 0 becomes a real port)."""
        self.config.host, self.config.port = host, port
        self.guard = Guard(host, port, self.token)

    def warm_up(self) -> threading.Thread:
        """Index the sessions in the background now, so the first page need not wait for it."""
        t = threading.Thread(target=self._fresh, name="studio-warm-up", daemon=True)
        t.start()
        return t

    def close(self) -> None:
        self.hub.close()

    # ------------------------------------------------------------------ dispatch

    def handle(self, req: Request) -> Response:
        try:
            resp = self._encoded(self._dispatch(req))
        except Exception:  # noqa: BLE001 - one bad request must not take the server down
            if not self.config.quiet:
                traceback.print_exc(file=sys.stderr)
            resp = self._encoded(error(500, "internal error"))
        return self._finish(resp)

    def _encoded(self, resp: Response) -> Response:
        """The JSON value a handler returned, encoded (and redacted) by the one door."""
        if resp.has_data:
            resp.body = self.door.json(resp.data)
            resp.data, resp.has_data = None, False
        return resp

    def refuse(self, status: int, message: str, headers: Headers | None) -> Response:
        """An answer the socket layer gives before a request reaches handle() (a malformed
        request line, an oversized body, http.server's own errors), guarded the same way:
        a foreign Host still gets 403, and every answer carries the security headers.
        headers is None when the request broke before its headers were read.
        """
        if headers is not None:
            refusal = self._host_refusal(headers, None)
            if refusal is not None:
                return self._finish(self._encoded(refusal))
        return self._finish(Response(status, [("Content-Type", "text/plain; charset=utf-8")],
                                     message.encode("ascii", "replace")))

    @staticmethod
    def _finish(resp: Response) -> Response:
        resp.headers.extend(SECURITY_HEADERS)
        # Refusals and API answers must not be replayed from a cache; files say their own policy.
        if resp.header("Cache-Control") is None:
            resp.headers.append(NO_STORE)
        return resp

    def _host_refusal(self, h: Headers, authority: str | None) -> Response | None:
        if "host" in h.repeated:
            # Two Host headers: which one a proxy or a parser believes is anybody's guess.
            return error(400, "more than one Host header")
        if not self.guard.host_ok(h, authority):
            # DNS rebinding: a foreign page reached us under its own name.
            return error(403, "unexpected Host header")
        return None

    def _dispatch(self, req: Request) -> Response:
        h = req.headers
        refusal = self._host_refusal(h, req.authority)
        if refusal is not None:
            return refusal
        if not req.path:
            return error(400, "the request target must be a path")
        method = "GET" if req.method == "HEAD" else req.method
        if method not in ("GET", "POST"):
            return Response(405, [("Allow", "GET, HEAD, POST"), ("Content-Type", "text/plain")], b"method not allowed")
        path = req.path
        if path.startswith("/api/"):
            if not self.guard.read_ok(h):
                return error(403, "cross-site request refused")
            if method == "POST":
                refusal = self._check_write(req)
                if refusal is not None:
                    return refusal
            allowed = []
            for m, pattern, handler in self.routes:
                match = pattern.fullmatch(path)
                if match:
                    if m == method:
                        try:
                            return handler(req, match)
                        except query.BadQuery as exc:
                            return error(400, str(exc))
                    allowed.append(m)
            if allowed:
                return Response(405, [("Allow", ", ".join(allowed)), ("Content-Type", "text/plain")],
                                b"method not allowed")
            return error(404, "no such API route")
        if method != "GET":
            return Response(405, [("Allow", "GET, HEAD"), ("Content-Type", "text/plain")], b"method not allowed")
        if path.startswith(MEDIA_PREFIX):
            resp = serve_media(self.root, path, h.get("Range"), h.get("If-None-Match"))
        elif path == "/index.html" or is_page_route(path):
            resp = serve_index(self.config.static_dir, self.token, self.door)
        else:
            resp = serve_static(self.config.static_dir, path, h.get("Range"), h.get("If-None-Match"))
        return resp or Response(404, [("Content-Type", "text/plain; charset=utf-8")], b"not found")

    def _check_write(self, req: Request) -> Response | None:
        h = req.headers
        if not self.guard.origin_ok(h):
            return error(403, "cross-origin write refused")
        if not self.guard.token_ok(h):
            return error(403, f"missing or wrong {TOKEN_HEADER} header (GET /api/config gives the token)")
        if not is_json_content_type(h.get("Content-Type")):
            return error(415, "writes must be sent as application/json")
        if len(req.body) > MAX_BODY:
            return error(413, "request body too large")
        return None

    @staticmethod
    def _json_body(req: Request) -> dict[str, Any] | Response:
        if not req.body.strip():
            return {}
        try:
            body = jsonsafe.loads(req.body, jsonsafe.MAX_DEPTH)
        except jsonsafe.BadJSON as exc:
            return error(400, f"the body is {exc}" if "nested" in str(exc) else "the body is not valid JSON")
        if not isinstance(body, dict):
            return error(400, "the body must be a JSON object")
        return body

    def _fresh(self) -> list[Any]:
        self.index.ensure_fresh(self.now(), self.mono())
        return self.index.entries()

    def _busy_sessions(self) -> list[str]:
        return [e.id for e in self._fresh() if e.row["status"] in ("running", "queued")]

    # ------------------------------------------------------------------ reads

    def get_health(self, req: Request, m: re.Match[str]) -> Response:
        return json_response({"ok": True, "version": VERSION})

    def get_config(self, req: Request, m: re.Match[str]) -> Response:
        return json_response({
            "version": VERSION,
            "token": Verbatim(self.token),   # the page must get it exactly; it is ours, not data
            "token_header": TOKEN_HEADER,
            "root": str(self.root),
            "launcher": {"enabled": self.launcher.enabled, "max_runs": self.launcher.max_runs},
            "steps": list(store.STEPS),
            "statuses": [*store.SESSION_STATUSES, "unreadable"],
            "assets": list(store.ASSETS),
            "choices": {"season": list(store.SEASONS), "atmosphere": list(store.ATMOSPHERES),
                        "provider": list(store.PROVIDERS), "privacy": list(store.PRIVACIES),
                        "fit": list(store.FITS)},
            "defaults": store.DEFAULTS,
            "limits": {"theme_chars": store.MAX_THEME_CHARS, "minutes": store.MAX_MINUTES,
                       "tracks": store.MAX_TRACKS},
            "spend_levels": dict(store.SPEND_LEVELS),
            "sortable": list(query.SORTABLE),
            "log_levels": list(LEVELS),
            "heartbeat_s": self.config.heartbeat_s,
        })

    def _view(self, req: Request) -> query.View:
        return query.parse_view(req.arg, req.args)

    def _select(self, view: query.View) -> tuple[list[Any], list[Any]]:
        """(all entries, the view's entries in order), with the sort cached per generation."""
        self._fresh()
        entries, generation = self.index.snapshot()
        key = (generation, view.sort)
        ordered = self._sort_cache.get(key)
        if ordered is None:
            ordered = query.sort_entries(entries, view.sort)
            if len(self._sort_cache) >= 16:
                self._sort_cache.clear()
            self._sort_cache[key] = ordered
        return entries, query.select(entries, view, ordered)

    def get_sessions(self, req: Request, m: re.Match[str]) -> Response:
        view = self._view(req)
        entries, selected = self._select(view)
        generation = self.index.generation
        total = None
        if selected is self._sort_cache.get((generation, view.sort)):   # the whole index, unfiltered
            cached = self._disk_cache
            if cached is None or cached[0] != generation:
                cached = self._disk_cache = (generation, query.disk_total(selected))
            total = cached[1]
        page = query.page(selected, view, total)
        items = page.pop("items")
        # "items" last: the door appends the (kept) encoded rows after the rest.
        return json_response({**page, "all_total": len(entries), "generation": generation, "items": items})

    def _export_name(self, ext: str) -> str:
        return f"badger-sessions-{self.now():%Y%m%d-%H%M%S}.{ext}"

    def get_sessions_csv(self, req: Request, m: re.Match[str]) -> Response:
        view = self._view(req)
        _, selected = self._select(view)
        body = self.door.csv((e.row for e in selected), ROW_FIELDS)
        return Response(200, [("Content-Type", "text/csv; charset=utf-8"),
                              ("Content-Disposition", f'attachment; filename="{self._export_name("csv")}"')], body)

    def get_sessions_json(self, req: Request, m: re.Match[str]) -> Response:
        view = self._view(req)
        _, selected = self._select(view)
        return json_response(
            {"exported_at": store.iso(self.now()), "filters": view.echo, "total": len(selected),
             "columns": list(ROW_FIELDS), "items": Rows(e.row for e in selected)},
            headers=[("Content-Disposition", f'attachment; filename="{self._export_name("json")}"')])

    def get_session(self, req: Request, m: re.Match[str]) -> Response:
        limit = query.whole(req.arg("timeline_limit"), "timeline_limit", DEFAULT_TIMELINE, 0, MAX_TIMELINE)
        detail = session_detail(self.root, m["id"], self.now(), self.redactor, timeline_limit=limit,
                                include_progress=req.arg("progress") in ("1", "true"))
        if detail is None:
            return error(404, "no such session")
        return json_response(detail)

    def _session_lines(self, sid: str,
                       read: Callable[[disk.SessionFolder], sessionfiles.Lines]) -> sessionfiles.Lines | Response:
        """A session's events or ledger lines; a 404 when there is no such session folder."""
        try:
            folder = disk.open_session(self.root, sid)
        except disk.Refused as exc:
            if exc.missing:
                return error(404, "no such session")
            return sessionfiles.Lines(reason=f"the session folder {exc.reason}")
        with folder:
            return read(folder)

    def get_session_events(self, req: Request, m: re.Match[str]) -> Response:
        sid = m["id"]
        after = query.whole(req.arg("after"), "after", 0, 0, 2**62)
        limit = query.whole(req.arg("limit"), "limit", 1000, 1, MAX_TIMELINE)
        types = set(req.args("type"))
        lines = self._session_lines(sid, sessionfiles.read_events)
        if isinstance(lines, Response):
            return lines
        events = [e for e in lines.items if e["seq"] > after and (not types or e["type"] in types)]
        page = events[:limit]
        return json_response({"id": sid, "events": page,
                              "next_after": page[-1]["seq"] if page else after,
                              "has_more": len(events) > len(page),
                              "notes": sessionfiles.notes(("events.jsonl", lines))})

    def get_session_ledger(self, req: Request, m: re.Match[str]) -> Response:
        sid = m["id"]
        lines = self._session_lines(sid, sessionfiles.read_ledger)
        if isinstance(lines, Response):
            return lines
        return json_response({"id": sid, "ledger": lines.items, "calls": calls_from_ledger(lines.items),
                              "notes": sessionfiles.notes(("ledger.jsonl", lines))})

    def get_kpis(self, req: Request, m: re.Match[str]) -> Response:
        series = query.whole(req.arg("series"), "series", kpis.DEFAULT_SERIES, 0, kpis.MAX_SERIES)
        self._fresh()
        entries, generation = self.index.snapshot()
        key = (generation, series)
        with self._kpi_lock:
            if self._kpi_cache is None or self._kpi_cache[0] != key:
                self._kpi_cache = (key, {**kpis.compute(entries, series), "generated_at": store.iso(self.now())})
            body = self._kpi_cache[1]
        return json_response(body)

    def get_series(self, req: Request, m: re.Match[str]) -> Response:
        """Each series' calendar, today's spend against its daily budget, the quota and the disk."""
        self._fresh()
        entries, _ = self.index.snapshot()
        return json_response(series_view.overview(self.root, entries, self.now()))

    def get_logs(self, req: Request, m: re.Match[str]) -> Response:
        levels = frozenset(x.upper() for x in req.args("level"))
        if levels - set(LEVELS):
            return error(400, f"unknown level; choose from: {', '.join(LEVELS)}")
        session = req.arg("session") or None
        if session is not None and not store.is_session_id(session):
            return error(400, "session must be a session id")
        before = query.whole(req.arg("before"), "before", 0, 0, 2**62) if req.arg("before") else None
        after = query.whole(req.arg("after"), "after", 0, 0, 2**62) if req.arg("after") else None
        limit = query.whole(req.arg("limit"), "limit", LOG_DEFAULT_LIMIT, 1, LOG_MAX_LIMIT)
        page = self.logs.page(before=before, after=after, limit=limit, levels=levels, session=session,
                              text=(req.arg("q") or "").strip().lower()[:200])
        return json_response(page)

    def get_stream(self, req: Request, m: re.Match[str]) -> Response:
        session = req.arg("session") or None
        if session is not None and not store.is_session_id(session):
            return error(400, "session must be a session id")
        topics = set(req.args("topics")) or {"session", "timeline", "log"}
        last_id = sse.parse_last_id(req.headers.get("Last-Event-ID") or req.arg("last_event_id"))
        # Events about the stream itself always pass; others by topic and session.
        kinds = {"session": "session", "session_removed": "session", "timeline": "timeline",
                 "log": "log", "log_gap": "log"}

        def accept(ev: sse.Event) -> bool:
            topic = kinds.get(ev.type)
            if topic is None:
                return True
            if topic not in topics:
                return False
            return session is None or ev.session == session or ev.session is None

        if not self.hub.subscribe(self.config.max_streams):
            return error(503, "too many live streams open", retry_after_s=5)
        gen = sse.stream(self.hub, last_id=last_id, accept=accept, client_gone=req.client_gone,
                         mono=self.mono, heartbeat_s=self.config.heartbeat_s, poll_s=self.config.stream_poll_s,
                         hello=lambda: {"server_time": store.iso(self.now()), "version": VERSION})
        body = sse.Subscription(self.hub, gen)
        try:
            # Index what is on disk now, so that whatever changes next is news to this client.
            self._fresh()
        except BaseException:
            body.close()
            raise
        return Response(200, [("Content-Type", "text/event-stream; charset=utf-8"),
                              ("X-Accel-Buffering", "no")], body, length=None)

    def get_launcher(self, req: Request, m: re.Match[str]) -> Response:
        return json_response(self.launcher.status())

    def get_library(self, req: Request, m: re.Match[str]) -> Response:
        """What the launcher can offer from the data root's library/ (studio/library.py)."""
        return json_response(library.listing(self.root))

    # ------------------------------------------------------------------ launcher

    def _refused(self, exc: Refused) -> Response:
        return json_response({"error": exc.message, "reason": exc.reason, **exc.extra}, exc.status)

    def get_estimate(self, req: Request, m: re.Match[str]) -> Response:
        # It starts a process, so it is guarded like a write (a token only our page has).
        if not self.guard.token_ok(req.headers):
            return error(403, f"missing or wrong {TOKEN_HEADER} header")
        raw: dict[str, Any] = {}
        for name in ("theme", "season", "atmosphere", "minutes", "tracks", "cap", "provider", "privacy",
                     "music", "artwork", "loop", "fit", "license_note"):
            if req.arg(name) not in (None, ""):
                raw[name] = req.arg(name)
        for flag in ("upload", "review"):
            value = req.arg(flag)
            if value not in (None, ""):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    return error(400, f"{flag} must be true or false", field=flag)
                raw[flag] = value.lower() in ("1", "true", "yes")
        try:
            return json_response(self.launcher.estimate(raw))
        except Refused as exc:
            return self._refused(exc)

    def post_launch(self, req: Request, m: re.Match[str]) -> Response:
        body = self._json_body(req)
        if isinstance(body, Response):
            return body
        try:
            started = self.launcher.launch(body)
        except Refused as exc:
            return self._refused(exc)
        return json_response({**started, "url": f"/api/sessions/{started['id']}"}, 202)

    def _status_of(self, session_id: str) -> str | None:
        try:
            folder = disk.open_session(self.root, session_id)
        except disk.Refused as exc:
            return None if exc.missing else "unreadable"
        with folder:
            state, _ = sessionfiles.read_state(folder)
        return "unreadable" if state is None else store.effective_status(state, self.now())

    def _session_action(self, req: Request, session_id: str,
                        act: Callable[[str, dict[str, Any]], "dict[str, Any] | Response"]) -> Response:
        """Approve and resume alike: a JSON body, an existing session, then the launcher's answer."""
        body = self._json_body(req)
        if isinstance(body, Response):
            return body
        status = self._status_of(session_id)
        if status is None:
            return error(404, "no such session")
        try:
            result = act(status, body)
        except Refused as exc:
            return self._refused(exc)
        return result if isinstance(result, Response) else json_response(result, 202)

    def post_approve(self, req: Request, m: re.Match[str]) -> Response:
        def approve(status: str, body: dict[str, Any]) -> dict[str, Any] | Response:
            privacy = body.get("privacy")
            if privacy is not None and not isinstance(privacy, str):
                return error(400, "privacy must be a string", field="privacy")
            return self.launcher.approve(m["id"], status, privacy)

        return self._session_action(req, m["id"], approve)

    def post_resume(self, req: Request, m: re.Match[str]) -> Response:
        return self._session_action(req, m["id"], lambda status, body: self.launcher.resume(m["id"], status,
                                                                                             body.get("cap")))
