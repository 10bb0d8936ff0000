"""What a scenario gets: the system, its server, the generator and a publisher."""

from __future__ import annotations

import asyncio
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench import payload
from bench.config import Profile
from bench.httpclient import ClientPool, build_request
from bench.loadgen.pool import WorkerPool
from bench.proc import Monitor, ServerProcess
from bench.stats import summarize
from bench.systems import HOST, System


@dataclass
class PublishLog:
    """Publish calls made in one phase: statuses and request-to-answer times."""

    statuses: Counter[str] = field(default_factory=Counter)
    latencies: array[int] = field(default_factory=lambda: array("q"))

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("2"))


@dataclass
class Bench:
    system: System
    server: ServerProcess
    pool: WorkerPool
    profile: Profile
    monitor: Monitor
    client: ClientPool
    seq: int = 0

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        return self.system.port

    async def publish(self, vendor: str, log: PublishLog | None = None) -> int:
        """One publish through the public API, stamped just before it is written."""
        self.seq += 1
        body = payload.publish_body(self.seq, vendor)
        headers = {"Content-Type": "application/json", **self.system.publisher_headers()}
        path = self.system.publish_path(vendor)
        data = payload.stamp(body)
        raw = build_request("POST", HOST, self.port, path, headers, data)
        start = time.monotonic_ns()
        try:
            resp = await self.client.send(raw)
        except (OSError, asyncio.IncompleteReadError) as exc:
            if log is not None:
                log.statuses[type(exc).__name__] += 1
            return 0
        if log is not None:
            log.latencies.append(time.monotonic_ns() - start)
            log.statuses[str(resp.status)] += 1
        return resp.status

    async def publish_many(self, vendors: Sequence[str], concurrency: int) -> PublishLog:
        """Publish one event per entry of `vendors`, `concurrency` calls in flight."""
        log = PublishLog()
        it = iter(vendors)

        async def lane() -> None:
            for vendor in it:
                await self.publish(vendor, log)

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return log

    async def mint_many(self, vendors: Sequence[str], concurrency: int = 16) -> dict[str, str]:
        tokens: dict[str, str] = {}
        it = iter(vendors)

        async def lane() -> None:
            for vendor in it:
                tokens[vendor] = await self.system.mint(self.client, vendor)

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return tokens

    def rss(self) -> int:
        return self.server.rss()


def publish_summary(log: PublishLog) -> dict[str, Any]:
    return {"statuses": dict(log.statuses), "latency": summarize(log.latencies)}
