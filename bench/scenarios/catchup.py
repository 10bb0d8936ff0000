"""Catch-up: a client reconnects with `Last-Event-ID` after M missed events.

A client reads one event and leaves, remembering its id. M events are then
published (16 calls in flight: this also gives the publish API's throughput).
A probe stream that stayed open shows when all M are in the log, so the drain
measures replay alone. The client then reconnects with the remembered id; the
figure is the time from connect to its M-th event, and the ids must be M,
distinct, with none skipped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.context import Bench, publish_summary
from bench.loadgen.protocols import CLIENTS, Sink, StreamClient

VENDOR = "catchup"


async def _connect(bench: Bench, raw: bytes, sink: Sink) -> StreamClient:
    loop = asyncio.get_running_loop()
    cls = CLIENTS[bench.system.kind]
    _, proto = await loop.create_connection(
        lambda: cls(raw, sink, track_ids=True), bench.host, bench.port
    )
    if not await asyncio.wait_for(proto.ready, 30):
        raise RuntimeError(f"{bench.system.name}: stream refused ({proto.status!r})")
    return proto


async def _wait(proto: StreamClient, events: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while proto.events < events and time.monotonic() < deadline and not proto.closed:
        await asyncio.sleep(0.005)
    return proto.events >= events


async def run(bench: Bench) -> dict[str, Any]:
    system = bench.system
    missed = bench.profile.catchup_events
    token = await system.mint(bench.client, VENDOR)

    first = await _connect(bench, system.stream_request(token, VENDOR), Sink())
    await bench.publish(VENDOR)
    if not await _wait(first, 1, 10) or first.last_id is None:
        raise RuntimeError(f"{system.name}: the first event never arrived")
    resume_from = first.last_id.decode()
    first.close()

    probe = await _connect(bench, system.stream_request(token, VENDOR), Sink())
    started = time.monotonic()
    log = await bench.publish_many([VENDOR] * missed, concurrency=16)
    published_in = time.monotonic() - started
    in_log = await _wait(probe, missed, 60)
    logged_in = time.monotonic() - started
    probe.close()
    print(
        f"  [{system.name}] catch-up: {log.ok} published in {published_in:.1f} s "
        f"({log.ok / published_in:.0f}/s), all in the log: {in_log}",
        flush=True,
    )

    sink = Sink()
    raw = system.stream_request(token, VENDOR, last_event_id=resume_from)
    t0 = time.monotonic()
    client = await _connect(bench, raw, sink)
    first_byte = time.monotonic() - t0
    done = await _wait(client, missed, 120)
    drained = time.monotonic() - t0
    client.close()
    ids = [i.decode() for i in client.ids]
    return {
        "missed": missed,
        "published": log.ok,
        "publish_seconds": round(published_in, 2),
        "publishes_per_s": round(log.ok / published_in, 1),
        "relay_seconds": round(logged_in, 2),
        "publish": publish_summary(log),
        "headers_seconds": round(first_byte, 4),
        "drain_seconds": round(drained, 3),
        "events_per_s": round(client.events / drained, 1),
        "received": client.events,
        "complete": done and len(set(ids)) == missed and resume_from not in ids,
        "ids": ids,
        "resume_from": resume_from,
    }
