"""The one exception tree of octolib.

::

    OctoError
    ├── ConfigError            a setting is missing or invalid
    ├── TransportError         no HTTP answer (connection refused, reset, timeout)
    ├── APIError(status, url, body)   an HTTP answer we cannot use
    │   ├── AuthError          401/403: the key is invalid, legacy, or for another account
    │   ├── NotFound           404: the resource does not exist (or was deleted)
    │   ├── RateLimited        429 after the retry budget ran out
    │   ├── ServerError        5xx after the retry budget ran out
    │   └── ValidationError    2xx whose body is not the JSON shape the API documents
    ├── StoreError             MongoDB / embedded store problems
    └── LockHeld               a named lock (sync, backup, scheduler) is held by another
                               process (:mod:`octolib.store.locks`, with the holder)

Modules add their own subclasses where the caller needs to tell them apart (``PartnerError``,
``DeliveryError``, ``JobFailed``...); ``tests/test_structure.py`` checks that every public
exception class of octolib is under ``OctoError``.

Messages name the request (method and path, query without secrets) and the fix; never the key.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "OctoError",
    "ConfigError",
    "TransportError",
    "APIError",
    "AuthError",
    "NotFound",
    "RateLimited",
    "ServerError",
    "ValidationError",
    "StoreError",
    "redact",
]

_SECRET_PATTERNS = [
    re.compile(r"(Bearer\s+)[^\s'\"]+", re.I),
    re.compile(r"((?:api[_-]?key|password|passwd|token|secret)[\"']?\s*[=:]\s*[\"']?)[^\s&'\",}]+", re.I),
]


def redact(text: str, *secrets: str) -> str:
    """Mask known secrets and anything that looks like a key or password in ``text``.

    >>> redact("Authorization: Bearer abc123 api_key=zzz", "abc123")
    'Authorization: Bearer *** api_key=***'
    """
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***", text)
    return text


class OctoError(Exception):
    """Base of every error octolib raises on purpose."""


class ConfigError(OctoError):
    pass


class StoreError(OctoError):
    pass


class TransportError(OctoError):
    def __init__(self, message: str, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class APIError(OctoError):
    """An HTTP answer from EmailOctopus that we cannot use."""

    def __init__(self, message: str, *, status: int = 0, url: str = "", body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.body = body

    @property
    def type_slug(self) -> str:
        """The part of the problem ``type`` that identifies it (``#slug`` or ``/errors/NNN``)."""
        t = self.body.get("type", "") if isinstance(self.body, dict) else ""
        if "#" in t:
            return t.rsplit("#", 1)[1]
        return t.rstrip("/").rsplit("/", 1)[-1] if t else ""

    @classmethod
    def from_response(cls, status: int, url: str, body: Any, resource: str = "") -> "APIError":
        """Pick the subclass by status first, then by the ``type`` slug (API_NOTES §8)."""
        detail = body.get("detail") if isinstance(body, dict) else None
        detail_txt = f": {detail}" if detail else ""
        if status == 401:
            return AuthError(
                f"401 Unauthorized for {url}{detail_txt}. The API key is invalid, revoked or a "
                "legacy (pre-v2) key: create a new key in EmailOctopus (Settings > API keys) and set OCTO_API_KEY",
                status=status, url=url, body=body,
            )
        if status == 403:
            return AuthError(
                f"403 Access denied for {url}{detail_txt}. The key belongs to another account than this resource",
                status=status, url=url, body=body,
            )
        if status == 404:
            what = resource or "resource"
            return NotFound(f"404 Not found: {what} at {url} does not exist (deleted, or wrong id)",
                            status=status, url=url, body=body)
        if status == 429:
            return RateLimited(f"429 Too many requests for {url}: rate limit still exceeded after retries",
                               status=status, url=url, body=body)
        if status >= 500:
            return ServerError(f"{status} server error from EmailOctopus for {url}{detail_txt}",
                               status=status, url=url, body=body)
        errors = body.get("errors") if isinstance(body, dict) else None
        extra = ""
        if isinstance(errors, list) and errors:
            extra = "; " + "; ".join(
                f"{e.get('parameter') or e.get('pointer') or '?'}: {e.get('detail', '')}" for e in errors if isinstance(e, dict)
            )
        return cls(f"{status} error for {url}{detail_txt}{extra}", status=status, url=url, body=body)


class AuthError(APIError):
    pass


class NotFound(APIError):
    pass


class RateLimited(APIError):
    pass


class ServerError(APIError):
    pass


class ValidationError(APIError):
    """A 2xx answer whose JSON is not the documented shape; names endpoint and field."""
