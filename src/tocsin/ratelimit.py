"""Token buckets: at most `rate` requests a second per key, in bursts of up to `rate`.

The publisher limit (`TOCSIN_PUBLISHER_RATE`) is kept per process, in memory:
publishing must go on while Redis is down (the outbox holds the events), so it
cannot depend on Redis. Behind N processes a key may send N times the rate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from tocsin.errors import TooManyRequests


class Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class RateLimiter:
    """`rate` tokens a second per key; a bucket holds at most `burst` (default: `rate`, ≥ 1)."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert rate > 0
        self.rate = rate
        self.burst = max(1.0, burst if burst is not None else rate)
        self.clock = clock
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str, what: str = "requests") -> None:
        """Spend a token of `key`'s bucket, or raise `TooManyRequests` with the wait."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = math.ceil((1 - bucket.tokens) / self.rate)
        raise TooManyRequests(
            f"more than {self.rate:g} {what} a second; retry in {wait} s", retry_after=wait
        )
