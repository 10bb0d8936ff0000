"""`tocsin serve --workers N`: N processes on one port, each with its own hub and reader."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
from pathlib import Path

from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.stream._helpers import publish
from tests.stream._sse import Stream


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _streams_per_process(port: int, pids: list[int]) -> collections.Counter[int]:
    """Established connections to `port` held by each of `pids` (from /proc)."""
    owner: dict[int, int] = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                owner[int(target[8:-1])] = pid
    counts: collections.Counter[int] = collections.Counter()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and int(fields[9]) in owner:
                counts[owner[int(fields[9])]] += 1
    return counts


@redis_backend_only
async def test_two_workers_share_one_port_and_sigterm_stops_both(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server(args=["--workers", "2"])
    assert server.proc is not None
    workers = _children(server.proc.pid)
    assert len(workers) == 2
    token = mint_token(server.url, vendor)
    streams = [Stream(server.url, token) for _ in range(16)]
    try:
        for stream in streams:
            await stream.__aenter__()
        # 16 connections spread by the kernel: both processes hold some.
        per_process = _streams_per_process(server.port, workers)
        assert set(per_process) == set(workers), per_process
        assert sum(per_process.values()) == 16
        # An event published through either process reaches the streams of both.
        created = await publish(server.url, vendor, "to both workers")
        events = await asyncio.gather(*(stream.next() for stream in streams))
        assert {e.data["notification"]["id"] for e in events} == {created["id"]}
        began = time.monotonic()
        server.signal(signal.SIGTERM)
        ended = await asyncio.gather(*(stream.ended(timeout=10) for stream in streams))
        assert all(ended)
        assert server.wait(10) == 0
        assert time.monotonic() - began < 8
    finally:
        for stream in streams:
            await stream.close()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
