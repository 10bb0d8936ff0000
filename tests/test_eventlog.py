"""Both event logs keep `EventLog.append`'s contract; a backend that is down is `Unavailable`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import PgDatabases
from tocsin.errors import Unavailable
from tocsin.model import OutboxRecord
from tocsin.realtime.eventlog import EventLog
from tocsin.realtime.eventlog.redis import RedisLog
from tocsin.realtime.eventlog.sql import SqlLog
from tocsin.realtime.hub import Hub, Waiter
from tocsin.settings import Settings
from tocsin.storage import migrate
from tocsin.storage.stores import Stores


def _records(vendor_id: str, first_id: int, seqs: range) -> list[OutboxRecord]:
    return [
        OutboxRecord(first_id + n, vendor_id, seq, "new_notification", '{"n":1}', 1)
        for n, seq in enumerate(seqs)
    ]


@pytest.fixture(params=["sql", "redis", "cluster"])
async def log_and_hub(
    request: pytest.FixtureRequest, tmp_path: Path, pg_databases: PgDatabases, redis_url: str
) -> AsyncIterator[tuple[EventLog, Hub]]:
    if request.param == "sql":
        url = f"sqlite:///{tmp_path / 'log.db'}"
        migrate.upgrade(url)
        settings = Settings(database_url=url)
    else:
        if request.param == "cluster":
            redis_url = request.getfixturevalue("redis_cluster_url")
        settings = Settings(
            database_url=pg_databases.new(), redis_url=redis_url, redis_prefix=f"t{id(tmp_path)}"
        )
    stores = Stores(settings.database_url)
    await stores.connect()
    hub = Hub(100)
    event_log: EventLog = (
        SqlLog(stores, settings) if settings.embedded else RedisLog(settings, stores.meta)
    )
    await event_log.start(hub)
    yield event_log, hub
    await event_log.close()
    await stores.disconnect()


async def test_append_is_idempotent_and_reports_every_record_done(
    log_and_hub: tuple[EventLog, Hub],
) -> None:
    event_log, hub = log_and_hub
    sub = Waiter("v1")  # a watched vendor: the live reader follows it meanwhile
    await hub.subscribe(sub)
    records = _records("v1", 10, range(1, 4))
    # The embedded log deletes the outbox rows with the append: none left for the relay.
    done = [] if isinstance(event_log, SqlLog) else [10, 11, 12]
    first = await event_log.append(records)
    assert first.done == done
    assert not first.gaps
    # A relay that died after appending and before deleting its rows appends them again.
    again = await event_log.append(records)
    assert again.done == done
    head = (await event_log.read("v1", None, 10)).head
    epoch = head.partition("_")[0]
    start = f"{epoch}_0-0" if isinstance(event_log, RedisLog) else f"{epoch}_0"
    replay = await event_log.read("v1", start, 10)
    assert replay.reset is None
    assert [e.id for e in replay.events][-1] == head
    assert len(replay.events) == 3
    hub.unsubscribe(sub)


async def test_an_unreachable_redis_is_unavailable(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    settings = Settings(database_url=url, redis_url="redis://127.0.0.1:1/0")
    # Never started: its database is not read.
    event_log = RedisLog(settings, Stores(url).meta)
    try:
        with pytest.raises(Unavailable):
            await event_log.append(_records("v1", 1, range(1, 2)))
        with pytest.raises(Unavailable):
            await event_log.read("v1", None, 10)
    finally:
        await event_log.close()


async def test_the_embedded_log_deletes_the_outbox_rows_it_appends(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    migrate.upgrade(url)
    stores = Stores(url)
    await stores.connect()
    event_log = SqlLog(stores, Settings(database_url=url))
    await event_log.start(Hub(100))
    try:
        for seq in (1, 2, 3):
            await stores.outbox.add("v1", seq, "new_notification", '{"n":1}')
        await stores.outbox.add("v2", 1, "new_notification", '{"n":1}')
        pending = await stores.outbox.pending(10)
        assert len(pending) == 4
        result = await event_log.append(pending[:3])
        assert result.done == []
        assert [(r.vendor_id, r.seq) for r in await stores.outbox.pending(10)] == [("v2", 1)]
        assert (await event_log.read("v1", None, 10)).head.endswith("_3")
    finally:
        await event_log.close()
        await stores.disconnect()


async def test_a_vendor_watched_again_at_once_keeps_its_subscription(
    log_and_hub: tuple[EventLog, Hub], caplog: pytest.LogCaptureFixture
) -> None:
    """A vendor's last tab closes and a new one opens within a Redis round trip: the
    confirmation of the live reader's own unsubscribe comes after the new watch. It is
    no dropped subscription: no connection given up, the watch answers, and the vendor's
    next event arrives live."""
    event_log, hub = log_and_hub
    for _ in range(5):
        sub = Waiter("v3")
        await hub.subscribe(sub)
        hub.unsubscribe(sub)
        for _ in range(3):
            await asyncio.sleep(0)  # the unsubscribe goes out, unconfirmed
    sub = Waiter("v3")
    await hub.subscribe(sub)
    assert not (await event_log.append(_records("v3", 30, range(1, 2)))).gaps
    await asyncio.wait_for(sub.wait(15), 15)
    assert sub.closed is None
    await event_log.ping()  # not resubscribing
    lost = [r.getMessage() for r in caplog.records if "lost Redis node" in r.getMessage()]
    assert lost == []
    hub.unsubscribe(sub)
