"""The token bucket behind `TOCSIN_PUBLISHER_RATE`."""

from __future__ import annotations

import pytest

from tocsin.errors import TooManyRequests
from tocsin.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_rate_then_429_with_the_wait_in_whole_seconds() -> None:
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)
    for _ in range(4):
        limiter.take("k")
    with pytest.raises(TooManyRequests) as over:
        limiter.take("k")
    assert over.value.status == 429
    assert over.value.retry_after == 1
    clock.now += 0.25  # one token back
    limiter.take("k")
    with pytest.raises(TooManyRequests):
        limiter.take("k")


def test_each_key_has_its_own_bucket_and_none_grows_past_its_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(2, clock=clock)
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(TooManyRequests):
        limiter.take("a")
    limiter.take("b")
    clock.now += 3600  # an idle hour saves no more than a burst
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(TooManyRequests):
        limiter.take("a")


def test_a_slow_rate_says_how_long_to_wait() -> None:
    clock = Clock()
    limiter = RateLimiter(0.1, clock=clock)  # one request every ten seconds
    limiter.take("k")
    with pytest.raises(TooManyRequests) as over:
        limiter.take("k")
    assert over.value.retry_after == 10
