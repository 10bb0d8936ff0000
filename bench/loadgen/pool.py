"""The orchestrator's handle on the generator's worker processes."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from array import array
from collections import Counter
from typing import Any

from bench import paths


class WorkerHandle:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def call(self, cmd: str, **fields: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        async with self.lock:
            self.proc.stdin.write((json.dumps({"cmd": cmd, **fields}) + "\n").encode())
            await self.proc.stdin.drain()
            line = await self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"generator worker {self.pid} exited")
        reply: dict[str, Any] = json.loads(line)
        return reply


def _latencies(replies: list[dict[str, Any]]) -> array[int]:
    merged = array("q")
    for reply in replies:
        merged.frombytes(base64.b64decode(reply["lat"]))
    return merged


class WorkerPool:
    """`size` worker processes; streams are spread over them round-robin."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.workers: list[WorkerHandle] = []
        self._next = 0

    async def start(self) -> None:
        for _ in range(self.size):
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loadgen.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=paths.ROOT,
                limit=2**28,
            )
            self.workers.append(WorkerHandle(proc))

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    async def _all(self, cmd: str, **fields: Any) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(w.call(cmd, **fields) for w in self.workers)))

    async def open(
        self,
        kind: str,
        host: str,
        port: int,
        requests: list[bytes],
        concurrency: int = 100,
        timeout: float = 30.0,
        track_ids: bool = False,
    ) -> dict[str, Any]:
        """Open one stream per request; returns how many opened and the statuses seen."""
        shares: list[list[str]] = [[] for _ in self.workers]
        for raw in requests:
            shares[self._next % self.size].append(raw.decode("latin-1"))
            self._next += 1
        started = time.monotonic()
        replies = await asyncio.gather(
            *(
                w.call(
                    "open",
                    kind=kind,
                    host=host,
                    port=port,
                    requests=share,
                    concurrency=concurrency,
                    timeout=timeout,
                    track_ids=track_ids,
                )
                for w, share in zip(self.workers, shares, strict=True)
                if share
            )
        )
        statuses: Counter[str] = Counter()
        for reply in replies:
            statuses.update(reply["statuses"])
        return {
            "opened": sum(r["opened"] for r in replies),
            "statuses": dict(statuses),
            "seconds": time.monotonic() - started,
        }

    async def count(self, need: int = 1) -> dict[str, int]:
        replies = await self._all("count", min=need)
        return {key: sum(r[key] for r in replies) for key in ("delivered", "alive", "reached")}

    async def reset(self) -> int:
        return sum(r["alive"] for r in await self._all("reset"))

    async def collect(self) -> tuple[array[int], int]:
        """Every latency since the last reset, and the monotonic time of the last delivery."""
        replies = await self._all("collect")
        return _latencies(replies), max(r["last_ns"] for r in replies)

    async def close_all(self) -> None:
        await self._all("close")
        self._next = 0

    async def wait_delivered(self, expected: int, timeout: float, step: float = 0.02) -> int:
        """Wait until the workers together counted `expected` deliveries, or time out."""
        deadline = time.monotonic() + timeout
        delivered = 0
        while time.monotonic() < deadline:
            delivered = (await self.count())["delivered"]
            if delivered >= expected:
                break
            await asyncio.sleep(step)
        return delivered

    async def wait_reached(self, need: int, expected: int, timeout: float) -> int:
        """Wait until `expected` streams have seen at least `need` events each."""
        deadline = time.monotonic() + timeout
        reached = 0
        while time.monotonic() < deadline:
            reached = (await self.count(need))["reached"]
            if reached >= expected:
                break
            await asyncio.sleep(0.05)
        return reached

    async def poll(
        self, host: str, port: int, requests: list[bytes], concurrency: int, duration: float
    ) -> dict[str, Any]:
        per = max(1, concurrency // self.size)
        replies = await self._all(
            "poll",
            host=host,
            port=port,
            requests=[r.decode("latin-1") for r in requests],
            concurrency=per,
            duration=duration,
        )
        statuses: Counter[str] = Counter()
        for reply in replies:
            statuses.update(reply["statuses"])
        return {
            "requests": sum(r["requests"] for r in replies),
            "elapsed": max(r["elapsed"] for r in replies),
            "statuses": dict(statuses),
            "lat": _latencies(replies),
        }

    async def stop(self) -> None:
        for w in self.workers:
            if w.proc.returncode is None and w.proc.stdin is not None:
                w.proc.stdin.write(b'{"cmd": "quit"}\n')
        for w in self.workers:
            try:
                await asyncio.wait_for(w.proc.wait(), 5)
            except TimeoutError:
                w.proc.kill()
                await w.proc.wait()
        self.workers = []
