"""Polling: closed-loop load on `/api/v1/stream/poll` with `wait=0`.

Runs after catch-up and reads that vendor's log: each request asks for the
`LIMIT` events after an id drawn from the ids catch-up saw, so every answer
carries a full page. `concurrency` keep-alive clients spread over the
generator's workers send requests back to back for `poll_seconds`.
"""

from __future__ import annotations

import random
from typing import Any

from bench.context import Bench
from bench.scenarios.catchup import VENDOR
from bench.stats import summarize

LIMIT = 10


async def run(bench: Bench, ids: list[str]) -> dict[str, Any]:
    system = bench.system
    profile = bench.profile
    token = await system.mint(bench.client, VENDOR)
    rng = random.Random(6)
    usable = ids[: max(1, len(ids) - LIMIT)]
    afters = [rng.choice(usable) for _ in range(256)]
    requests = [system.poll_request(token, after, LIMIT) for after in afters]
    phase = bench.monitor.begin()
    result = await bench.pool.poll(
        bench.host, bench.port, requests, profile.poll_concurrency, profile.poll_seconds
    )
    bench.monitor.end(phase)
    ok = sum(n for s, n in result["statuses"].items() if s == "200")
    return {
        "concurrency": profile.poll_concurrency,
        "limit": LIMIT,
        "seconds": round(result["elapsed"], 2),
        "requests": result["requests"],
        "ok": ok,
        "requests_per_s": round(ok / result["elapsed"], 1),
        "statuses": result["statuses"],
        "latency": summarize(result["lat"]),
        "cpu": phase.cpu,
    }
