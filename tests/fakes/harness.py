"""What the paid tests share: the fakes' assets, a loopback-only environment, a runner launcher.

`assets()` makes the TLS files and the media once per test process. `paid_env()` is the
environment a runner subprocess gets: the provider variables point at the fakes, the only
trusted CA is the fakes' own, every proxy variable points at a closed loopback port (so a
request that escaped NO_PROXY would fail, not travel), and the netguard sitecustomize
refuses and logs any non-loopback DNS lookup or connection.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .media import make_media
from .tls import TLSFiles, make_tls

REPO = Path(__file__).resolve().parents[2]
NETGUARD = Path(__file__).resolve().parent / "netguard"

FAL_KEY = "test-fal-key"
ELEVENLABS_KEY = "test-elevenlabs-key"

# Variables of the machine that must not reach a test runner: real keys, real CA bundles, proxies.
_SCRUB_PREFIXES = ("FAL_", "ELEVENLABS_", "YOUTUBE_", "GOOGLE_", "BADGER_")
_SCRUB = {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTPLIB2_CA_CERTS",
          "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
          "no_proxy", "STUDIO_ROOT", "PYTHONPATH"}


@dataclass(frozen=True)
class Assets:
    tls: TLSFiles
    media: dict[str, Path]


@functools.lru_cache(maxsize=1)
def assets() -> Assets:
    folder = Path(tempfile.mkdtemp(prefix="badger-paid-fakes-"))
    atexit.register(shutil.rmtree, folder, True)
    return Assets(make_tls(folder / "tls"), make_media(folder / "media"))


def fal_media(a: Assets) -> dict[str, Path]:
    return {k: v for k, v in a.media.items() if k in ("art.png", "clip.mp4", "track-1.mp3", "track-2.mp3")}


def fal_env(fal: Any) -> dict[str, str]:
    host = fal.host
    return {"FAL_KEY": FAL_KEY, "FAL_RUN_HOST": host, "FAL_QUEUE_RUN_HOST": host, "FAL_REST_HOST": host,
            "FAL_CDN_HOST": host}


def write_token(path: Path, youtube: Any, *, expired: bool = False, refresh_token: str = "1//test-refresh",
                access_token: str = "ya29.test-token") -> Path:
    """A token file as `auth youtube` writes it, aimed at the fake's token endpoint."""
    import datetime as dt

    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=-1 if expired else 1)
    path.write_text(json.dumps({
        "token": access_token, "refresh_token": refresh_token, "token_uri": f"{youtube.base_url}/token",
        "client_id": "test-client.apps.googleusercontent.com", "client_secret": "test-secret",
        "scopes": ["https://www.googleapis.com/auth/youtube.upload"],
        "expiry": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}))
    path.chmod(0o600)
    return path


def paid_env(tmp: Path, *, fal: Any = None, elevenlabs: Any = None, youtube: Any = None,
             token: Path | None = None, **extra: str) -> dict[str, str]:
    """A runner subprocess environment that can only reach the fakes."""
    a = assets()
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB and not k.startswith(_SCRUB_PREFIXES)}
    guard_log = tmp / "netguard.log"
    dead_proxy = "http://127.0.0.1:9"  # discard port, nothing listens: an escaped request fails fast
    env.update({
        "PYTHONPATH": os.pathsep.join([str(NETGUARD), str(REPO)]),
        "PYTHONUNBUFFERED": "1",
        "BADGER_NETGUARD_LOG": str(guard_log),
        "SSL_CERT_FILE": str(a.tls.ca), "HTTPLIB2_CA_CERTS": str(a.tls.ca), "REQUESTS_CA_BUNDLE": str(a.tls.ca),
        "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "ALL_PROXY": dead_proxy,
        "http_proxy": dead_proxy, "https_proxy": dead_proxy, "all_proxy": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "FAL_HOME_DIR": str(tmp / "fal-home"),  # never a real `fal auth login` token
        "HOME": str(tmp / "home"),
    })
    (tmp / "home").mkdir(exist_ok=True)
    if fal is not None:
        env.update(fal_env(fal))
    if elevenlabs is not None:
        env.update({"ELEVENLABS_API_KEY": ELEVENLABS_KEY, "ELEVENLABS_BASE_URL": elevenlabs.base_url})
    if youtube is not None:
        env["YOUTUBE_API_ENDPOINT"] = youtube.base_url + "/"
        env["YOUTUBE_TOKEN_FILE"] = str(token or (tmp / "youtube-token.json"))
    env.update(extra)
    return env


def netguard_log(env: dict[str, str]) -> list[str]:
    path = Path(env["BADGER_NETGUARD_LOG"])
    return path.read_text().splitlines() if path.exists() else []


def runner(*args: str, root: Path, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "runner", *args, "--root", str(root)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd=str(root),
                          stdin=subprocess.DEVNULL)


def start_runner(*args: str, root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "runner", *args, "--root", str(root)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=str(root), stdin=subprocess.DEVNULL)


def kill_hard(proc: subprocess.Popen[str]) -> str:
    """SIGKILL the runner we started (by its own pid) and return what it printed."""
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=30)
    return out or ""


def wait_for(cond: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def session_id(out: str) -> str:
    from runner import store

    for line in out.splitlines():
        if store.is_session_id(line.strip()):
            return line.strip()
    raise AssertionError(f"no session id in output:\n{out}")


def ledger(root: Path, sid: str) -> list[dict[str, Any]]:
    from runner import store

    return store.read_ledger(root, sid)


def events(root: Path, sid: str) -> list[dict[str, Any]]:
    from runner import store

    return store.read_events(root, sid)


@dataclass
class FakeCtx:
    """A step context without a pipeline: records events, passes spend straight through."""

    session_dir: Path
    params: dict[str, Any] = field(default_factory=lambda: {"tracks": 2, "theme": "rainy night"})
    variation: dict[str, Any] = field(default_factory=lambda: {
        "seed": 7, "theme": "rainy night", "season": "autumn", "palette_name": "neon rain", "scene": "attic desk",
        "pose": "sipping tea", "weather": "rain", "atmosphere": "rain", "tracks": []})
    state: dict[str, Any] = field(default_factory=lambda: {"id": "20261121-031500-test"})
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    spent: list[Any] = field(default_factory=list)
    cp: dict[str, Any] = field(default_factory=dict)
    saves: int = 0
    _labels: dict[str, Any] = field(default_factory=dict)
    _intents: Any = None
    root_dir: Path | None = None   # the data root (quota ledger, series files); default: session_dir

    @property
    def root(self) -> Path:
        return self.root_dir or self.session_dir

    def checkpoint(self) -> dict[str, Any]:
        return self.cp

    def save(self) -> None:
        self.saves += 1

    def progress(self, **kw: Any) -> None:
        self.events.append(("progress", kw.get("label") or "", kw))

    def event(self, type_: str, message: str, **data: Any) -> None:
        self.events.append((type_, message, data))

    def log(self, level: str, message: str) -> None:
        pass

    async def spend(self, call: Any, run: Any) -> dict[str, Any]:
        self.spent.append(call)
        self._labels[call.cache_key()] = call
        result = await run()
        latest = self.intents.latest(call.cache_key())
        self.request_done(call.cache_key())
        # As the real door does (Pipeline.spend): the answer carries its origin.
        return {**result, "origin": call.origin(latest.request_id if latest is not None else None)}

    # The intent record, the real one (runner/intents.py), in the test's folder.
    @property
    def intents(self) -> Any:
        from runner.intents import Intents

        if self._intents is None:
            self._intents = Intents(self.session_dir)
        return self._intents

    def sent_request(self, call_key: str) -> str | None:
        intent = self.intents.open_for(call_key)
        return intent.request_id if intent is not None and intent.reattach else None

    def before_submit(self, call_key: str, *, provider: str, app: str, arguments: Any, reattach: bool,
                      label: str | None = None) -> None:
        import uuid

        call = self._labels.get(call_key)
        self.intents.begin(id=uuid.uuid4().hex[:12], call_key=call_key, provider=provider, app=app,
                           arguments=arguments, label=label or (call.label if call else app), step="test",
                           asset=call.asset if call else "upload",
                           estimate_usd=call.estimate_usd if call else 0.0, reattach=reattach)

    def _close(self, call_key: str, phase: str, detail: str | None = None) -> None:
        intent = self.intents.open_for(call_key)
        if intent is not None:
            if phase == "accepted":
                self.intents.accepted(intent.id, str(detail))
            else:
                self.intents.close(intent.id, phase, detail)

    def submitted(self, call_key: str, request_id: str) -> None:
        self._close(call_key, "accepted", request_id)

    def not_submitted(self, call_key: str, reason: str) -> None:
        self._close(call_key, "refused", reason)

    def request_lost(self, call_key: str) -> None:
        self._close(call_key, "lost")

    def request_done(self, call_key: str) -> None:
        self._close(call_key, "done")

    def of_type(self, type_: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [e for e in self.events if e[0] == type_]


def track_spec(i: int) -> dict[str, Any]:
    return {"index": i, "seed": 1000 + i, "mood": "cozy", "key": "Eb", "mode": "minor", "bpm": 78 + i,
            "title": f"paper moons {i}"}
