"""The token bucket, on a fake clock: waits are asserted, never slept."""

from __future__ import annotations

import threading

import pytest

from octolib.api.ratelimit import TokenBucket


class FakeClock:
    """A clock that only moves when someone sleeps on it (or when told to)."""

    def __init__(self, advance_on_sleep: bool = True) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []
        self.advance_on_sleep = advance_on_sleep
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if self.advance_on_sleep:
                self.t += seconds


def test_burst_then_steady_rate_asks_for_about_ten_seconds_of_sleep():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, capacity=100, clock=clock.now, sleep=clock.sleep)
    waits = [bucket.acquire() for _ in range(200)]
    assert waits[:100] == [0.0] * 100, "the first 100 (the burst) must not wait"
    assert all(w > 0 for w in waits[100:]), "after the burst every acquisition waits"
    assert sum(clock.sleeps) == pytest.approx(10.0, abs=1e-6)
    assert len(clock.sleeps) == 100
    assert bucket.waits == 100
    assert bucket.wait_seconds == pytest.approx(10.0, abs=1e-6)
    assert clock.t - 1000.0 == pytest.approx(10.0, abs=1e-6)


def test_idle_time_refills_but_never_beyond_capacity():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, capacity=100, clock=clock.now, sleep=clock.sleep)
    for _ in range(100):
        bucket.acquire()
    clock.t += 5.0  # 5 s idle: 50 tokens back
    assert [bucket.acquire() for _ in range(50)] == [0.0] * 50
    assert bucket.acquire() == pytest.approx(0.1)
    clock.t += 10_000  # a long idle period still holds only `capacity` tokens
    assert bucket.tokens == pytest.approx(100.0)
    assert sum(1 for _ in range(150) if bucket.acquire() == 0.0) == 100


def test_bucket_is_thread_safe_no_token_is_granted_twice():
    # The clock is frozen: every caller after the first 100 queues on credit, so the exact
    # multiset of waits is known. A racy bucket hands out duplicate or lost reservations.
    clock = FakeClock(advance_on_sleep=False)
    bucket = TokenBucket(rate_per_s=10, capacity=100, clock=clock.now, sleep=clock.sleep)
    results: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait(timeout=5)
        mine = [bucket.acquire() for _ in range(50)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert len(results) == 400
    expected = [0.0] * 100 + [k / 10 for k in range(1, 301)]
    assert sorted(results) == pytest.approx(expected)
    assert bucket.waits == 300


def test_limit_to_lowers_but_never_raises_the_level():
    clock = FakeClock()
    bucket = TokenBucket(rate_per_s=10, capacity=100, clock=clock.now, sleep=clock.sleep)
    bucket.limit_to(2)
    assert bucket.tokens == pytest.approx(2)
    bucket.limit_to(50)
    assert bucket.tokens == pytest.approx(2)
    assert [bucket.acquire() for _ in range(3)] == pytest.approx([0.0, 0.0, 0.1])


@pytest.mark.parametrize("rate,capacity", [(0, 10), (-1, 10), (10, 0)])
def test_bad_configuration_is_refused(rate, capacity):
    with pytest.raises(ValueError):
        TokenBucket(rate_per_s=rate, capacity=capacity)
