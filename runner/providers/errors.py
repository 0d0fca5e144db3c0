"""Errors a paid provider raises for people to read.

runner.pipeline._describe prints the message of a ProviderError or UploadError without the
class name, so each message must stand on its own: what went wrong and what to do next.
It matches the exact class name, so there are deliberately no further subclasses.
"""

from __future__ import annotations


class ProviderError(RuntimeError):
    """A paid provider failed in a way a person must act on (or retry later)."""

    def __init__(self, message: str, *, transient: bool = False, status: int | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.transient = transient  # a retry may succeed (outage, rate limit, cut transfer)
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait, when it said


class UploadError(ProviderError):
    """The YouTube upload failed; the message says how to fix it and that `resume` continues."""
