"""A generator worker process: holds streams and runs polling load on command.

Spoken to over stdin/stdout, one JSON object per line (see `pool.py`). Each
worker runs one uvloop event loop, so the orchestrator starts several when a
single core would limit the measurement.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from array import array
from collections import Counter
from typing import Any

from bench.httpclient import Connection
from bench.limits import raise_nofile
from bench.loadgen.protocols import CLIENTS, Sink, StreamClient


class Worker:
    def __init__(self) -> None:
        self.sink = Sink()
        self.conns: list[StreamClient] = []

    async def open(self, msg: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        cls = CLIENTS[msg["kind"]]
        sem = asyncio.Semaphore(int(msg.get("concurrency", 100)))
        timeout = float(msg.get("timeout", 30))
        statuses: Counter[str] = Counter()
        track = bool(msg.get("track_ids", False))

        # One source address has about 28,000 ephemeral ports towards one server port:
        # on loopback, spread connections over several source addresses.
        sources = [(f"127.0.0.{n}", 0) for n in range(2, 10)] if msg["host"] == "127.0.0.1" else []

        async def one(n: int, raw: bytes) -> None:
            async with sem:
                try:
                    _, proto = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: cls(raw, self.sink, track),
                            msg["host"],
                            msg["port"],
                            local_addr=sources[n % len(sources)] if sources else None,
                        ),
                        timeout,
                    )
                    ok = await asyncio.wait_for(proto.ready, timeout)
                except (TimeoutError, OSError) as exc:
                    statuses[type(exc).__name__] += 1
                    return
                statuses[proto.status.decode() or "closed"] += 1
                if ok:
                    self.conns.append(proto)

        before = len(self.conns)
        await asyncio.gather(*(one(n, r.encode("latin-1")) for n, r in enumerate(msg["requests"])))
        return {"opened": len(self.conns) - before, "statuses": dict(statuses)}

    def count(self, msg: dict[str, Any]) -> dict[str, Any]:
        need = int(msg.get("min", 1))
        alive = [c for c in self.conns if not c.closed]
        return {
            "delivered": self.sink.delivered,
            "alive": len(alive),
            "reached": sum(1 for c in alive if c.events >= need),
        }

    def reset(self) -> dict[str, Any]:
        self.sink.reset()
        self.conns = [c for c in self.conns if not c.closed]
        for conn in self.conns:
            conn.events = 0
        return {"alive": len(self.conns)}

    def collect(self) -> dict[str, Any]:
        lat = self.sink.latencies
        return {
            "delivered": self.sink.delivered,
            "last_ns": self.sink.last_ns,
            "lat": base64.b64encode(lat.tobytes()).decode(),
        }

    def close(self, msg: dict[str, Any]) -> dict[str, Any]:
        n = msg.get("n")
        victims = self.conns if n is None else self.conns[-int(n) :]
        for conn in victims:
            conn.close()
        self.conns = [c for c in self.conns if not c.closed]
        return {"alive": len(self.conns)}

    async def poll(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Closed-loop request load: `concurrency` keep-alive connections, `duration` seconds."""
        requests = [r.encode("latin-1") for r in msg["requests"]]
        deadline = time.monotonic() + float(msg["duration"])
        lat = array("q")
        statuses: Counter[str] = Counter()
        events = 0

        async def client(k: int) -> None:
            nonlocal events
            conn = Connection(msg["host"], msg["port"])
            i = k
            while time.monotonic() < deadline:
                raw = requests[i % len(requests)]
                i += 7
                start = time.monotonic_ns()
                try:
                    resp = await conn.send(raw)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    statuses[type(exc).__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                lat.append(time.monotonic_ns() - start)
                statuses[str(resp.status)] += 1
                events += resp.body.count(b'"id"')
            conn.close()

        started = time.monotonic()
        await asyncio.gather(*(client(k) for k in range(int(msg["concurrency"]))))
        return {
            "requests": len(lat),
            "events": events,
            "elapsed": time.monotonic() - started,
            "statuses": dict(statuses),
            "lat": base64.b64encode(lat.tobytes()).decode(),
        }


async def serve() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**28)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    worker = Worker()
    out = sys.stdout
    while True:
        line = await reader.readline()
        if not line:
            break
        msg = json.loads(line)
        cmd = msg["cmd"]
        if cmd == "quit":
            worker.close({})
            break
        if cmd == "open":
            reply = await worker.open(msg)
        elif cmd == "count":
            reply = worker.count(msg)
        elif cmd == "reset":
            reply = worker.reset()
        elif cmd == "collect":
            reply = worker.collect()
        elif cmd == "close":
            reply = worker.close(msg)
        elif cmd == "poll":
            reply = await worker.poll(msg)
        else:
            reply = {"error": f"unknown command {cmd!r}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def main() -> None:
    raise_nofile()
    import uvloop

    uvloop.run(serve())


if __name__ == "__main__":
    main()
