"""Many vendors: V vendors with 1-3 tabs each, publishes at a steady rate.

Publishes go to vendors drawn at random (fixed seed) on an open-loop schedule:
the k-th publish is due at `k / rate` seconds whatever happened before, with at
most 32 in flight, so a slow server shows up as lag and latency, not as a
quietly lower rate.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench.context import Bench, PublishLog, publish_summary
from bench.stats import summarize

IN_FLIGHT = 32


def tabs_of(index: int) -> int:
    return 1 + index % 3


async def run(bench: Bench) -> dict[str, Any]:
    profile = bench.profile
    system = bench.system
    vendors = [f"mv{i:05d}" for i in range(profile.vendors)]
    started = time.monotonic()
    tokens = await bench.mint_many(vendors)
    minted = time.monotonic() - started
    requests = [
        system.stream_request(tokens[v], v)
        for i, v in enumerate(vendors)
        for _ in range(tabs_of(i))
    ]
    opening = await bench.pool.open(system.kind, bench.host, bench.port, requests, concurrency=64)
    alive = await bench.pool.reset()
    print(
        f"  [{system.name}] {len(vendors)} vendors: {alive}/{len(requests)} streams open "
        f"in {opening['seconds']:.1f} s (tokens {minted:.1f} s)",
        flush=True,
    )
    await asyncio.sleep(1.0)
    rss = bench.rss()

    rng = random.Random(6)
    total = int(profile.vendor_rate * profile.vendor_seconds)
    picks = [rng.randrange(len(vendors)) for _ in range(total)]
    expected = sum(tabs_of(i) for i in picks)
    await bench.pool.reset()
    log = PublishLog()
    lag = 0.0
    sem = asyncio.Semaphore(IN_FLIGHT)
    tasks: list[asyncio.Task[int]] = []

    async def one(vendor: str) -> int:
        try:
            return await bench.publish(vendor, log)
        finally:
            sem.release()

    phase = bench.monitor.begin()
    t0 = time.monotonic()
    t0_ns = time.monotonic_ns()
    for k, index in enumerate(picks):
        due = t0 + k / profile.vendor_rate
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        await sem.acquire()
        lag = max(lag, time.monotonic() - due)
        tasks.append(asyncio.create_task(one(vendors[index])))
    await asyncio.gather(*tasks)
    sent_for = time.monotonic() - t0
    delivered = await bench.pool.wait_delivered(
        expected, timeout=profile.vendor_drain_seconds, step=0.05
    )
    bench.monitor.end(phase)
    lat, last = await bench.pool.collect()
    elapsed = max(1, last - t0_ns) / 1e9
    await bench.pool.close_all()
    return {
        "vendors": len(vendors),
        "streams": alive,
        "streams_wanted": len(requests),
        "connect": {"seconds": round(opening["seconds"], 2), "statuses": opening["statuses"]},
        "rss": rss,
        "rate": profile.vendor_rate,
        "publishes": total,
        "publish_seconds": round(sent_for, 2),
        "publishes_per_s": round(log.ok / sent_for, 1),
        "max_schedule_lag_s": round(lag, 3),
        "expected": expected,
        "delivered": delivered,
        "deliveries_per_s": round(delivered / elapsed, 1),
        "latency": summarize(lat),
        "cpu": phase.cpu,
        "publish": publish_summary(log),
    }
