"""Idle and broadcast: one vendor, N subscribers, N climbing through the levels.

At each level the generator tops the open streams up to N, then:
- warm-up: one broadcast that every stream must see (proves all are subscribed);
- idle: the server's RSS, less its RSS before any stream, divided by N;
- paced: broadcasts one at a time, each waited for — latency of one publish;
- burst: back-to-back broadcasts (4 in flight) — deliveries per second.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from bench.context import Bench, PublishLog, publish_summary
from bench.stats import summarize

VENDOR = "bcast"
PACED_SECONDS = 45.0  # at most this long per level for the paced broadcasts


async def run(bench: Bench) -> dict[str, Any]:
    profile = bench.profile
    system = bench.system
    gc.collect()
    await bench.publish("warmup")  # first-call costs (imports, pools) before the baseline RSS
    await asyncio.sleep(1.0)
    rss0 = bench.rss()
    token = await system.mint(bench.client, VENDOR)
    levels: list[dict[str, Any]] = []
    opened = 0
    for n in profile.levels:
        level = await _level(bench, token, n, opened, rss0)
        levels.append(level)
        opened = level["open"]
        if level["open"] < n * 0.9 or level.get("aborted"):
            break  # this system cannot hold more; larger levels would only fail slower
    await bench.pool.close_all()
    return {"rss_before": rss0, "levels": levels}


async def _level(bench: Bench, token: str, n: int, opened: int, rss0: int) -> dict[str, Any]:
    system = bench.system
    requests = [system.stream_request(token, VENDOR) for _ in range(n - opened)]
    opening = await bench.pool.open(system.kind, bench.host, bench.port, requests, concurrency=64)
    alive = await bench.pool.reset()
    level: dict[str, Any] = {
        "n": n,
        "open": alive,
        "connect": {"seconds": round(opening["seconds"], 2), "statuses": opening["statuses"]},
    }
    print(f"  [{system.name}] N={n}: {alive} open in {opening['seconds']:.1f} s", flush=True)

    # Warm-up: every stream must see one broadcast before anything is measured.
    await bench.publish(VENDOR)
    reached = await bench.pool.wait_reached(1, alive, timeout=20 + n / 500)
    level["warm_reached"] = reached
    await asyncio.sleep(1.0)
    rss = bench.rss()
    level["rss"] = rss
    level["rss_per_stream"] = round((rss - rss0) / max(1, alive))

    level["paced"] = await _paced(bench, alive)
    level["burst"] = await _burst(bench, alive)
    if level["paced"]["delivered"] < 0.5 * level["paced"]["expected"]:
        level["aborted"] = True
    print(
        f"  [{system.name}] N={n}: rss/stream {level['rss_per_stream'] / 1024:.1f} KB, "
        f"paced p50/p99 {level['paced']['latency']['p50']}/{level['paced']['latency']['p99']} ms, "
        f"burst {level['burst']['deliveries_per_s']:.0f} deliveries/s",
        flush=True,
    )
    return level


async def _paced(bench: Bench, alive: int) -> dict[str, Any]:
    events = bench.profile.paced_events
    await bench.pool.reset()
    log = PublishLog()
    phase = bench.monitor.begin()
    deadline = time.monotonic() + PACED_SECONDS
    timed_out = sent = 0
    for i in range(events):
        await bench.publish(VENDOR, log)
        sent += 1
        got = await bench.pool.wait_delivered((i + 1) * alive, timeout=5 + alive / 500)
        if got < (i + 1) * alive:
            timed_out += 1
        if time.monotonic() > deadline:
            break  # a slow system gets fewer samples, not an endless run
        await asyncio.sleep(0.02)
    bench.monitor.end(phase)
    await asyncio.sleep(0.2)
    lat, _ = await bench.pool.collect()
    return {
        "events": sent,
        "expected": sent * alive,
        "delivered": len(lat),
        "timed_out": timed_out,
        "latency": summarize(lat),
        "cpu": phase.cpu,
        "publish": publish_summary(log),
    }


async def _burst(bench: Bench, alive: int) -> dict[str, Any]:
    profile = bench.profile
    events = max(4, min(profile.burst_max_events, profile.burst_deliveries // max(1, alive)))
    await bench.pool.reset()
    phase = bench.monitor.begin()
    started = time.monotonic_ns()
    log = await bench.publish_many([VENDOR] * events, concurrency=4)
    expected = log.ok * alive
    delivered = await bench.pool.wait_delivered(expected, timeout=30 + expected / 2000, step=0.05)
    bench.monitor.end(phase)
    lat, last = await bench.pool.collect()
    elapsed = max(1, last - started) / 1e9
    return {
        "events": events,
        "expected": events * alive,
        "delivered": delivered,
        "seconds": round(elapsed, 3),
        "deliveries_per_s": round(delivered / elapsed, 1),
        "latency": summarize(lat),
        "cpu": phase.cpu,
        "publish": publish_summary(log),
    }
