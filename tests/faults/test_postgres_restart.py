"""PostgreSQL restarting under load: 503 while down, full service after, nothing half-written."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests._procs import PostgresProcess
from tests.api.conftest import assert_problem
from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.faults._load import (
    LEAK_MARKS,
    REPEAT,
    Load,
    assert_exactly_once,
    committed,
    until_all_logged,
)
from tests.stream._helpers import poll, publish
from tests.stream._sse import Stream
from tocsin.storage import migrate


@pytest.fixture
def own_postgres() -> Iterator[PostgresProcess]:
    pg = PostgresProcess()
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


async def _until(check: object, what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, f"{what} not in {timeout} s"
        await asyncio.sleep(0.1)


@redis_backend_only
async def test_a_postgres_restart_under_load_is_503_then_full_service_and_nothing_half_written(
    make_server: ServerFactory, own_postgres: PostgresProcess, vendor: str
) -> None:
    url = own_postgres.create_database(f"tocsin_{uuid.uuid4().hex[:8]}")
    await asyncio.to_thread(migrate.upgrade, url)
    server = make_server({"TOCSIN_DATABASE_URL": url, "TOCSIN_RELAY_INTERVAL_SECONDS": "0.2"})
    token = mint_token(server.url, vendor)
    first = (await poll(server.url, token))["last_id"]
    vendor_auth = {"Authorization": f"Bearer {token}"}
    load = Load(server.url, vendor, rate=25).start()
    downtime = 0.0
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for _ in range(REPEAT):
                await load.until_answered(load.answered + 10)
                refused = sum(load.refused.values())
                # `immediate`: a crash; the next start recovers from the WAL.
                down = time.monotonic()
                await asyncio.to_thread(own_postgres.stop, "immediate")
                await load.until_refused(refused + 5)
                listing = await client.get("/api/v1/notifications", headers=vendor_auth)
                assert_problem(listing, 503)
                assert listing.headers["retry-after"]
                assert_problem(await client.get("/readyz"), 503)
                await asyncio.to_thread(own_postgres.start)
                accepted = len(load.accepted)
                await load.until_accepted(accepted + 5)
                downtime += time.monotonic() - down

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await _until(ready, "/readyz 200")
    finally:
        await load.stop()

    # Every refusal was a retryable 503 problem, never a 500 or a dropped connection.
    assert set(load.refused) == {503}, load.refused
    assert load.dropped == 0
    for r in load.problems:
        assert_problem(r, 503)
        assert r.headers["retry-after"]
    # Full service: REST, the stream and the poll.
    head = (await poll(server.url, token))["last_id"]
    async with Stream(server.url, token) as stream:
        created = await publish(server.url, vendor, "after the restart")
        assert (await stream.next(timeout=15)).data["notification"] == created
    polled = await poll(server.url, token, after=head, wait=10)
    assert [e["data"]["notification"]["id"] for e in polled["events"]] == [created["id"]]
    # Nothing half-written: each committed notification once on the stream, the
    # outbox drained, and the kept unread count equal to the notifications.
    notifications = await committed(server.url, token)
    load.accepted[created["title"]] = created["id"]
    events = await until_all_logged(server.url, token, first, len(notifications))
    assert_exactly_once(load, notifications, events)
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM outbox").fetchone()
    assert row == (0,)
    async with httpx.AsyncClient(base_url=server.url, headers=vendor_auth) as client:
        counts = (await client.get("/api/v1/notifications/unread-count")).json()
    assert counts["total"] == len(notifications)
    log = server.log_path.read_text(errors="replace")
    assert not [mark for mark in LEAK_MARKS if mark in log], log[-3000:]
    assert "ERROR tocsin" not in log, log[-3000:]  # an outage is a warning, said once
    print(
        f"{REPEAT} PostgreSQL restart(s), {downtime:.1f} s down: {len(load.accepted)} creates "
        f"answered 201, {load.refused[503]} answered 503, {len(notifications)} committed"
    )
