"""Kept unread counts stay equal to a real count, whatever sequence of changes made them.

Random sequences of creates, reads, archives, deletes and bulk changes (by ids
and by filter) run through the service against a real SQLite file and a real
PostgreSQL database; after each step the kept counts, and the count the step's
stream event carried, are compared with `count(*)` over the notifications.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.errors import NotFound
from tocsin.model import ListFilter
from tocsin.notifications.service import NewNotification, NotificationService
from tocsin.storage import migrate
from tocsin.storage.stores import Stores

TYPES = ("order_created", "payment_received", "payment_failed")
ACTIONS = ("mark_read", "mark_unread", "archive", "unarchive", "delete")

filters = st.builds(
    ListFilter,
    unread=st.sampled_from([None, True, False]),
    types=st.lists(st.sampled_from(TYPES), max_size=2, unique=True).map(tuple),
    archived=st.sampled_from([None, True, False]),
)
index = st.integers(0, 40)
steps = st.one_of(
    st.tuples(st.just("create"), st.sampled_from(TYPES), st.sampled_from([None, "a", "b"])),
    st.tuples(st.just("patch"), index, st.sampled_from([None, True, False]), st.booleans()),
    st.tuples(st.just("delete"), index),
    st.tuples(st.just("bulk_ids"), st.sampled_from(ACTIONS), st.lists(index, max_size=6)),
    st.tuples(st.just("bulk_filter"), st.sampled_from(ACTIONS), filters),
)


async def real_counts(stores: Stores, vendor_id: str) -> dict[str, int]:
    rows = await stores.db.fetch_all(
        "SELECT type, count(*) FROM notifications WHERE vendor_id = :v "
        "AND read_at IS NULL AND archived_at IS NULL GROUP BY type",
        {"v": vendor_id},
    )
    return {r[0]: int(r[1]) for r in rows}


async def last_event(stores: Stores, vendor_id: str) -> dict[str, Any] | None:
    payload = await stores.db.fetch_val(
        "SELECT payload FROM outbox WHERE vendor_id = :v ORDER BY seq DESC LIMIT 1",
        {"v": vendor_id},
    )
    return None if payload is None else dict(json.loads(payload))


async def apply(service: NotificationService, vendor_id: str, made: list[str], step: Any) -> None:
    kind = step[0]
    if kind == "create":
        _, type_, dedupe = step
        new = NewNotification(type=type_, title="t", dedupe_key=dedupe)
        n, created = await service.create(vendor_id, new)
        if created:
            made.append(n.id)
        return
    if not made:
        return
    if kind == "patch":
        _, i, read, archived = step
        await service.patch(vendor_id, made[i % len(made)], read=read, archived=archived)
    elif kind == "delete":
        await service.change(vendor_id, "delete", ids=[made[step[1] % len(made)]])
    elif kind == "bulk_ids":
        await service.change(vendor_id, step[1], ids=[made[i % len(made)] for i in step[2]])
    else:
        await service.change(vendor_id, step[1], f=step[2])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=st.lists(steps, min_size=1, max_size=25))
async def test_kept_counts_equal_a_real_count_after_every_step(
    stores: Stores, sequence: list[Any]
) -> None:
    service = NotificationService(stores)
    vendor_id = f"v-{uuid.uuid4().hex[:12]}"
    made: list[str] = []
    for step in sequence:
        seq_before = await stores.db.fetch_val(
            "SELECT seq FROM vendors WHERE id = :v", {"v": vendor_id}
        )
        with contextlib.suppress(NotFound):  # a patch of a deleted notification
            await apply(service, vendor_id, made, step)
        real = await real_counts(stores, vendor_id)
        total, by_type = await service.unread(vendor_id)
        assert by_type == real, step
        assert total == sum(real.values()) == await service.unread_total(vendor_id)
        seq_after = await stores.db.fetch_val(
            "SELECT seq FROM vendors WHERE id = :v", {"v": vendor_id}
        )
        if seq_after != seq_before:  # the step emitted an event: it carried the real count
            event = await last_event(stores, vendor_id)
            assert event is not None
            assert event["unread_count"] == total, (step, event)


async def test_the_migration_backfills_counts_from_existing_rows(fresh_url: str) -> None:
    migrate.upgrade(fresh_url, "0003")
    s = Stores(fresh_url)
    await s.connect()
    try:
        rows = [("a", "x", None, None), ("a", "x", 1, None), ("a", "y", None, 1)]
        rows += [("a", "z", None, None), ("b", "x", None, None)]
        for n, (vendor_id, type_, read_at, archived_at) in enumerate(rows):
            await s.db.execute(
                "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, "
                "created_at, read_at, archived_at) VALUES (:id, :v, :t, 't', '', '{}', 'normal', "
                "1, :r, :a)",
                {"id": f"{n:026d}", "v": vendor_id, "t": type_, "r": read_at, "a": archived_at},
            )
    finally:
        await s.disconnect()
    migrate.upgrade(fresh_url)
    s = Stores(fresh_url)
    await s.connect()
    try:
        assert await s.counts.by_type("a") == {"x": 1, "z": 1}
        assert await s.counts.by_type("b") == {"x": 1}
        assert await s.counts.total("a") == 2
    finally:
        await s.disconnect()
