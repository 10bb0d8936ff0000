"""Redis restarting under load: tocsin releases every connection and comes back by itself."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests._procs import RedisProcess
from tests._server import free_port
from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.events.conftest import Api, Mailbox, SmtpServer, order, wait_until
from tests.faults._load import LEAK_MARKS, REPEAT, Load
from tests.stream._helpers import poll, publish
from tests.stream._sse import Stream

POOL = 4  # a small pool: a connection leaked per restart would exhaust it within a few


@pytest.fixture
def volatile_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis of the test's own that forgets everything when it restarts."""
    proc = RedisProcess(tmp_path, persist=False)
    proc.start()
    yield proc
    proc.kill()


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    srv = await SmtpServer(free_port(), Mailbox()).start()
    yield srv
    await srv.stop()


async def _until_status(url: str, status: int, timeout: float = 20.0) -> httpx.Response:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                r = await client.get(url)
                if r.status_code == status:
                    return r
            except httpx.TransportError:
                pass
            assert loop.time() < deadline, f"{url} did not answer {status} in {timeout} s"
            await asyncio.sleep(0.1)


@redis_backend_only
async def test_redis_restarts_leak_connections_until_real_time_stops(
    make_server: ServerFactory, volatile_redis: RedisProcess, smtp: SmtpServer, vendor: str
) -> None:
    restarts = 30 * REPEAT
    server = make_server(
        {
            "TOCSIN_REDIS_URL": volatile_redis.url,
            "TOCSIN_REDIS_POOL_SIZE": str(POOL),
            "TOCSIN_SMTP_HOST": "127.0.0.1",
            "TOCSIN_SMTP_PORT": str(smtp.port),
            "TOCSIN_DELIVERY_POLL_SECONDS": "0.1",
        }
    )
    token = mint_token(server.url, vendor)
    load = Load(server.url, vendor, rate=25).start()
    began = time.monotonic()
    try:
        for _ in range(restarts):
            answered = load.answered
            # SIGKILL: connections die mid-command, as with a crash or a failover.
            volatile_redis.kill()
            # Creates go on while Redis is away (they only need SQL), and the relay fails.
            await load.until_answered(answered + 2)
            await asyncio.to_thread(volatile_redis.start)
            # A poll needs the pool (a Lua script, loaded again into the empty Redis).
            await _until_status(
                f"{server.url}/api/v1/stream/poll?access_token={token}&after=x", 200
            )
    finally:
        await load.stop()
    elapsed = time.monotonic() - began

    await _until_status(server.url + "/readyz", 200)
    assert (await _until_status(server.url + "/healthz", 200)).json() == {"status": "ok"}
    head = (await poll(server.url, token))["last_id"]
    async with Stream(server.url, token) as stream:
        created = await publish(server.url, vendor, "after the restarts")
        # The relay may still be appending what the load created while Redis was away:
        # those events come first, in order, and then ours.
        seen: list[str] = []
        while created["id"] not in seen and len(seen) < 10_000:
            live = await stream.next(timeout=15)
            seen.append(live.data["notification"]["id"])
    assert live.data["notification"] == created
    assert seen.count(created["id"]) == 1
    polled_ids: list[str] = []
    cursor = head
    for _ in range(1000):
        page = await poll(server.url, token, after=cursor, wait=10)
        polled_ids += [e["data"]["notification"]["id"] for e in page["events"]]
        cursor = page["last_id"]
        if created["id"] in polled_ids:
            break
    assert polled_ids[-1] == created["id"]
    assert len(polled_ids) == len(set(polled_ids))
    # The delivery queue's consumer group went with Redis's data; mail flows again.
    api = Api(server.url)
    try:
        await api.contact(vendor, email="after@vendor.example")
        r = await api.event("order.created", order("R-1", (vendor, "S1", 1, "1.00")))
        assert r.status_code == 202, r.text
        await wait_until(lambda: smtp.box.to("after@vendor.example"), what="the mail")
    finally:
        await api.aclose()

    # The pool and the reader's own connection, the delivery queue's; nothing more.
    tocsin_clients = [c for c in volatile_redis.clients() if c["name"].startswith("tocsin-")]
    assert len(tocsin_clients) <= POOL + 1, [c["name"] for c in tocsin_clients]
    assert len(volatile_redis.clients()) <= POOL + 4
    log = server.log_path.read_text(errors="replace")
    assert not [mark for mark in LEAK_MARKS if mark in log], log[-3000:]
    assert len(load.accepted) > restarts, load.refused
    print(
        f"{restarts} Redis restarts in {elapsed:.1f} s; {len(load.accepted)} creates answered 201"
    )


@redis_backend_only
async def test_an_event_log_failing_while_redis_answers_is_not_alive(
    make_server: ServerFactory, volatile_redis: RedisProcess
) -> None:
    server = make_server({"TOCSIN_REDIS_URL": volatile_redis.url, "TOCSIN_LIVENESS_SECONDS": "1"})
    admin = redis.Redis(port=volatile_redis.port)
    try:
        # Redis answers (a refusal is an answer), but refuses what the event log asks of it.
        admin.acl_setuser("default", enabled=True, commands=["+@all", "-ping"])
        stuck = await _until_status(server.url + "/healthz", 503)
        assert stuck.headers["content-type"] == "application/problem+json"
        assert "event log" in stuck.json()["detail"]
        assert "Redis answers" in stuck.json()["detail"]
        assert (await _until_status(server.url + "/readyz", 503)).status_code == 503
        admin.acl_setuser("default", enabled=True, commands=["+@all"])
        await _until_status(server.url + "/healthz", 200)
        await _until_status(server.url + "/readyz", 200)
        # A Redis that is down is not the process's fault: restarting it would not help.
        volatile_redis.kill()
        await _until_status(server.url + "/readyz", 503)
        await asyncio.sleep(1.5)  # past TOCSIN_LIVENESS_SECONDS: nothing to await but time
        assert (await _until_status(server.url + "/healthz", 200)).status_code == 200
    finally:
        admin.close()


@redis_backend_only
async def test_a_process_started_while_redis_is_down_serves_sql_and_catches_up_when_it_is_up(
    make_server: ServerFactory, tmp_path: Path, smtp: SmtpServer, vendor: str
) -> None:
    """Started before its Redis (a whole site coming up at once): the process starts,
    is alive and not ready, commits creates and events; once Redis is up it becomes
    ready, relays what was committed meanwhile (once, in order) and mails what the
    events asked for, without waiting for the periodic sweep (a lease)."""
    late = RedisProcess(tmp_path, persist=False)  # its port, nothing listening yet
    server = make_server(
        {
            "TOCSIN_REDIS_URL": late.url,
            "TOCSIN_SMTP_HOST": "127.0.0.1",
            "TOCSIN_SMTP_PORT": str(smtp.port),
            "TOCSIN_DELIVERY_LEASE_SECONDS": "600",
        }
    )
    api = Api(server.url)
    try:
        r = httpx.get(server.url + "/readyz")
        assert r.status_code == 503, r.text
        assert "event_log" in r.json()["detail"]
        await api.contact(vendor, email="early@vendor.example")
        made = await publish(server.url, vendor, "while Redis was down")
        r = await api.event("order.created", order("E-1", (vendor, "S1", 1, "1.00")))
        assert r.status_code == 202, r.text
        [ordered] = r.json()["notifications"]

        await asyncio.to_thread(late.start)
        await _until_status(server.url + "/readyz", 200)
        # The direct create may mail too, by the vendor's preferences.
        await wait_until(
            lambda: [m for m in smtp.box.to("early@vendor.example") if "E-1" in m.part("plain")],
            what="the order's mail",
        )
        token = mint_token(server.url, vendor)

        async def both_logged() -> list[str] | None:
            epoch = (await poll(server.url, token))["last_id"].partition("_")[0]
            page = await poll(server.url, token, after=f"{epoch}_0-0")
            assert not page["reset"], page
            ids = [e["data"]["notification"]["id"] for e in page["events"]]
            return ids if len(ids) >= 2 else None

        assert await wait_until(both_logged, what="both relayed") == [made["id"], ordered]
        async with Stream(server.url, token) as stream:
            live = await publish(server.url, vendor, "after Redis came")
            assert (await stream.next(timeout=15)).data["notification"] == live
        assert (
            len([m for m in smtp.box.to("early@vendor.example") if "E-1" in m.part("plain")]) == 1
        )
    finally:
        await api.aclose()
        late.kill()
