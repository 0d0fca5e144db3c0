"""Environment: secrets and host overrides come from the process environment or a .env file.

Variables already set win over .env (python-dotenv's override=False). The .env beside the
data root and the one in the current directory are both read; they are usually the same file.
"""

from __future__ import annotations

from pathlib import Path

# Every variable the runner reads; .env.example lists the same names (a test keeps them in step).
VARIABLES = (
    "STUDIO_ROOT", "FFMPEG",
    "FAL_KEY", "FAL_RUN_HOST", "FAL_QUEUE_RUN_HOST", "FAL_REST_HOST", "FAL_CDN_HOST",
    "ELEVENLABS_API_KEY", "ELEVENLABS_BASE_URL",
    "YOUTUBE_CLIENT_SECRETS", "YOUTUBE_TOKEN_FILE", "YOUTUBE_PLAYLIST_ID", "YOUTUBE_API_ENDPOINT",
)


def load_env(root: Path) -> None:
    try:
        from dotenv import load_dotenv  # noqa: PLC0415
    except ImportError:  # the local pipeline needs no secrets; .env is only for paid providers
        return
    seen = set()
    for candidate in (root / ".env", Path.cwd() / ".env"):
        path = candidate.resolve()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        load_dotenv(path, override=False)
