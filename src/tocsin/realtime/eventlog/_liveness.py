"""Liveness of the Redis event log: stuck, as opposed to waiting for Redis.

An event log that keeps failing while Redis itself answers will not get better
by waiting (issue 10: a connection pool emptied by leaked connections answered
503 forever while Redis answered PONG), so `/healthz` says so and a supervisor
restarts the process. A Redis that is down is no reason to restart anything:
readiness reports it, and everything reconnects once it is back.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

PROBE_TIMEOUT = 2.0  # seconds


class Trouble:
    """Since when (monotonic seconds) a part has failed without a success in between."""

    __slots__ = ("error", "since")

    def __init__(self) -> None:
        self.since: float | None = None
        self.error = ""

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
        self.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

    def ok(self) -> None:
        self.since = None
        self.error = ""

    def seconds(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since


async def redis_answers(url: str) -> bool:
    """Whether a new connection to `url` gets an answer (an error reply is one)."""
    client = Redis.from_url(
        url,
        socket_connect_timeout=PROBE_TIMEOUT,
        socket_timeout=PROBE_TIMEOUT,
        single_connection_client=True,
    )
    try:
        await client.ping()
    except ResponseError:
        return True
    except (RedisError, OSError):
        return False
    finally:
        await client.aclose()
    return True
