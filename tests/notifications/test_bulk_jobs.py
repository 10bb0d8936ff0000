"""Bulk changes over more than `sync_limit` rows: a durable job, in chunks, counts exact.

Against a real SQLite file and a real PostgreSQL database (the `stores` fixture);
the vendor is filled in bulk the way `tocsin demo --vendor` does it.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid

import pytest

from tests.notifications.test_counts import real_counts
from tocsin._ids import now_ms
from tocsin.errors import NotFound
from tocsin.model import ListFilter
from tocsin.notifications.bulk import BulkRunner
from tocsin.notifications.samples import history
from tocsin.notifications.service import NotificationService
from tocsin.storage.stores import Stores

COUNT = 1200


async def filled(stores: Stores, count: int = COUNT) -> tuple[NotificationService, str]:
    service = NotificationService(stores, sync_limit=100, chunk=150)
    vendor = f"v-{uuid.uuid4().hex[:10]}"
    rows = list(history(vendor, count, random.Random(3), now_ms=now_ms(), days=2))
    await service.import_many(vendor, rows)
    # Someone else's notifications, which no job of `vendor` may touch.
    other = list(history("other", 300, random.Random(4), now_ms=now_ms(), days=2))
    await service.import_many("other", other)
    return service, vendor


async def count(stores: Stores, sql: str, **values: object) -> int:
    return int(await stores.db.fetch_val(sql, values) or 0)


async def updates(stores: Stores, vendor: str) -> list[dict[str, object]]:
    rows = await stores.db.fetch_all(
        "SELECT payload FROM outbox WHERE vendor_id = :v AND event = 'notification_update' "
        "ORDER BY seq",
        {"v": vendor},
    )
    return [json.loads(r[0]) for r in rows]


async def test_kept_counts_after_a_bulk_fill(stores: Stores) -> None:
    service, vendor = await filled(stores)
    total, by_type = await service.unread(vendor)
    assert by_type == await real_counts(stores, vendor)
    assert 0 < total < COUNT
    assert await count(stores, "SELECT count(*) FROM notifications WHERE vendor_id = :v", v=vendor)
    archived = "SELECT count(*) FROM notifications WHERE vendor_id = :v AND archived_at IS NOT NULL"
    assert await count(stores, archived, v=vendor) > 0


async def test_a_small_change_stays_in_the_request(stores: Stores) -> None:
    service, vendor = await filled(stores, 80)
    unread = (await service.unread(vendor))[0]
    changed, job = await service.change_all(vendor, "mark_read", ListFilter(archived=None))
    assert job is None
    assert changed == unread
    assert await real_counts(stores, vendor) == {}


async def test_a_large_change_runs_as_a_job_in_chunks_with_exact_counts(stores: Stores) -> None:
    service, vendor = await filled(stores)
    others = await real_counts(stores, "other")
    read = "SELECT count(*) FROM notifications WHERE vendor_id = :v AND read_at IS NOT NULL"
    unread_before = COUNT - await count(stores, read, v=vendor)
    # Everything unread again: more rows than `sync_limit`, so a job.
    changed, job = await service.change_all(vendor, "mark_unread", ListFilter(archived=None))
    assert job is not None
    assert changed == 0
    runner = BulkRunner(service)
    claimed = await stores.bulk_jobs.claim(runner.lease_ms)
    assert claimed is not None
    assert claimed.id == job.id
    await runner.run_job(claimed)
    done = await service.job(vendor, job.id)
    assert (done.status, done.changed, done.error) == ("done", COUNT - unread_before, None)
    assert await count(stores, read, v=vendor) == 0
    assert (await service.unread(vendor))[1] == await real_counts(stores, vendor)

    # Delete one type by filter: in chunks of 150, each with its event (ids null).
    kind = "order_created"
    of_kind = await count(
        stores,
        "SELECT count(*) FROM notifications WHERE vendor_id = :v AND type = :t",
        v=vendor,
        t=kind,
    )
    assert of_kind > 150
    _, job = await service.change_all(vendor, "delete", ListFilter(types=(kind,), archived=None))
    assert job is not None
    before = len(await updates(stores, vendor))
    claimed = await stores.bulk_jobs.claim(runner.lease_ms)
    assert claimed is not None
    await runner.run_job(claimed)
    assert (await service.job(vendor, job.id)).changed == of_kind
    events = (await updates(stores, vendor))[before:]
    assert len(events) >= -(-of_kind // 150), "chunks of at most 150"
    assert all(e["ids"] is None and e["changes"] == {"deleted": True} for e in events)
    kept = await service.unread(vendor)
    assert kept[1] == await real_counts(stores, vendor)
    assert events[-1]["unread_count"] == kept[0]
    assert kind not in kept[1]
    assert await real_counts(stores, "other") == others, "another vendor's notifications"


async def test_a_job_resumes_after_a_restart(stores: Stores) -> None:
    service, vendor = await filled(stores)
    _, job = await service.change_all(vendor, "archive", ListFilter(archived=False))
    assert job is not None
    to_archive = await count(
        stores,
        "SELECT count(*) FROM notifications WHERE vendor_id = :v AND archived_at IS NULL",
        v=vendor,
    )

    # A runner stops (the process shuts down) after its first chunk: the job is given back.
    first_chunk = asyncio.Event()
    service.on_commit = first_chunk.set
    runner = BulkRunner(service)
    task = asyncio.create_task(runner.run())
    runner.kick()
    await asyncio.wait_for(first_chunk.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    halfway = await service.job(vendor, job.id)
    assert halfway.status == "running"
    assert 0 < halfway.changed < to_archive

    # A new process (new stores over the same database) takes it over at once ...
    again = Stores(stores.db.url)
    await again.connect()
    try:
        resumed = NotificationService(again, sync_limit=100, chunk=150)
        runner = BulkRunner(resumed)
        claimed = await again.bulk_jobs.claim(runner.lease_ms)
        assert claimed is not None
        assert claimed.cursor == halfway.cursor
        # ... and dies after one more chunk, holding its lease: nobody else takes it meanwhile.
        assert await resumed.run_chunk(claimed, runner.lease_ms) is not None
        assert await again.bulk_jobs.claim(runner.lease_ms) is None
        # Once the lease has run out, the job resumes from its cursor and completes.
        await again.db.execute(
            "UPDATE bulk_jobs SET lease_until = 1 WHERE id = :id", {"id": job.id}
        )
        claimed = await again.bulk_jobs.claim(runner.lease_ms)
        assert claimed is not None
        await runner.run_job(claimed)
    finally:
        await again.disconnect()
    done = await service.job(vendor, job.id)
    assert (done.status, done.changed) == ("done", to_archive), "each row changed exactly once"
    assert await real_counts(stores, vendor) == {}
    assert (await service.unread(vendor))[0] == 0


async def test_an_unknown_or_foreign_job_is_not_found(stores: Stores) -> None:
    service, vendor = await filled(stores)
    _, job = await service.change_all(vendor, "mark_read", ListFilter(archived=None))
    assert job is not None
    for vendor_id, job_id in (("other", job.id), (vendor, "nope"), (vendor, job.id.lower())):
        with pytest.raises(NotFound):
            await service.job(vendor_id, job_id)
