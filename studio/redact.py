"""Redaction of every text the studio sends to a browser.

The dashboard is local, but screenshots, screen shares and copied log lines travel. So the
server rewrites text before it leaves: the home directory becomes "~", and anything shaped
like a credential, or equal to the value of a secret environment variable, becomes
"[redacted]". Redacting on the server (not in the page) means a bug in the front-end can
never leak what the back-end did not send. Every answer passes through studio/door.py,
which calls this on every string it encodes.

Every pattern here runs in time linear in its input, whatever the input (a 4 MiB title of
"eyJeyJ..." once took minutes). The rule that guarantees it: a key shape may only start
where the character before it could not be part of the same match (a lookbehind over every
character the shape can contain), so the engine's attempts never scan the same characters
twice, and each repetition is followed by a character it cannot contain, so it never
backtracks into itself.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

REDACTED = "[redacted]"
MAX_DEPTH = 32            # deeper parts of a value are sent as null (only hostile files nest so)

# Environment variables whose values are secrets: the providers' keys by name, and anything
# that by convention holds a credential.
SECRET_ENV_NAMES = frozenset({"FAL_KEY", "ELEVENLABS_API_KEY", "YOUTUBE_CLIENT_SECRET"})
SECRET_ENV_SUFFIXES = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_CREDENTIALS", "_APIKEY")
# Shorter values ("1", "true", a port) would turn ordinary words into [redacted] everywhere.
MIN_SECRET_VALUE_CHARS = 6

_T = r"A-Za-z0-9_\-"      # the characters of a token run (the dash escaped: more may follow)
# Credential shapes seen in the wild. Each is specific enough not to eat session ids, cache
# keys (lowercase hex) or file names, and each starts only at the start of a token run (the
# shared lookbehind below), with a further lookbehind where its own characters go beyond it.
_KEY_SHAPES = [
    rf"sk[-_][{_T}]{{16,}}",                                  # OpenAI / ElevenLabs / Stripe style
    rf"AIza[{_T}]{{30,}}",                                    # Google API keys
    rf"(?<!\.)ya29\.[{_T}.]{{20,}}",                          # Google OAuth access tokens
    rf"(?<!/)1//[{_T}]{{20,}}",                               # Google OAuth refresh tokens
    rf"GOCSPX-[{_T}]{{10,}}",                                 # Google OAuth client secrets
    r"gh[pousr]_[A-Za-z0-9]{30,}",                            # GitHub tokens
    r"github_pat_[A-Za-z0-9_]{30,}",
    r"xox[abposr]-[A-Za-z0-9-]{10,}",                         # Slack tokens
    r"AKIA[0-9A-Z]{16}",                                      # AWS access key ids
    rf"(?<!\.)eyJ[{_T}]{{8,}}\.[{_T}]{{8,}}\.[{_T}]{{8,}}",   # JWTs
    # fal keys: "<uuid>:<32 hex>"
    r"(?<!:)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:[0-9a-fA-F]{20,}",
    # Any long token that mixes upper case, lower case and digits: random keys do, words,
    # ids, paths and hex digests do not.
    rf"(?=[{_T}]*[A-Z])(?=[{_T}]*[a-z])(?=[{_T}]*[0-9])[{_T}]{{32,}}(?![{_T}])",
]
_SHAPES = rf"(?<![{_T}])(?:" + "|".join(f"(?:{p})" for p in _KEY_SHAPES) + ")"
# "Authorization: Bearer x", "api_key=x", "token: x", "xi-api-key: x": keep the name, hide the value.
# Linear: each whitespace run is followed by a character it cannot contain, and the value,
# once 8 characters long, always matches (the engine then goes on after it).
_NAMED_VALUE = (
    r"(?i)(?P<name>(?:\b(?:authorization|api[_-]?key|access[_-]?token|refresh[_-]?token|client[_-]?secret|"
    r"secret|token|password|passwd|xi-api-key|fal_key|elevenlabs_api_key|key)\b[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:bearer|basic|key)[ \t]+)?)|\b(?:bearer|basic)[ \t]+)"
    r"(?P<value>(?!\[redacted\])[A-Za-z0-9._~+/=:-]{8,})"
)
# The shortest unbroken run of token characters any key shape contains ("eyJ" + 8 in a JWT).
_RUN_RE = re.compile(rf"[{_T}]{{11}}")
_SCHEME_RE = re.compile(r"(?i)\b(?:bearer|basic)[ \t]")
# Dict keys whose values are secrets whatever they look like.
_SECRET_FIELD_RE = re.compile(
    r"(?i)(^|[_-])(api[_-]?key|key|token|secret|password|passwd|authorization|credentials?)$"
)
# ...except for fields that are ids of cached results, not credentials.
_SAFE_FIELDS = frozenset({"cache_key", "variation_key", "key", "sort_key"})
# Strings this short repeat across answers (statuses, times, ids): their redaction is kept.
_MEMO_CHARS = 64
_MEMO_SIZE = 20_000


class Verbatim(str):
    """A string the door sends as it is. Only for values the page must get exactly and that
    are ours, not data: the per-process token."""


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
        self._shapes_re = re.compile(_SHAPES)
        self._named_re = re.compile(_NAMED_VALUE)
        home = home.rstrip("/")
        # "/" or "" as home would turn every absolute path into "~..."; a home must be a real
        # folder path to be worth hiding. The lookahead keeps "/root" from matching "/rootfs".
        self._home = home if home.count("/") >= 1 and len(home) > 1 else None
        self._home_re = re.compile(re.escape(home) + r"(?![A-Za-z0-9_.-])") if self._home else None
        self._memo: dict[str, str] = {}

    def text(self, value: str) -> str:
        if len(value) <= _MEMO_CHARS:
            done = self._memo.get(value)
            if done is None:
                done = self._text(value)
                if len(self._memo) >= _MEMO_SIZE:
                    self._memo.clear()
                self._memo[value] = done
            return done
        return self._text(value)

    def _text(self, value: str) -> str:
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

    def cut(self, text: str, *, head: bool, tail: bool) -> str:
        """Redact a window cut out of a longer text, then hide whatever touches a cut.

        A key cut in two is no key shape in either half, and "token: <cut>value" has its
        name and value in different windows. So after redacting, the first run of
        non-space characters (head: the window starts mid-text) and the last one (tail: it
        ends mid-text) become [redacted] too. Linear: string methods, no pattern.
        """
        out = self.text(text)
        if head:
            body = out.lstrip()
            first = body.split(None, 1)
            if first:
                out = out[:len(out) - len(body)] + REDACTED + body[len(first[0]):]
        if tail:
            body = out.rstrip()
            last = body.rsplit(None, 1)
            if last:
                out = body[:len(body) - len(last[-1])] + REDACTED + out[len(body):]
        return out

    def value(self, obj: Any, _field: str | None = None, _depth: int = 0) -> Any:
        """A copy of a JSON-like value with every string redacted, secret-named fields hidden,
        and anything nested deeper than MAX_DEPTH replaced by None."""
        if isinstance(obj, str):
            if type(obj) is Verbatim:
                return str(obj)
            if _field is not None and _field not in _SAFE_FIELDS and _SECRET_FIELD_RE.search(_field):
                return REDACTED if obj else obj
            return self.text(obj)
        if isinstance(obj, dict):
            if _depth >= MAX_DEPTH:
                return None
            return {(self.text(k) if isinstance(k, str) else k): self.value(v, k if isinstance(k, str) else None,
                                                                            _depth + 1)
                    for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            if _depth >= MAX_DEPTH:
                return None
            return [self.value(v, None, _depth + 1) for v in obj]
        if type(obj) is float and obj - obj != 0.0:
            return None   # NaN and infinities are not JSON; validation keeps them out of files
        return obj
