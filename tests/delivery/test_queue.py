"""The Redis delivery queue over a real Redis and PostgreSQL: what it announces again after
Redis lost its data, and after announcements failed."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from tests._procs import RedisProcess
from tests.conftest import PgDatabases
from tests.events.conftest import wait_until
from tocsin import _redis
from tocsin.delivery.queue import SWEEP, RedisQueue
from tocsin.errors import Unavailable
from tocsin.settings import Settings
from tocsin.storage.deliveries import NewDelivery
from tocsin.storage.stores import Stores


@pytest.fixture
async def stores(pg_databases: PgDatabases) -> AsyncIterator[Stores]:
    s = Stores(pg_databases.new())
    await s.connect()
    yield s
    await s.disconnect()


async def due(stores: Stores, count: int) -> set[int]:
    """`count` deliveries due now; their ids."""
    made = set()
    for n in range(count):
        new = NewDelivery(
            key=f"q:{n}",
            vendor_id="acme",
            event_id=None,
            notification_id=None,
            type="payment_received",
            channel="sms",
            recipient="+4915112345678",
            message={"text": "hi"},
        )
        delivery_id = await stores.deliveries.add(new)
        assert delivery_id is not None
        made.add(delivery_id)
    return made


def queue(stores: Stores, url: str, tmp_path: Path) -> RedisQueue:
    env = {"TOCSIN_REDIS_URL": url, "TOCSIN_REDIS_PREFIX": f"q{uuid.uuid4().hex[:8]}"}
    return RedisQueue(Settings.from_env(env, dotenv=tmp_path / "no.env"), stores.deliveries)


async def announced(q: RedisQueue) -> Counter[int]:
    """How many entries of the queue's stream point at each delivery."""
    async with redis.asyncio.Redis.from_url(q.url, decode_responses=True) as client:
        entries = await client.xrange(q.stream)
    return Counter(int(fields["d"]) for _, fields in entries)


async def take(q: RedisQueue) -> bool:
    """One take (one job at most, hardly waiting); whether Redis answered it."""
    try:
        await q.take(1, 0.001, ())
    except Unavailable:
        return False
    return True


async def test_after_redis_lost_its_data_every_due_delivery_is_announced_once(
    stores: Stores, redis_url: str, tmp_path: Path
) -> None:
    """Pages of `SWEEP`, one a take, each delivery once: not the first page again and
    again while the backlog lasts."""
    made = await due(stores, 2 * SWEEP + 200)
    q = queue(stores, redis_url, tmp_path)
    try:
        assert await take(q)  # connected, the group made
        async with redis.asyncio.Redis.from_url(redis_url) as client:
            await client.delete(q.stream)  # Redis lost its data: the group with it
        assert await q.take(1, 0.001, ()) == []  # NOGROUP: the group made again
        for _ in range(5):
            assert await take(q)
        counts = await announced(q)
    finally:
        await q.close()
    assert set(counts) == made
    assert set(counts.values()) == {1}


async def test_announcements_that_failed_are_pushed_by_the_next_take(
    stores: Stores, tmp_path: Path
) -> None:
    """Redis down (not up yet): pushes fail and are kept; the first take once it is up
    announces them, and only them."""
    made = sorted(await due(stores, 3))
    later = RedisProcess(tmp_path, persist=False)
    q = queue(stores, later.url, tmp_path)
    try:
        for delivery_id in made:
            with pytest.raises(_redis.ERRORS):
                await q.push([delivery_id])
        later.start()
        # Within a second of a failed attempt, callers fail at once.
        await wait_until(lambda: take(q), what="a take once Redis is up")
        assert await take(q)
        counts = await announced(q)
    finally:
        await q.close()
        later.kill()
    assert counts == Counter(made)
