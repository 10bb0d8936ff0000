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
from tests.storage.test_holds import add, sms
from tocsin import _redis
from tocsin._ids import now_ms
from tocsin.delivery.queue import SWEEP, RedisQueue
from tocsin.errors import Unavailable
from tocsin.settings import Settings
from tocsin.storage.stores import Stores


@pytest.fixture
async def stores(pg_databases: PgDatabases) -> AsyncIterator[Stores]:
    s = Stores(pg_databases.new())
    await s.connect()
    yield s
    await s.disconnect()


async def due(stores: Stores, count: int) -> set[int]:
    """`count` deliveries due now; their ids."""
    return {await add(stores, sms(f"q:{n}")) for n in range(count)}


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
        for _ in range(3):  # connected, the group made, and all announced once at the start
            assert await take(q)
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
    """Redis down for a moment (it keeps its data): pushes fail and are kept; the first
    take once it is back announces them, and only them."""
    own = RedisProcess(tmp_path)
    own.start()
    q = queue(stores, own.url, tmp_path)
    try:
        assert await take(q)  # connected; nothing to announce yet
        own.kill()
        made = sorted(await due(stores, 3))
        for delivery_id in made:
            with pytest.raises(_redis.ERRORS):
                await q.push([delivery_id])
        own.start()
        await wait_until(lambda: take(q), what="a take once Redis is back")
        assert await take(q)
        counts = await announced(q)
    finally:
        await q.close()
        own.kill()
    assert counts == Counter(made)


async def test_a_queue_announces_every_unsettled_delivery_once_when_it_starts(
    stores: Stores, redis_url: str, tmp_path: Path
) -> None:
    """What another process left (an announcement lost when it stopped), due now or
    later: the worker puts those due later in the delayed set."""
    made = await due(stores, SWEEP + 10)
    later = await add(stores, sms("later", due_at=now_ms() + 3600_000))
    q = queue(stores, redis_url, tmp_path)
    try:
        for _ in range(3):
            assert await take(q)
        counts = await announced(q)
    finally:
        await q.close()
    assert counts == Counter([*made, later])
