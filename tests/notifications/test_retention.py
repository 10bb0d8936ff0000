"""Retention purges exactly what is older than its rule, in batches, with counts kept exact."""

from __future__ import annotations

import asyncio
import uuid

from tests.conftest import PgDatabases
from tests.notifications.test_counts import real_counts
from tocsin._ids import new_notification_id, now_ms
from tocsin.model import Notification
from tocsin.notifications.retention import DAY_MS, Retention
from tocsin.notifications.service import NotificationService
from tocsin.settings import Settings
from tocsin.storage.stores import Stores


def note(
    vendor: str, kind: str, age_days: float, *, read: bool, archived: bool = False
) -> Notification:
    created = now_ms() - int(age_days * DAY_MS)
    return Notification(
        id=new_notification_id(),
        vendor_id=vendor,
        type=kind,
        title=f"{kind} {age_days}",
        body="",
        data={},
        priority="normal",
        link=None,
        created_at=created,
        read_at=created + 1000 if read else None,
        seen_at=None,
        archived_at=created + 2000 if archived else None,
        dedupe_key=None,
    )


async def ids(stores: Stores, sql: str) -> set[str]:
    return {str(r[0]) for r in await stores.db.fetch_all(sql)}


async def test_purge_removes_exactly_the_old_rows_and_keeps_counts(stores: Stores) -> None:
    vendor = f"v-{uuid.uuid4().hex[:10]}"
    service = NotificationService(stores)
    keep = [
        note(vendor, "a", 10, read=True),  # read, but recent
        note(vendor, "a", 100, read=False),  # old, but unread: kept up to 365 days
        note(vendor, "b", 300, read=False),
        note(vendor, "b", 1, read=False, archived=True),
    ]
    purge = [
        note(vendor, "a", 91, read=True),
        note(vendor, "b", 120, read=False, archived=True),
        note(vendor, "a", 366, read=False),  # unread, older than a year: leaves the count
        note(vendor, "b", 400, read=False),
        note(vendor, "a", 500, read=True, archived=True),
    ]
    await service.import_many(vendor, keep + purge)
    assert (await service.unread(vendor))[1] == {"a": 2, "b": 2}

    now = now_ms()
    old, recent = now - 400 * DAY_MS, now - 10 * DAY_MS
    for name, at in (("old-event", old), ("recent-event", recent)):
        await stores.db.execute(
            "INSERT INTO processed_events (event_id, type, digest, notifications, created_at) "
            "VALUES (:id, 'order_created', 'x', '[]', :at)",
            {"id": name, "at": at},
        )
    deliveries = {}
    for name, status, at in (
        ("old-sent", "sent", old),
        ("old-pending", "pending", old),  # still to send: never purged
        ("recent-sent", "sent", recent),
    ):
        await stores.db.execute(
            "INSERT INTO deliveries (key, vendor_id, type, channel, recipient, message, status, "
            "attempts, next_attempt_at, created_at, updated_at) VALUES (:key, :v, 'a', 'email', "
            "'x@example.com', '{}', :status, 1, :at, :at, :at)",
            {"key": name, "v": vendor, "status": status, "at": at},
        )
        deliveries[name] = await stores.db.fetch_val(
            "SELECT id FROM deliveries WHERE key = :key", {"key": name}
        )
        await stores.db.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempt, status, started_at) "
            "VALUES (:d, 1, 'sent', :at)",
            {"d": deliveries[name], "at": at},
        )

    # Bulk jobs: a finished one past the read retention goes; a running one stays.
    for job_id, status, at in (
        ("01OLDDONE", "done", old),
        ("01OLDRUNNING", "running", old),
        ("01RECENTDONE", "done", recent),
    ):
        await stores.db.execute(
            "INSERT INTO bulk_jobs (id, vendor_id, action, filter, status, cursor, changed, "
            "created_at, updated_at) "
            "VALUES (:id, :v, 'mark_read', '{}', :status, :id, 0, :at, :at)",
            {"id": job_id, "v": vendor, "status": status, "at": at},
        )

    for key, at in (("old-item", old), ("recent-item", recent)):
        await stores.db.execute(
            "INSERT INTO digest_items (key, vendor_id, digest_key, type, line, created_at) "
            "VALUES (:key, :v, 'digest:x', 'a', 'A line', :at)",
            {"key": key, "v": vendor, "at": at},
        )

    for notification_id, at in (("01OLDCOUNT", old), ("01RECENTCOUNT", recent)):
        await stores.db.execute(
            "INSERT INTO notification_streams (notification_id, vendor_id, streams, polls, "
            "first_at, last_at) VALUES (:id, :v, 2, 1, :at, :at)",
            {"id": notification_id, "v": vendor, "at": at},
        )

    settings = Settings().with_(database_url=stores.db.url, purge_batch=2)
    retention = Retention(settings, stores)
    done = await retention.purge()

    assert await ids(stores, "SELECT id FROM notifications") == {n.id for n in keep}
    assert done.removed == {
        "notifications": 5,
        "processed_events": 1,
        "deliveries": 1,
        "digest_items": 1,
        "bulk_jobs": 1,
        "notification_streams": 1,
    }
    left_counts = "SELECT notification_id FROM notification_streams"
    assert await ids(stores, left_counts) == {"01RECENTCOUNT"}
    assert await ids(stores, "SELECT key FROM digest_items") == {"recent-item"}
    kept_counts = (await service.unread(vendor))[1]
    assert kept_counts == await real_counts(stores, vendor) == {"a": 1, "b": 1}
    assert await ids(stores, "SELECT event_id FROM processed_events") == {"recent-event"}
    assert await ids(stores, "SELECT id FROM bulk_jobs") == {"01OLDRUNNING", "01RECENTDONE"}
    assert await ids(stores, "SELECT key FROM deliveries") == {"old-pending", "recent-sent"}
    left = await ids(stores, "SELECT delivery_id FROM delivery_attempts")
    assert left == {str(deliveries["old-pending"]), str(deliveries["recent-sent"])}
    last = await retention.last()
    assert last is not None
    assert (last.at, last.removed) == (done.at, done.removed)

    # Nothing old is left: a second purge removes nothing.
    assert set((await retention.purge()).removed.values()) == {0}


async def test_zero_days_keeps_everything(stores: Stores) -> None:
    vendor = f"v-{uuid.uuid4().hex[:10]}"
    await NotificationService(stores).import_many(
        vendor, [note(vendor, "a", 1000, read=True), note(vendor, "a", 2000, read=False)]
    )
    settings = Settings().with_(database_url=stores.db.url, keep_days=0, keep_read_days=0)
    done = await Retention(settings, stores).purge()
    assert done.removed["notifications"] == 0


async def test_a_purge_is_claimed_by_one_process_per_interval(stores: Stores) -> None:
    retention = stores.retention
    assert await retention.claim_purge(now=1_000, until=2_000)
    assert not await retention.claim_purge(now=1_500, until=2_500)  # held
    await retention.hold_purge(until=3_000)  # a long purge renews its hold
    assert not await retention.claim_purge(now=2_500, until=3_500)
    assert await retention.claim_purge(now=3_000, until=4_000)  # due again


async def test_two_processes_purging_at_once_remove_each_row_once(
    pg_databases: PgDatabases,
) -> None:
    """Two `Retention`s over one PostgreSQL database, as two worker processes are."""
    url = pg_databases.new()
    first, second = Stores(url), Stores(url)
    await first.connect()
    await second.connect()
    try:
        vendor = f"v-{uuid.uuid4().hex[:10]}"
        old = [note(vendor, "a", 400, read=i % 2 == 0) for i in range(240)]
        recent = [note(vendor, "a", 1, read=False) for _ in range(7)]
        await NotificationService(first).import_many(vendor, old + recent)
        settings = Settings().with_(database_url=url, purge_batch=20)
        a, b = Retention(settings, first), Retention(settings, second)

        # Both due at once: one claims the purge, the other skips it.
        done = await asyncio.gather(a.purge_if_due(), b.purge_if_due())
        ran = [d for d in done if d is not None]
        assert len(ran) == 1
        assert ran[0].removed["notifications"] == len(old)
        assert await a.last() == await b.last() == ran[0]
        assert await a.purge_if_due() is None  # purged within the interval

        # Even two purges that overlap (one outlasting its interval) delete each row once.
        more = [note(vendor, "b", 400, read=False) for _ in range(240)]
        await NotificationService(first).import_many(vendor, more)
        both = await asyncio.gather(a.purge(), b.purge())
        assert sum(d.removed["notifications"] for d in both) == len(more)
        assert await first.db.fetch_val("SELECT count(*) FROM notifications") == len(recent)
        assert (await NotificationService(first).unread(vendor))[1] == await real_counts(
            first, vendor
        )
        assert (await a.last()) in both
    finally:
        await first.disconnect()
        await second.disconnect()
