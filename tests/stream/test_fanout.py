"""Fan-out: one Redis reader per process, bounded queues, slow consumers cut loose."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx
import redis.asyncio as aioredis

from tests._server import SECRET, Server
from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.stream._helpers import open_raw_stream, poll, publish
from tests.stream._sse import Stream
from tocsin.credentials import mint
from tocsin.settings import Settings


@redis_backend_only
async def test_redis_connections_do_not_grow_with_open_streams(
    server: Server, vendor: str, redis_url: str
) -> None:
    assert server.proc is not None
    name = f"tocsin-{server.proc.pid}"
    client = aioredis.Redis.from_url(redis_url)

    async def connections() -> int:
        listing = await client.execute_command("CLIENT", "LIST")
        text = listing.decode() if isinstance(listing, bytes) else str(listing)
        return len(re.findall(rf"name={name}(?:-live)?\s", text))

    settings = Settings(secret_key=SECRET)
    token = mint(settings, vendor, 600)[0]
    # Half the streams on one vendor, half on vendors of their own.
    tokens = [token if n % 2 else mint(settings, f"{vendor}-{n}", 600)[0] for n in range(200)]
    socks: list[socket.socket] = []
    try:
        for batch in range(0, 200, 20):
            socks += await asyncio.gather(
                *(open_raw_stream(server.url, t) for t in tokens[batch : batch + 20])
            )
        with_streams = await connections()
        created = await publish(server.url, vendor, "to 100 streams")
        loop = asyncio.get_running_loop()
        for sock in socks[1::2]:
            data = b""
            while created["id"].encode() not in data:
                data += await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
    finally:
        for sock in socks:
            sock.close()
        await client.aclose()
    # The pool's cap (TOCSIN_REDIS_POOL_SIZE, 16) and the reader's own connection,
    # however many streams are open: 200 streams opened 20 at a time.
    assert with_streams <= 17, f"{with_streams} Redis connections for 200 streams"


async def test_a_stalled_reader_is_disconnected_and_others_get_everything(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_SUBSCRIBER_QUEUE_SIZE": "50", "TOCSIN_SEND_TIMEOUT_SECONDS": "2"})
    token = mint_token(server.url, vendor)
    stalled = await open_raw_stream(server.url, token, rcvbuf=4096)
    # More bytes than the kernel's socket buffers hold, so the server's writes block.
    total = 150
    pad = "x" * 100_000
    received: list[str] = []
    try:
        async with Stream(server.url, token) as healthy:

            async def read_all() -> None:
                while len(received) < total:
                    event = await healthy.next(timeout=20)
                    received.append(event.data["notification"]["title"])

            reader = asyncio.create_task(read_all())
            last_id = None
            for n in range(total):
                created = await publish(server.url, vendor, f"n{n}", data={"pad": pad})
                last_id = created["id"]
            await asyncio.wait_for(reader, 60)
            # The stalled socket now gets its buffered bytes, then the end of the stream.
            loop = asyncio.get_running_loop()
            data = b""
            while True:
                chunk = await asyncio.wait_for(loop.sock_recv(stalled, 1 << 20), 10)
                if not chunk:
                    break
                data += chunk
    finally:
        stalled.close()
    assert received == [f"n{n}" for n in range(total)]
    assert last_id is not None
    assert last_id.encode() not in data
    async with httpx.AsyncClient(base_url=server.url) as client:
        metrics = (await client.get("/metrics")).text
    value = next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("tocsin_slow_consumer_disconnects_total ")
    )
    assert value >= 1
    # It resumes from the last id it saw and gets the rest.
    ids = re.findall(rb"^id: (\S+)$", data, re.MULTILINE)
    resume_from = ids[-1].decode() if ids else (await poll(server.url, token))["last_id"]
    rest = await poll(server.url, token, after=resume_from, limit=1000)
    titles = [e["data"]["notification"]["title"] for e in rest["events"]]
    assert titles[-1] == f"n{total - 1}"
    assert len(ids) + len(titles) == total
