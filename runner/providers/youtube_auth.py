"""YouTube OAuth: the installed-app flow, and the token file it leaves behind.

`python -m runner auth youtube` opens Google's consent page (or prints its address), catches
the answer on a loopback port, and writes the token to YOUTUBE_TOKEN_FILE with mode 0600.
Uploads load that token and refresh it when it has expired, writing the refreshed token
back. A token Google will no longer refresh (revoked, or a "testing" consent screen's
seven-day limit) becomes one clear error that says to run the auth command again.

Google's libraries are imported inside the functions: a run that never uploads never loads
them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import store
from .errors import UploadError

SCOPE_UPLOAD = "https://www.googleapis.com/auth/youtube.upload"
# playlistItems.insert is not covered by youtube.upload; ask for it only when a playlist is set.
SCOPE_MANAGE = "https://www.googleapis.com/auth/youtube"
DEFAULT_TOKEN_FILE = "youtube-token.json"
AUTH_TIMEOUT_S = 300

SETUP_HINT = ("create an OAuth client of type 'Desktop app' in the Google Cloud console, download its JSON, "
              "set YOUTUBE_CLIENT_SECRETS to that file in .env (see docs/providers.md)")


def token_path(env: Mapping[str, str]) -> Path:
    """YOUTUBE_TOKEN_FILE, else youtube-token.json in the data root (git-ignored)."""
    named = (env.get("YOUTUBE_TOKEN_FILE") or "").strip()
    if named:
        return Path(named).expanduser()
    base = (env.get("STUDIO_ROOT") or "").strip()
    return (Path(base).expanduser() if base else Path.cwd()) / DEFAULT_TOKEN_FILE


def secrets_path(env: Mapping[str, str]) -> Path | None:
    named = (env.get("YOUTUBE_CLIENT_SECRETS") or "").strip()
    return Path(named).expanduser() if named else None


def scopes_for(env: Mapping[str, str], *, playlist: bool = False) -> list[str]:
    """youtube.upload, plus the wider youtube scope when uploads join a playlist
    (YOUTUBE_PLAYLIST_ID, or a series plan that names one: playlist=True)."""
    wanted = playlist or bool((env.get("YOUTUBE_PLAYLIST_ID") or "").strip())
    return [SCOPE_UPLOAD, SCOPE_MANAGE] if wanted else [SCOPE_UPLOAD]


def write_token(path: Path, text: str) -> None:
    """Write the token readable by its owner only (0600), atomically: a crash never leaves half a token."""
    store.atomic_write_bytes(path, text.encode("utf-8"), mode=0o600)


def reauth_hint(sid: str) -> str:
    return f"run `python -m runner auth youtube` again, then `python -m runner resume {sid}`"


def load_credentials(env: Mapping[str, str], request_factory: Callable[[], Any], *, sid: str = "<session id>") -> Any:
    """The stored credentials, refreshed (and saved again) when expired; UploadError when unusable."""
    from google.auth.exceptions import RefreshError, TransportError  # noqa: PLC0415
    from google.oauth2.credentials import Credentials  # noqa: PLC0415

    path = token_path(env)
    try:
        info = json.loads(path.read_text())
        creds = Credentials.from_authorized_user_info(info)
    except FileNotFoundError:
        raise UploadError(f"no YouTube token at {path}: run `python -m runner auth youtube`, then "
                          f"`python -m runner resume {sid}`") from None
    except (ValueError, OSError, AttributeError) as exc:
        raise UploadError(f"the YouTube token at {path} is unreadable ({exc}): {reauth_hint(sid)}") from None
    # google-auth always refreshes at Google's default endpoint, whatever the file says. Our
    # token file is written by `auth youtube` from the client secrets file, so its token_uri
    # is the one that client was issued with; honouring it lets that file move the host too.
    token_uri = info.get("token_uri")
    if isinstance(token_uri, str) and token_uri.startswith("https://") and token_uri != creds.token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(token_uri)
        creds.expiry = expiry  # the copy forgets it, and would look valid for ever
    if creds.valid:
        return creds
    if not creds.refresh_token:
        raise UploadError(f"the YouTube token at {path} has expired and cannot be refreshed: {reauth_hint(sid)}")
    try:
        creds.refresh(request_factory())
    except RefreshError as exc:
        raise UploadError(f"YouTube would not refresh the saved authorisation ({_short(exc)}); it was "
                          f"revoked or has expired: {reauth_hint(sid)}") from None
    except TransportError as exc:
        raise UploadError(f"could not reach Google to refresh the YouTube token ({_short(exc)}): check the "
                          f"network, then `python -m runner resume {sid}`", transient=True) from None
    write_token(path, creds.to_json())
    return creds


def save_if_refreshed(env: Mapping[str, str], creds: Any, token_before: str | None) -> None:
    """The HTTP layer refreshes an expired token on a 401 by itself; keep the new one too."""
    if creds is not None and getattr(creds, "token", None) and creds.token != token_before:
        write_token(token_path(env), creds.to_json())


def has_gui_browser() -> bool:
    """Open a browser only where a person can see one; otherwise the address is printed."""
    if not sys.stdin or not sys.stdin.isatty():
        return False
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    import webbrowser  # noqa: PLC0415

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def authorize(env: Mapping[str, str], *, open_browser: bool | None = None, port: int = 0,
              timeout_s: float = AUTH_TIMEOUT_S, playlist: bool = False) -> Path:
    """Run the installed-app flow and store the token; return where it went."""
    from google_auth_oauthlib.flow import InstalledAppFlow  # noqa: PLC0415

    secrets = secrets_path(env)
    if secrets is None:
        raise UploadError(f"YOUTUBE_CLIENT_SECRETS is not set: {SETUP_HINT}")
    if not secrets.is_file():
        raise UploadError(f"YOUTUBE_CLIENT_SECRETS points at {secrets}, which does not exist: {SETUP_HINT}")
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=scopes_for(env, playlist=playlist))
    except ValueError as exc:
        raise UploadError(f"{secrets} is not an OAuth client file for an installed app ({exc}): {SETUP_HINT}") from None
    if open_browser is None:
        open_browser = has_gui_browser()
    # Google's consent screen lets a person untick scopes; oauthlib would then refuse the whole
    # answer. Take what was granted and check below that uploading is among it.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    creds = flow.run_local_server(
        host="localhost", port=port, open_browser=open_browser, timeout_seconds=timeout_s,
        authorization_prompt_message="Open this address in a browser and allow access:\n{url}\n",
        success_message="Badger Tape Studio is authorised to upload to YouTube. You can close this tab.",
        # Without a refresh token the authorisation would die within the hour.
        access_type="offline", prompt="consent")
    if creds is None or not getattr(creds, "refresh_token", None):
        raise UploadError("Google gave no refresh token; remove the app's access at "
                          "https://myaccount.google.com/permissions and run `python -m runner auth youtube` again")
    granted = set(getattr(creds, "granted_scopes", None) or creds.scopes or [])
    if granted and not granted & {SCOPE_UPLOAD, SCOPE_MANAGE}:
        raise UploadError("permission to upload to YouTube was not granted: run `python -m runner auth youtube` "
                          "again and allow it")
    path = token_path(env)
    write_token(path, creds.to_json())
    if SCOPE_MANAGE in scopes_for(env, playlist=playlist) and granted and SCOPE_MANAGE not in granted:
        print("warning: the 'youtube' scope was not granted, so adding uploads to a playlist will fail",
              file=sys.stderr)
    return path


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
