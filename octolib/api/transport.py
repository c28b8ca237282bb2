"""One GET against EmailOctopus: rate limit, retries, error mapping, logging, counters.

Why a layer of its own: every endpoint method and the paginator need exactly the same
request policy, and it is the only place that holds the API key.

Policy (API_NOTES §7, §8; DESIGN §4):

- Every attempt first takes a token from the shared :class:`~octolib.api.ratelimit.TokenBucket`,
  then one of ``max_in_flight`` slots, so concurrency stays bounded however many threads call.
- 429, 5xx, timeouts and dropped connections are retried up to ``max_attempts`` attempts in
  all. The wait is ``X-RateLimit-Retry-After``, else ``Retry-After`` (seconds or an HTTP
  date, capped at ``retry_after_cap_s``), else capped exponential backoff with full jitter:
  ``rng() * min(backoff_cap_s, backoff_base_s * 2 ** (attempt - 1))``.
- After the budget: ``RateLimited`` / ``ServerError`` / ``TransportError`` naming the request.
  401/403 are never retried (``AuthError``); 404 is ``NotFound`` naming the resource.
- A 2xx body that is not JSON is a ``ValidationError``, not a ``JSONDecodeError`` traceback;
  a non-JSON error body (an HTML 502 from a proxy) is kept as a short text snippet.
- One INFO line per HTTP attempt: method, path and query, status, milliseconds. The key only
  ever travels in the ``Authorization`` header; messages pass through ``redact`` anyway.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from octolib.api.ratelimit import TokenBucket
from octolib.errors import APIError, ConfigError, TransportError, ValidationError, redact

__all__ = ["Transport", "ClientStats", "backoff_delay", "parse_retry_after"]

log = logging.getLogger(__name__)

# Below this many server-side tokens left, the local bucket is lowered to match.
LOW_REMAINING = 5
_SNIPPET = 200
_RETRYABLE_EXC = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of a client's counters.

    ``requests`` counts HTTP attempts (retries included); ``retries`` the attempts that were
    repeats; ``rate_limit_waits`` the times a request waited for the local bucket or on a 429;
    ``wait_seconds`` all time spent waiting (bucket and backoff); ``by_status`` attempts per
    HTTP status; ``transport_errors`` attempts that got no HTTP answer.
    """

    requests: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    wait_seconds: float = 0.0
    by_status: dict[int, int] = field(default_factory=dict)
    transport_errors: int = 0


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: Callable[[], float]) -> float:
    """Full-jitter exponential backoff for the wait after failed attempt ``attempt`` (1-based).

    >>> backoff_delay(1, 0.5, 30.0, lambda: 1.0), backoff_delay(3, 0.5, 30.0, lambda: 1.0)
    (0.5, 2.0)
    >>> backoff_delay(20, 0.5, 30.0, lambda: 1.0)
    30.0
    """
    exp = min(cap_s, base_s * (2 ** min(attempt - 1, 62)))
    return max(0.0, rng() * exp)


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Seconds to wait from a retry header: a number of seconds or an HTTP date; else ``None``.

    >>> parse_retry_after("2"), parse_retry_after("0.5"), parse_retry_after("soon")
    (2.0, 0.5, None)
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = now() if now else datetime.now(timezone.utc)
        seconds = (when - current).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _check_key(api_key: str) -> str:
    key = api_key.strip() if isinstance(api_key, str) else ""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in key):
        # requests would put the whole header value, key included, in its InvalidHeader message.
        raise ConfigError("the API key contains spaces or control characters; copy it again from EmailOctopus")
    return key


class Transport:
    """Sends GETs to one EmailOctopus base URL with one key. Thread-safe."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        session: requests.Session,
        bucket: TokenBucket,
        timeout_s: float = 30.0,
        max_attempts: int = 6,
        max_in_flight: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        retry_after_cap_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {max_attempts!r}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight!r}")
        self._api_key = _check_key(api_key)
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.bucket = bucket
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.retry_after_cap_s = retry_after_cap_s
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._stats_lock = threading.Lock()
        self._requests = 0
        self._retries = 0
        self._rl_waits = 0
        self._wait_s = 0.0
        self._by_status: dict[int, int] = {}
        self._transport_errors = 0

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, max_attempts={self.max_attempts})"

    # -- counters ---------------------------------------------------------------------------

    def stats(self) -> ClientStats:
        with self._stats_lock:
            return ClientStats(
                requests=self._requests,
                retries=self._retries,
                rate_limit_waits=self._rl_waits,
                wait_seconds=self._wait_s,
                by_status=dict(self._by_status),
                transport_errors=self._transport_errors,
            )

    def _count(self, *, status: int | None = None, transport_error: bool = False) -> None:
        with self._stats_lock:
            self._requests += 1
            if status is not None:
                self._by_status[status] = self._by_status.get(status, 0) + 1
            if transport_error:
                self._transport_errors += 1

    def _count_wait(self, seconds: float, *, rate_limit: bool, retry: bool) -> None:
        with self._stats_lock:
            self._wait_s += seconds
            if rate_limit:
                self._rl_waits += 1
            if retry:
                self._retries += 1

    # -- the request ------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "octolib (EmailOctopus analytics)"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return headers

    def _redact(self, text: str) -> str:
        return redact(text, self._api_key)

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """The absolute URL for ``path`` and ``params`` (values ``None`` dropped), no key in it."""
        query = urlencode([(k, v) for k, v in (params or {}).items() if v is not None], doseq=True)
        return f"{self.base_url}{path}" + (f"?{query}" if query else "")

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *, resource: str = "") -> tuple[Any, str]:
        """GET ``path`` with ``params``; return ``(json_body, url)``.

        ``resource`` names what is fetched (``"list 3c1d…"``) for the 404 message.
        Raises the typed errors of :mod:`octolib.errors`; see the module docstring.
        """
        url = self.url_for(path, params)
        parts = urlsplit(url)
        label = "GET " + parts.path + (f"?{parts.query}" if parts.query else "")
        for attempt in range(1, self.max_attempts + 1):
            waited = self.bucket.acquire()
            if waited > 0:
                self._count_wait(waited, rate_limit=True, retry=False)
            started = self._clock()
            try:
                with self._slots:
                    resp = self.session.request("GET", url, headers=self._headers(), timeout=self.timeout_s)
            except _RETRYABLE_EXC as exc:
                ms = (self._clock() - started) * 1000
                self._count(transport_error=True)
                kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                if attempt < self.max_attempts:
                    delay = backoff_delay(attempt, self.backoff_base_s, self.backoff_cap_s, self._rng)
                    log.info("%s %s after %.0fms (%s); retry %d/%d in %.2fs", label, kind, ms,
                             type(exc).__name__, attempt + 1, self.max_attempts, delay)
                    self._wait(delay, rate_limit=False)
                    continue
                log.info("%s %s after %.0fms (%s); giving up", label, kind, ms, type(exc).__name__)
                raise TransportError(
                    self._redact(
                        f"{label}: {kind} ({type(exc).__name__}) on all {self.max_attempts} attempts; "
                        f"is {self.base_url} reachable? (timeout {self.timeout_s:g} s)"
                    ),
                    url=label,
                ) from exc
            except requests.RequestException as exc:
                self._count(transport_error=True)
                raise TransportError(self._redact(f"{label}: request failed: {type(exc).__name__}"), url=label) from exc

            status = resp.status_code
            ms = (self._clock() - started) * 1000
            self._count(status=status)
            self._note_remaining(resp.headers)
            if 200 <= status < 300:
                log.info("%s %d %.0fms", label, status, ms)
                return self._json_body(resp, label), url

            body = self._error_body(resp)
            retryable = status == 429 or status >= 500
            if retryable and attempt < self.max_attempts:
                delay = self._retry_delay(resp.headers, attempt)
                log.info("%s %d %.0fms; retry %d/%d in %.2fs", label, status, ms, attempt + 1, self.max_attempts, delay)
                if status == 429:
                    self.bucket.limit_to(0)  # everyone slows down, not only this thread
                self._wait(delay, rate_limit=status == 429)
                continue
            log.info("%s %d %.0fms", label, status, ms)
            error = APIError.from_response(status, label, body, resource)
            message = str(error)
            if retryable:
                message += f" (gave up after {self.max_attempts} attempts)"
            error.args = (self._redact(message),)
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, delay: float, *, rate_limit: bool) -> None:
        self._count_wait(delay, rate_limit=rate_limit, retry=True)
        if delay > 0:
            self._sleep(delay)

    def _retry_delay(self, headers: Mapping[str, str], attempt: int) -> float:
        for name in ("X-RateLimit-Retry-After", "Retry-After"):
            seconds = parse_retry_after(headers.get(name))
            if seconds is not None:
                return min(seconds, self.retry_after_cap_s)
        return backoff_delay(attempt, self.backoff_base_s, self.backoff_cap_s, self._rng)

    def _note_remaining(self, headers: Mapping[str, str]) -> None:
        raw = headers.get("X-RateLimiting-Remaining") or headers.get("X-RateLimit-Remaining")
        if raw is None:
            return
        try:
            remaining = float(raw)
        except ValueError:
            return
        if remaining < LOW_REMAINING:
            self.bucket.limit_to(remaining)

    def _json_body(self, resp: requests.Response, label: str) -> Any:
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            ctype = resp.headers.get("Content-Type", "?")
            snippet = self._redact(resp.text[:_SNIPPET])
            raise ValidationError(
                f"{label}: the {resp.status_code} response is not valid JSON (Content-Type {ctype}); "
                f"it starts {snippet!r}",
                status=resp.status_code,
                url=label,
                body=snippet,
            ) from None

    def _error_body(self, resp: requests.Response) -> Any:
        """The error body as JSON (or a short text snippet), with any echo of the key masked."""
        try:
            return self._redact_json(resp.json())
        except ValueError:
            return self._redact(resp.text[:_SNIPPET])

    def _redact_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, list):
            return [self._redact_json(v) for v in value]
        if isinstance(value, dict):
            return {k: self._redact_json(v) for k, v in value.items()}
        return value
