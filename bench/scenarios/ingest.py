"""Ingest: open-loop publishes at stepped rates to many vendors with open streams.

V vendors have 2 streams each. At each rate the k-th publish is due at
`k / rate` s whatever happened before (at most `IN_FLIGHT` calls in flight), to
a vendor drawn at random: a slow server shows as lag and latency, not as a
quietly lower rate. Per step: publish-call p50/p99 and publish→receipt
p50/p99. The saturation point is the first rate the server did not sustain
(under 95% of the offered rate, or receipt p99 over a second).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench.context import Bench, PublishLog, publish_summary
from bench.stats import summarize

IN_FLIGHT = 256
TABS = 2


async def _step(bench: Bench, vendors: list[str], rate: float, seconds: float) -> dict[str, Any]:
    rng = random.Random(int(rate))
    total = int(rate * seconds)
    picks = [vendors[rng.randrange(len(vendors))] for _ in range(total)]
    await bench.pool.reset()
    log = PublishLog()
    sem = asyncio.Semaphore(IN_FLIGHT)
    tasks: list[asyncio.Task[int]] = []
    lag = 0.0

    async def one(vendor: str) -> int:
        try:
            return await bench.publish(vendor, log)
        finally:
            sem.release()

    phase = bench.monitor.begin()
    t0 = time.monotonic()
    for k, vendor in enumerate(picks):
        due = t0 + k / rate
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        await sem.acquire()
        lag = max(lag, time.monotonic() - due)
        tasks.append(asyncio.create_task(one(vendor)))
    await asyncio.gather(*tasks)
    sent_for = time.monotonic() - t0
    delivered = await bench.pool.wait_delivered(log.ok * TABS, timeout=10, step=0.05)
    bench.monitor.end(phase)
    lat, _ = await bench.pool.collect()
    achieved = log.ok / sent_for
    receipt = summarize(lat)
    sustained = achieved >= 0.95 * rate and receipt.get("p99", 0) <= 1000
    print(
        f"  [{bench.system.name}] {rate:>5.0f}/s offered: {achieved:7.1f}/s, publish p99 "
        f"{publish_summary(log)['latency'].get('p99', 0):7.1f} ms, receipt p50/p99 "
        f"{receipt.get('p50', 0):.1f}/{receipt.get('p99', 0):.1f} ms",
        flush=True,
    )
    return {
        "rate": rate,
        "publishes": total,
        "publishes_per_s": round(achieved, 1),
        "max_schedule_lag_s": round(lag, 3),
        "expected": log.ok * TABS,
        "delivered": delivered,
        "receipt": receipt,
        "publish": publish_summary(log),
        "cpu": phase.cpu,
        "sustained": sustained,
    }


async def run(
    bench: Bench, vendors: int, rates: tuple[float, ...], seconds: float
) -> dict[str, Any]:
    system = bench.system
    names = [f"in{i:04d}" for i in range(vendors)]
    tokens = await bench.mint_many(names)
    requests = [system.stream_request(tokens[v], v) for v in names for _ in range(TABS)]
    await bench.pool.open(system.kind, bench.host, bench.port, requests, concurrency=64)
    alive = await bench.pool.reset()
    await asyncio.sleep(1.0)
    steps = []
    for rate in rates:
        step = await _step(bench, names, rate, seconds)
        steps.append(step)
        if not step["sustained"] and step["publishes_per_s"] < 0.5 * rate:
            break  # far past saturation: the next steps say nothing new
        await asyncio.sleep(1.0)
    saturated = next((s["rate"] for s in steps if not s["sustained"]), None)
    await bench.pool.close_all()
    return {"vendors": vendors, "streams": alive, "steps": steps, "saturates_at": saturated}
