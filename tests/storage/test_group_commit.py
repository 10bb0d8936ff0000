"""Group commit: concurrent writes share transactions and keep every promise of one alone.

Against a real SQLite file and a real PostgreSQL database: an answer means
committed (and durably: `synchronous=FULL`, `synchronous_commit=on`), a
vendor's writes keep their order, a dedupe key holds under concurrency, and a
unit that fails fails alone, with its own error.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg

from tests.conftest import PgDatabases
from tocsin import metrics
from tocsin.notifications.service import NewNotification, NotificationService
from tocsin.storage.stores import Stores


def batches() -> tuple[float, float]:
    """(batches committed, units in them) so far in this process."""
    count = sum_ = 0.0
    for metric in metrics.WRITE_BATCH.collect():
        for sample in metric.samples:
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                sum_ = sample.value
    return count, sum_


def vendor() -> str:
    return f"v-{uuid.uuid4().hex[:12]}"


def lane(key: str, lanes: int = 4) -> int:
    """The write lane `GroupCommit.run` puts `key` on."""
    return zlib.crc32(key.encode()) % lanes


async def test_concurrent_creates_share_transactions_and_are_committed_when_answered(
    stores: Stores, tmp_path: Path
) -> None:
    service = NotificationService(stores)
    vendors = [vendor() for _ in range(5)]
    before = batches()
    made = await asyncio.gather(
        *(service.create(vendors[n % 5], NewNotification("t", f"n{n}")) for n in range(200))
    )
    after = batches()
    assert all(created for _, created in made)
    assert after[1] - before[1] == 200
    assert after[0] - before[0] < 100, "200 concurrent creates should need far fewer commits"
    # Committed: another connection sees every row.
    other = Stores(stores.db.url)
    await other.connect()
    try:
        stored = await other.db.fetch_val(
            "SELECT count(*) FROM notifications WHERE vendor_id IN ("
            + ", ".join(f"'{v}'" for v in vendors)
            + ")"
        )
        assert stored == 200
    finally:
        await other.disconnect()


async def test_commits_are_durable(stores: Stores) -> None:
    if stores.dialect == "sqlite":
        mode = await stores.writer.run("v", lambda: stores.db.fetch_val("PRAGMA synchronous"))
        assert mode == 2  # FULL
    else:
        mode = await stores.writer.run("v", lambda: stores.db.fetch_val("SHOW synchronous_commit"))
        assert mode == "on"


async def test_a_vendors_events_keep_the_order_of_the_calls(stores: Stores) -> None:
    service = NotificationService(stores)
    v, w = vendor(), vendor()
    made = await asyncio.gather(
        *(service.create(v if n % 3 else w, NewNotification("t", f"{n}")) for n in range(90))
    )
    for who in (v, w):
        rows = await stores.db.fetch_all(
            "SELECT seq, payload FROM outbox WHERE vendor_id = :v ORDER BY seq", {"v": who}
        )
        seqs = [r[0] for r in rows]
        assert seqs == list(range(1, len(seqs) + 1))
        titles = [json.loads(r[1])["notification"]["title"] for r in rows]
        called = [n.title for n, _ in made if n.vendor_id == who]
        assert titles == called
        # Ids sort as the events do: keyset pages and events agree.
        ids = [json.loads(r[1])["notification"]["id"] for r in rows]
        assert ids == sorted(ids)


async def test_a_dedupe_key_holds_under_concurrency(stores: Stores) -> None:
    service = NotificationService(stores)
    v = vendor()
    made = await asyncio.gather(
        *(service.create(v, NewNotification("t", "once", dedupe_key="k")) for _ in range(40))
    )
    assert sum(created for _, created in made) == 1
    assert len({n.id for n, _ in made}) == 1
    assert (
        await stores.db.fetch_val(
            "SELECT count(*) FROM notifications WHERE vendor_id = :v", {"v": v}
        )
        == 1
    )
    assert await stores.counts.total(v) == 1
    assert await stores.db.fetch_val("SELECT seq FROM vendors WHERE id = :v", {"v": v}) == 1


async def test_a_unit_that_fails_fails_alone_with_its_own_error(stores: Stores) -> None:
    v = vendor()

    def insert(row_id: str) -> object:
        return lambda: stores.db.execute(
            "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, "
            "created_at) VALUES (:id, :v, 't', 't', '', '{}', 'normal', 1)",
            {"id": row_id, "v": v},
        )

    async def boom() -> None:
        await insert("B" * 26)()
        raise LookupError("the unit's own failure")

    results = await asyncio.gather(
        stores.writer.run(v, insert("A" * 26)),
        stores.writer.run(v, insert("A" * 26)),  # the same primary key: fails in the database
        stores.writer.run(v, boom),
        stores.writer.run(v, insert("C" * 26)),
        return_exceptions=True,
    )
    assert not isinstance(results[0], BaseException)
    assert isinstance(results[1], sqlite3.IntegrityError | asyncpg.UniqueViolationError)
    assert isinstance(results[2], LookupError)
    assert not isinstance(results[3], BaseException)
    rows = await stores.db.fetch_all(
        "SELECT id FROM notifications WHERE vendor_id = :v ORDER BY id", {"v": v}
    )
    assert [r[0] for r in rows] == ["A" * 26, "C" * 26]


async def test_a_vendor_whose_lock_is_held_does_not_hold_up_its_lane(
    pg_databases: PgDatabases,
) -> None:
    """A bulk chunk holding vendor A's row made every create on A's lane wait (PostgreSQL)."""
    url = pg_databases.new()
    stores = Stores(url, write_lanes=4)
    await stores.connect()
    holder = await asyncpg.connect(url)
    try:
        service = NotificationService(stores)
        a = vendor()
        b = next(v for v in (vendor() for _ in range(100)) if lane(v) == lane(a))
        first, _ = await service.create(a, NewNotification("t", "a0"))
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT seq FROM vendors WHERE id = $1 FOR UPDATE", a)

        blocked = asyncio.create_task(service.create(a, NewNotification("t", "a1")))
        while not await holder.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
            await asyncio.sleep(0.01)  # until the create for `a` waits for the lock
        behind = asyncio.create_task(service.create(a, NewNotification("t", "a2")))
        started = asyncio.get_running_loop().time()
        other, created = await asyncio.wait_for(service.create(b, NewNotification("t", "b")), 5)
        waited = asyncio.get_running_loop().time() - started
        assert created
        assert waited < 1.0, f"vendor b waited {waited:.2f} s behind vendor a's lock"
        assert not blocked.done()
        assert not behind.done()

        await held.rollback()
        made = [(await blocked)[0].id, (await behind)[0].id]
        payloads = await stores.db.fetch_all(
            "SELECT payload FROM outbox WHERE vendor_id = :v ORDER BY seq", {"v": a}
        )
        order = [json.loads(p[0])["notification"]["id"] for p in payloads]
        assert order == [first.id, *made], "a vendor's writes keep their order"
        assert other.vendor_id == b
    finally:
        await holder.close()
        await stores.disconnect()


async def test_a_batch_runs_its_units_once_and_again_only_when_one_of_them_fails(
    stores: Stores,
) -> None:
    """Savepoints only for a batch that needs them: a unit may run twice, and commits once."""
    v = vendor()
    runs: Counter[str] = Counter()

    def unit(row_id: str, *, fail: bool = False) -> Callable[[], Awaitable[str]]:
        async def work() -> str:
            runs[row_id] += 1
            await stores.db.execute(
                "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, "
                "created_at) VALUES (:id, :v, 't', 't', '', '{}', 'normal', 1)",
                {"id": row_id, "v": v},
            )
            if fail:
                raise LookupError(row_id)
            return row_id

        return work

    fine = [f"{c}" * 26 for c in "DEF"]
    assert await asyncio.gather(*(stores.writer.run(v, unit(r)) for r in fine)) == fine
    assert all(runs[r] == 1 for r in fine), runs
    mixed = [f"{c}" * 26 for c in "GHJ"]
    results = await asyncio.gather(
        stores.writer.run(v, unit(mixed[0])),
        stores.writer.run(v, unit(mixed[1], fail=True)),
        stores.writer.run(v, unit(mixed[2])),
        return_exceptions=True,
    )
    assert results[0] == mixed[0]
    assert isinstance(results[1], LookupError)
    assert results[2] == mixed[2]
    # The batch ran whole, failed, and ran again unit by unit.
    assert runs[mixed[0]] == 2
    assert runs[mixed[1]] == 2
    rows = await stores.db.fetch_all(
        "SELECT id FROM notifications WHERE vendor_id = :v ORDER BY id", {"v": v}
    )
    assert [r[0] for r in rows] == [*fine, mixed[0], mixed[2]]


async def test_a_batch_that_meets_a_held_lock_parks_that_vendor_and_commits_the_rest(
    pg_databases: PgDatabases,
) -> None:
    """One batch, two vendors, one vendor's row locked elsewhere (PostgreSQL)."""
    url = pg_databases.new()
    stores = Stores(url, write_lanes=1)  # one lane: the two creates share a batch
    await stores.connect()
    holder = await asyncpg.connect(url)
    try:
        service = NotificationService(stores)
        a, b = vendor(), vendor()
        await service.create(a, NewNotification("t", "a0"))
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT seq FROM vendors WHERE id = $1 FOR UPDATE", a)
        before = batches()
        blocked = asyncio.create_task(service.create(a, NewNotification("t", "a1")))
        other, created = await asyncio.wait_for(service.create(b, NewNotification("t", "b")), 5)
        assert created
        assert other.vendor_id == b
        assert not blocked.done()
        assert batches()[1] - before[1] == 1  # b committed in the lane; a waits apart
        await held.rollback()
        _, created = await asyncio.wait_for(blocked, 5)
        assert created
        assert await stores.counts.total(a) == 2
    finally:
        await holder.close()
        await stores.disconnect()


async def test_a_create_that_waited_for_its_vendor_reads_the_counts_committed_meanwhile(
    pg_databases: PgDatabases,
) -> None:
    """The unread total in its event is the one after the change it waited behind (PostgreSQL)."""
    url = pg_databases.new()
    stores = Stores(url)
    await stores.connect()
    holder = await asyncpg.connect(url)
    try:
        service = NotificationService(stores)
        v = vendor()
        await service.create(v, NewNotification("a", "a0"))
        await service.create(v, NewNotification("b", "b0"))
        # A bulk change holds the vendor and marks type b read.
        held = holder.transaction()
        await held.start()
        await holder.execute("SELECT seq FROM vendors WHERE id = $1 FOR UPDATE", v)
        await holder.execute(
            "UPDATE unread_counts SET unread = 0 WHERE vendor_id = $1 AND type = 'b'", v
        )
        waiting = asyncio.create_task(service.create(v, NewNotification("a", "a1")))
        while not await holder.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
            await asyncio.sleep(0.01)  # until the create waits for the vendor's lock
        await held.commit()
        made, created = await asyncio.wait_for(waiting, 5)
        assert created
        row = await stores.db.fetch_one(
            "SELECT payload FROM outbox WHERE vendor_id = :v ORDER BY seq DESC LIMIT 1", {"v": v}
        )
        event = json.loads(row[0])
        assert event["notification"]["id"] == made.id
        assert event["unread_count"] == await stores.counts.total(v) == 2
    finally:
        await holder.close()
        await stores.disconnect()
