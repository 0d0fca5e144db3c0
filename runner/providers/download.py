"""Fetch a provider's output file, and refuse it unless it is what was asked for.

Paid APIs answer with URLs on a CDN. A truncated transfer, an HTML error page served with a
200, or a 0-byte file would otherwise only surface minutes later as an ffmpeg failure in
the render. So every download is checked here, at the door: the status, the declared type,
the size against Content-Length and against sane bounds, and the file's first bytes (its
magic number) against the kind of media expected.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .base import ProviderContext
from .errors import ProviderError
from .retry import DEFAULT_POLICY, RetryPolicy, Verdict, network_verdict, parse_retry_after, status_verdict, with_retries

MiB = 1024 * 1024


@dataclass(frozen=True)
class Expect:
    types: tuple[str, ...]   # Content-Type values accepted as they are
    min_bytes: int
    max_bytes: int


EXPECT: dict[str, Expect] = {
    "image": Expect(("image/png", "image/jpeg", "image/webp"), 1024, 40 * MiB),
    "video": Expect(("video/mp4", "video/quicktime"), 8 * 1024, 500 * MiB),
    "audio": Expect(("audio/mpeg", "audio/mp3", "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave",
                     "audio/flac", "audio/x-flac", "audio/ogg", "audio/aac", "audio/mp4", "audio/x-m4a"),
                    1024, 300 * MiB),
}
# CDNs sometimes label everything as a byte stream; then the magic number decides alone.
GENERIC_TYPES = ("application/octet-stream", "binary/octet-stream")


@dataclass(frozen=True)
class Downloaded:
    path: Path
    bytes: int
    content_type: str
    suffix: str


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, suffix) from a file's first bytes, or None when it is no media we take."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", ".jpg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", ".webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio", ".wav"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        # M4A is audio in an MP4 box; everything else with ftyp is taken as video.
        return ("audio", ".m4a") if brand in (b"M4A ", b"M4B ") else ("video", ".mp4")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio", ".mp3"
    if head.startswith(b"fLaC"):
        return "audio", ".flac"
    if head.startswith(b"OggS"):
        return "audio", ".ogg"
    return None


def check_bytes(path: Path, kind: str, content_type: str = "") -> str:
    """Check a file already on disk (a streamed SDK answer); return its suffix or raise ProviderError."""
    expect = EXPECT[kind]
    size = path.stat().st_size
    if size < expect.min_bytes:
        raise ProviderError(f"{path.name}: only {size} bytes, too small to be a real {kind}")
    if size > expect.max_bytes:
        raise ProviderError(f"{path.name}: {size} bytes, larger than the {expect.max_bytes // MiB} MiB "
                            f"allowed for one {kind}")
    with open(path, "rb") as fh:
        found = sniff(fh.read(16))
    if found is None or found[0] != kind:
        what = found[0] if found else "unrecognised data"
        raise ProviderError(f"{path.name}: expected {kind} but the bytes are {what}"
                            + (f" (declared {content_type})" if content_type else ""))
    return found[1]


async def fetch(url: str, dest_stem: Path, *, kind: str, ctx: ProviderContext, what: str,
                policy: RetryPolicy = DEFAULT_POLICY, timeout_s: float = 120.0) -> Downloaded:
    """Download url to dest_stem + the suffix its content shows; retried on transient failures."""
    import httpx  # noqa: PLC0415 - only paid runs download anything

    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ProviderError(f"{what}: refusing to download from {url[:80]!r}: only https URLs are accepted")
    expect = EXPECT[kind]
    dest_stem.parent.mkdir(parents=True, exist_ok=True)
    part = dest_stem.with_name(dest_stem.name + ".part")

    async def attempt() -> Downloaded:
        timeout = httpx.Timeout(timeout_s, connect=15.0)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            async with client.stream("GET", url) as resp:
                if resp.url.scheme != "https":
                    raise ProviderError(f"{what}: redirected off https to {resp.url.host}")
                if resp.status_code != 200:
                    verdict = status_verdict(resp.status_code, parse_retry_after(resp.headers.get("retry-after")))
                    raise ProviderError(f"{what}: download failed with HTTP {resp.status_code}"
                                        + (" (the link may have expired)" if resp.status_code in (403, 404, 410) else ""),
                                        transient=verdict.transient, status=resp.status_code,
                                        retry_after=verdict.retry_after)
                ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                if ctype not in expect.types and ctype not in GENERIC_TYPES:
                    raise ProviderError(f"{what}: expected {kind}, the server sent {ctype or 'no content type'}")
                declared = resp.headers.get("content-length")
                declared_n = int(declared) if declared and declared.isdigit() else None
                if declared_n is not None and declared_n > expect.max_bytes:
                    raise ProviderError(f"{what}: {declared_n} bytes is more than the "
                                        f"{expect.max_bytes // MiB} MiB allowed for one {kind}")
                got = 0
                with open(part, "wb") as fh:
                    async for chunk in resp.aiter_bytes(256 * 1024):
                        got += len(chunk)
                        if got > expect.max_bytes:
                            raise ProviderError(f"{what}: more than {expect.max_bytes // MiB} MiB; stopped")
                        fh.write(chunk)
                if declared_n is not None and got != declared_n:
                    # A cut connection: the same URL will usually serve the whole file next time.
                    raise ProviderError(f"{what}: got {got} of {declared_n} bytes (transfer cut short)",
                                        transient=True)
        suffix = check_bytes(part, kind, ctype)
        final = dest_stem.with_name(dest_stem.name + suffix)
        os.replace(part, final)
        return Downloaded(final, got, ctype, suffix)

    def classify(exc: BaseException) -> Verdict | None:
        if isinstance(exc, ProviderError):
            return Verdict(exc.transient, str(exc).split(": ", 1)[-1], exc.retry_after)
        return network_verdict(exc)

    try:
        return await with_retries(attempt, ctx=ctx, what=f"{what} download", classify=classify, policy=policy)
    finally:
        part.unlink(missing_ok=True)

