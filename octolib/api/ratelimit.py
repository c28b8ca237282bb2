"""Client-side rate limiting: one thread-safe token bucket shared by every request.

EmailOctopus limits an *account* to a bucket of 100 requests refilled at 10 per second
(API_NOTES §7). Keeping the same bucket locally means a sync spends the budget evenly
instead of bursting into 429s (trap T10).

The bucket *reserves* tokens: a caller that finds it empty takes a token "on credit" (the
level goes negative) and is told how long to sleep. Waiting callers therefore queue in the
order they arrived, each sleeps outside the lock, and no two callers can be granted the same
token. ``clock`` and ``sleep`` are injected so tests run on a fake clock without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """A token bucket of ``capacity`` tokens refilled at ``rate_per_s``.

    >>> now = [0.0]
    >>> def fake_sleep(s): now[0] += s
    >>> bucket = TokenBucket(rate_per_s=10, capacity=2, clock=lambda: now[0], sleep=fake_sleep)
    >>> [round(bucket.acquire(), 3) for _ in range(4)]
    [0.0, 0.0, 0.1, 0.1]
    >>> bucket.waits, round(bucket.wait_seconds, 3)
    (2, 0.2)
    """

    def __init__(
        self,
        rate_per_s: float = 10.0,
        capacity: float = 100,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, got {rate_per_s!r}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.rate_per_s = float(rate_per_s)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(capacity)
        self._stamp = clock()
        self.waits = 0
        self.wait_seconds = 0.0

    def __repr__(self) -> str:
        return f"TokenBucket(rate_per_s={self.rate_per_s}, capacity={self.capacity:g})"

    def _refill(self) -> None:
        # Called with the lock held.
        now = self._clock()
        elapsed = max(0.0, now - self._stamp)
        self._stamp = now
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate_per_s)

    def reserve(self) -> float:
        """Take one token and return how many seconds the caller must wait before using it."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            if self._tokens >= 0.0:
                return 0.0
            delay = -self._tokens / self.rate_per_s
            self.waits += 1
            self.wait_seconds += delay
            return delay

    def acquire(self) -> float:
        """Block until one token is ours; return the seconds slept (0.0 when none)."""
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay

    def take(self) -> tuple[bool, int, float]:
        """Spend a token only if one is there (never on credit), for the server side.

        Returns ``(allowed, whole tokens left, seconds until a token is available)``; the
        local EmailOctopus account answers 429 when ``allowed`` is false.

        >>> now = [0.0]
        >>> b = TokenBucket(rate_per_s=4, capacity=1, clock=lambda: now[0])
        >>> b.take(), b.take()
        ((True, 0, 0.0), (False, 0, 0.25))
        """
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True, int(self._tokens), 0.0
            return False, 0, (1.0 - self._tokens) / self.rate_per_s

    @property
    def remaining(self) -> int:
        """Whole tokens available now (0 while callers are queued on credit)."""
        return max(0, int(self.tokens))

    @property
    def tokens(self) -> float:
        """Tokens available now (negative while callers are queued on credit)."""
        with self._lock:
            self._refill()
            return self._tokens

    def limit_to(self, remaining: float) -> None:
        """Lower the local level to what the server says is left.

        Used when ``X-RateLimiting-Remaining`` is low, and with 0 after a 429, so that other
        threads slow down too instead of each finding out with its own 429.
        """
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, float(remaining))
