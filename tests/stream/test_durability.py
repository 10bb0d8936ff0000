"""Nothing committed is lost: crashes, a Redis outage, shutdown, several processes."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._procs import RedisProcess
from tests.conftest import PgDatabases, ServerFactory, mint_token, redis_backend_only
from tests.stream._helpers import open_raw_stream, poll, publish, until_logged
from tests.stream._sse import Stream
from tocsin.serve import GRACEFUL_SHUTDOWN_SECONDS

STREAMS = 2000


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    proc = RedisProcess(tmp_path)
    proc.start()
    yield proc
    proc.stop()


async def _until(condition: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


async def test_a_process_killed_before_publishing_loses_nothing(
    make_server: ServerFactory, vendor: str
) -> None:
    # A process without a relay commits the notification and its outbox row,
    # and is killed before anything reaches the event log.
    first = make_server({"TOCSIN_RUN_WORKERS": "false"})
    token = mint_token(first.url, vendor)
    start = (await poll(first.url, token))["last_id"]
    created = await publish(first.url, vendor, "committed, not yet published")
    assert (await poll(first.url, token, after=start))["events"] == []
    first.kill()
    second = make_server()
    answer = await poll(second.url, token, after=start, wait=15)
    assert [e["data"]["notification"] for e in answer["events"]] == [created]


@redis_backend_only
async def test_a_redis_outage_delays_events_and_loses_none(
    make_server: ServerFactory, own_redis: RedisProcess, vendor: str
) -> None:
    server = make_server({"TOCSIN_REDIS_URL": own_redis.url})
    token = mint_token(server.url, vendor)
    async with Stream(server.url, token) as stream:
        await publish(server.url, vendor, "before")
        before = await stream.next()
        own_redis.stop()
        during = await publish(server.url, vendor, "during the outage")  # committed to SQL
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/readyz")).status_code == 503
        own_redis.start()
        after_outage = await stream.next(timeout=30)
    assert after_outage.data["notification"] == during
    answer = await poll(server.url, token, after=before.id)
    assert [e["id"] for e in answer["events"]] == [after_outage.id]


async def test_sigterm_closes_streams_promptly_and_clients_resume_elsewhere(
    make_server: ServerFactory, vendor: str
) -> None:
    first = make_server()
    token = mint_token(first.url, vendor)
    async with Stream(first.url, token) as stream:
        await publish(first.url, vendor, "a")
        seen = await stream.next()
        began = time.monotonic()
        first.signal(signal.SIGTERM)
        assert await stream.ended(timeout=10)
        closed_after = time.monotonic() - began
    first.wait(10)
    assert closed_after < 8
    second = make_server()
    await publish(second.url, vendor, "b")
    async with Stream(second.url, token, last_event_id=seen.id) as stream:
        event = await stream.next()
    assert event.data["notification"]["title"] == "b"


async def _read_to_eof(sock: socket.socket, timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while chunk := await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout):
        data += chunk
    return data


async def test_sigterm_with_thousands_of_streams_exits_within_the_graceful_timeout(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_MAX_STREAMS_PER_VENDOR": "0"})
    token = mint_token(server.url, vendor)
    socks: list[socket.socket] = []
    try:
        for _ in range(0, STREAMS, 200):
            socks += await asyncio.gather(*(open_raw_stream(server.url, token) for _ in range(200)))
        began = time.monotonic()
        server.signal(signal.SIGTERM)
        # Every client sees its stream end: the chunked body's last chunk, then EOF.
        ends = await asyncio.gather(*(_read_to_eof(sock, 15) for sock in socks))
        assert server.wait(15) is not None
        exited_after = time.monotonic() - began
    finally:
        for sock in socks:
            sock.close()
    assert sum(end.endswith(b"0\r\n\r\n") for end in ends) == STREAMS
    assert exited_after < GRACEFUL_SHUTDOWN_SECONDS, f"exited {exited_after:.1f} s after SIGTERM"


@redis_backend_only
async def test_two_processes_share_the_stream(make_server: ServerFactory, vendor: str) -> None:
    one = make_server()
    two = make_server()
    token = mint_token(one.url, vendor)
    start = (await poll(two.url, token))["last_id"]
    async with Stream(two.url, token) as on_two:
        created = await publish(one.url, vendor, "through one, to two")
        event = await on_two.next()
    assert event.data["notification"] == created
    answer = await poll(two.url, token, after=start)
    assert [e["id"] for e in answer["events"]] == [event.id]
    # And the other way round, resuming on one from two's id.
    await publish(two.url, vendor, "through two, to one")
    async with Stream(one.url, token, last_event_id=event.id) as on_one:
        back = await on_one.next()
    assert back.data["notification"]["title"] == "through two, to one"


@redis_backend_only
async def test_a_replaced_database_starts_a_new_epoch_rather_than_losing_events(
    make_server: ServerFactory, pg_databases: PgDatabases, vendor: str
) -> None:
    # Redis remembers the sequence numbers the old database appended; a new
    # database (a restored backup) starts its own from 1 again.
    old = make_server()
    token = mint_token(old.url, vendor)
    start = (await poll(old.url, token))["last_id"]
    for title in ("a", "b", "c"):
        await publish(old.url, vendor, title)
    old_cursor = await until_logged(old.url, token, start, 3)
    old.stop()
    new = make_server({"TOCSIN_DATABASE_URL": pg_databases.new()})
    created = await publish(new.url, vendor, "from the new database")
    answer = await poll(new.url, token, after=old_cursor)
    assert answer["reset"] is True
    assert answer["reason"] == "log_changed"
    async with Stream(new.url, token, last_event_id=old_cursor) as stream:
        reset = await stream.next()
    assert reset.event == "reset"
    page = await poll(new.url, token, after=reset.id)
    assert page["events"] == []  # the reset's id already covers the new event
    everything = await poll(new.url, token, after=reset.id.partition("_")[0] + "_0-0")
    assert everything["events"][-1]["data"]["notification"] == created
