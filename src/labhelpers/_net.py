"""Small helpers for talking to services: messages that never leak a SAS token."""

from __future__ import annotations

import urllib.error
import urllib.parse


def redact(url) -> str:
    """``url`` without its query string: SAS tokens live there and must not reach logs or errors."""
    s = str(url)
    parts = urllib.parse.urlsplit(s)
    if parts.scheme in ("http", "https") and parts.query:
        return urllib.parse.urlunsplit(parts._replace(query="<redacted>"))
    return s


def reason(err: BaseException) -> str:
    """A one-line reason for a failed request: ``HTTP 403 Forbidden``, a socket error, ..."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return f"{type(err).__name__}: {err}"
