"""Small helpers for talking to services: timeouts, retries, and messages that never leak a secret."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse

#: Extra attempts after a failed request (connection refused or reset, timeout, HTTP 5xx/429); the
#: timeouts themselves are :func:`labhelpers.settings.timeouts`.
RETRIES = 1

_SECRET = re.compile(r"(?i)\b(sig|se|st|sv|sp|skoid|sktid|skt|ske|sks|skv|sr|spr|srt|ss|AccountKey|password|"
                     r"subscription-key|Ocp-Apim-Subscription-Key)=([^&\s'\";]+)")


def redact(url) -> str:
    """``url`` without its query string: SAS tokens live there and must not reach logs or errors."""
    s = str(url)
    parts = urllib.parse.urlsplit(s)
    if parts.scheme in ("http", "https") and parts.query:
        return urllib.parse.urlunsplit(parts._replace(query="<redacted>"))
    return s


_URL_QUERY = re.compile(r"(https?://[^\s'\"?]+)\?[^\s'\"]*")


def scrub(text) -> str:
    """``text`` with URL query strings, SAS token parts (``sig=...``), account keys and passwords redacted."""
    return _SECRET.sub(lambda m: f"{m.group(1)}=<redacted>", _URL_QUERY.sub(r"\1?<redacted>", str(text)))


def reason(err: BaseException) -> str:
    """A one-line, secret-free reason for a failed request: ``HTTP 403 Forbidden``, a socket error, ..."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return scrub(err.reason)
    text = scrub(err).splitlines()
    return f"{type(err).__name__}: {text[0][:300] if text else ''}"
