"""Redaction of every text the studio sends to a browser.

The dashboard is local, but screenshots, screen shares and copied log lines travel. So the
server rewrites text before it leaves: the home directory becomes "~", and anything shaped
like a credential, or equal to the value of a secret environment variable, becomes
"[redacted]". Redacting on the server (not in the page) means a bug in the front-end can
never leak what the back-end did not send.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

REDACTED = "[redacted]"

# Environment variables whose values are secrets: the providers' keys by name, and anything
# that by convention holds a credential.
SECRET_ENV_NAMES = frozenset({"FAL_KEY", "ELEVENLABS_API_KEY", "YOUTUBE_CLIENT_SECRET"})
SECRET_ENV_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_CREDENTIALS", "_APIKEY")
# Shorter values ("1", "true", a port) would turn ordinary words into [redacted] everywhere.
MIN_SECRET_VALUE_CHARS = 6

# Credential shapes seen in the wild. Each is specific enough not to eat session ids, cache
# keys (lowercase hex) or file names.
_KEY_SHAPES = [
    r"sk[-_](?:proj-|live_|test_)?[A-Za-z0-9_-]{16,}",        # OpenAI / ElevenLabs / Stripe style
    r"AIza[0-9A-Za-z_-]{30,}",                                # Google API keys
    r"ya29\.[0-9A-Za-z._-]{20,}",                             # Google OAuth access tokens
    r"1//[0-9A-Za-z_-]{20,}",                                 # Google OAuth refresh tokens
    r"GOCSPX-[0-9A-Za-z_-]{10,}",                             # Google OAuth client secrets
    r"gh[pousr]_[A-Za-z0-9]{30,}",                            # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{30,}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",                         # Slack tokens
    r"AKIA[0-9A-Z]{16}",                                      # AWS access key ids
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
    # fal keys: "<uuid>:<32 hex>"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:[0-9a-fA-F]{20,}",
    # Any long token that mixes upper case, lower case and digits: random keys do, words,
    # ids, paths and hex digests do not.
    r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*[A-Z])(?=[A-Za-z0-9_-]*[a-z])(?=[A-Za-z0-9_-]*[0-9])"
    r"[A-Za-z0-9_-]{32,}(?![A-Za-z0-9_-])",
]
# "Authorization: Bearer x", "api_key=x", "token: x", "xi-api-key: x": keep the name, hide the value.
_NAMED_VALUE = (
    r"(?i)(?P<name>(?:\b(?:authorization|api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret|"
    r"secret|token|password|passwd|xi-api-key|fal_key|elevenlabs_api_key|key)\b[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic|key)\s+)?)|\b(?:bearer|basic)\s+)"
    r"(?P<value>(?!\[redacted\])[A-Za-z0-9._~+/=:-]{8,})"
)
# The shortest unbroken run of token characters any key shape contains ("eyJ" + 8 in a JWT).
_RUN_RE = re.compile(r"[A-Za-z0-9_-]{11,}")
_SCHEME_RE = re.compile(r"(?i)\b(?:bearer|basic)\s")
# Dict keys whose values are secrets whatever they look like.
_SECRET_FIELD_RE = re.compile(
    r"(?i)(^|[_-])(api[_-]?key|key|token|secret|password|passwd|authorization|credentials?)$"
)
# ...except for fields that are ids of cached results, not credentials.
_SAFE_FIELDS = frozenset({"cache_key", "variation_key", "key", "sort_key"})


def is_secret_env_name(name: str) -> bool:
    upper = name.upper()
    return upper in SECRET_ENV_NAMES or upper.endswith(SECRET_ENV_SUFFIXES)


class Redactor:
    """Rewrites strings and JSON-like values; built once per process from the environment.

    env and home are passed in so tests can plant their own secrets and home directory.
    """

    def __init__(self, env: Mapping[str, str] | None = None, home: str | None = None) -> None:
        env = os.environ if env is None else env
        home = os.path.expanduser("~") if home is None else home
        secrets = sorted(
            {v for k, v in env.items() if is_secret_env_name(k) and v and len(v) >= MIN_SECRET_VALUE_CHARS},
            key=len, reverse=True,  # longest first, so a secret containing another goes whole
        )
        self._secrets = tuple(secrets)
        self._secrets_re = re.compile("|".join(re.escape(s) for s in secrets)) if secrets else None
        self._shapes_re = re.compile("|".join(f"(?:{p})" for p in _KEY_SHAPES))
        self._named_re = re.compile(_NAMED_VALUE)
        home = home.rstrip("/")
        # "/" or "" as home would turn every absolute path into "~..."; a home must be a real
        # folder path to be worth hiding. The lookahead keeps "/root" from matching "/rootfs".
        self._home = home if home.count("/") >= 1 and len(home) > 1 else None
        self._home_re = re.compile(re.escape(home) + r"(?![A-Za-z0-9_.-])") if self._home else None

    def text(self, value: str) -> str:
        # Cheap tests first: most strings (themes, titles, step names) hold no candidate at
        # all, and ten thousand rows are redacted on a cold start.
        if not value:
            return value
        out = value
        if self._secrets_re is not None and any(s in out for s in self._secrets):
            out = self._secrets_re.sub(REDACTED, out)
        if _RUN_RE.search(out):          # every key shape holds a run this long
            out = self._shapes_re.sub(REDACTED, out)
        if "=" in out or ":" in out or _SCHEME_RE.search(out):
            out = self._named_re.sub(lambda m: m.group("name") + REDACTED, out)
        if self._home is not None and self._home in out:
            out = self._home_re.sub("~", out)  # type: ignore[union-attr]
        return out

    def value(self, obj: Any, _field: str | None = None) -> Any:
        """A copy of a JSON-like value with every string redacted, and secret-named fields hidden."""
        if isinstance(obj, str):
            if _field is not None and _field not in _SAFE_FIELDS and _SECRET_FIELD_RE.search(_field):
                return REDACTED if obj else obj
            return self.text(obj)
        if isinstance(obj, dict):
            return {(self.text(k) if isinstance(k, str) else k): self.value(v, k if isinstance(k, str) else None)
                    for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [self.value(v) for v in obj]
        return obj
