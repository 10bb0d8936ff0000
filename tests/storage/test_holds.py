"""Quiet-hours holds of deliveries, on both backends: released when the vendor changes its
quiet hours, held again at a claim."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import PgDatabases
from tests.events.conftest import wait_until
from tocsin._ids import now_ms
from tocsin.marketplace.pipeline import Pipeline
from tocsin.notifications.service import NotificationService
from tocsin.settings import Settings
from tocsin.storage.deliveries import SENT, NewDelivery
from tocsin.storage.schema import deliveries
from tocsin.storage.stores import Stores

HOUR = 3600_000


def sms(key: str, vendor: str = "acme", **timing: Any) -> NewDelivery:
    return NewDelivery(
        key=key,
        vendor_id=vendor,
        event_id=None,
        notification_id=None,
        type="payment_received",
        channel="sms",
        recipient="+4915112345678",
        message={"text": "hi"},
        **timing,
    )


async def add(stores: Stores, new: NewDelivery) -> int:
    delivery_id = await stores.deliveries.add(new)
    assert delivery_id is not None
    return delivery_id


async def row(stores: Stores, delivery_id: int) -> dict[str, Any]:
    found = await stores.deliveries.get(delivery_id)
    assert found is not None
    return found


def timing(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["next_attempt_at"], r["held_from"], r["held_until"], r["released_at"])


async def test_a_release_makes_a_hold_under_way_due_now_and_keeps_it_on_the_record(
    stores: Stores,
) -> None:
    now = now_ms()
    due, end = now - 60_000, now + HOUR
    held = await add(stores, sms("held", due_at=end, held_from=due, held_until=end))
    async with stores.transaction():
        assert await stores.deliveries.release("acme", now) == [held]
    assert timing(await row(stores, held)) == (now, due, end, now)
    claimed = await stores.deliveries.claim(held, 5000)
    assert claimed is not None, "due now"
    assert claimed.due_at == now


async def test_a_hold_not_yet_begun_is_dropped_and_the_delivery_due_at_its_own_time(
    stores: Stores,
) -> None:
    """An escalation or a digest due later, planned into the old quiet hours."""
    now = now_ms()
    due, end = now + 600_000, now + HOUR
    later = await add(stores, sms("later", due_at=end, held_from=due, held_until=end))
    assert await stores.deliveries.release("acme", now) == [later]
    assert timing(await row(stores, later)) == (due, None, None, None)
    assert await stores.deliveries.claim(later, 5000) is None, "not before its own time"


async def test_a_release_leaves_what_no_hold_keeps_waiting(stores: Stores) -> None:
    now = now_ms()
    end = now + HOUR
    others = [
        # Another vendor's.
        await add(stores, sms("other", vendor="other", due_at=end, held_from=now, held_until=end)),
        # Not held.
        await add(stores, sms("plain", due_at=now + 600_000)),
        # Held once, now waiting for a retry after a failed attempt.
        await add(stores, sms("retry", due_at=now + 5_000, held_from=now - HOUR, held_until=now)),
        # Its hold ended: due already.
        await add(stores, sms("ended", due_at=now - 1, held_from=now - HOUR, held_until=now - 1)),
    ]
    sent = await add(stores, sms("sent", due_at=end, held_from=now, held_until=end))
    await stores.db.execute(deliveries.update().where(deliveries.c.id == sent).values(status=SENT))
    before = {i: await row(stores, i) for i in [*others, sent]}
    assert await stores.deliveries.release("acme", now) == []
    assert {i: await row(stores, i) for i in before} == before


async def test_a_released_delivery_held_again_at_its_claim_waits_for_the_new_end(
    stores: Stores,
) -> None:
    now = now_ms()
    due, end, new_end = now - 60_000, now + HOUR, now + 2 * HOUR
    held = await add(stores, sms("again", due_at=end, held_from=due, held_until=end))
    await stores.deliveries.release("acme", now)
    claimed = await stores.deliveries.claim(held, 5000)
    assert claimed is not None
    await stores.deliveries.postpone(claimed, new_end)
    r = await row(stores, held)
    assert timing(r) == (new_end, due, new_end, None)
    assert (r["status"], r["attempts"]) == ("pending", 0)
    assert await stores.deliveries.release("acme", now_ms()) == [held], "released again"


async def test_a_release_rolls_back_with_the_settings_change(stores: Stores) -> None:
    now = now_ms()
    end = now + HOUR
    held = await add(stores, sms("rollback", due_at=end, held_from=now, held_until=end))

    async def change_that_fails() -> None:
        async with stores.transaction():
            assert await stores.deliveries.release("acme", now) == [held]
            raise RuntimeError("the settings change failed")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert timing(await row(stores, held)) == (end, now, end, None)


def _quiet_around_now() -> dict[str, str]:
    """Settings columns: quiet (UTC) from an hour ago to an hour from now."""
    now = datetime.now(UTC)
    hhmm = "%H:%M"
    return {
        "timezone": "UTC",
        "quiet_start": (now - timedelta(hours=1)).strftime(hhmm),
        "quiet_end": (now + timedelta(hours=1)).strftime(hhmm),
    }


async def test_a_claim_held_while_the_quiet_hours_are_turned_off_sees_them_off(
    pg_databases: PgDatabases,
) -> None:
    """The race the worker ran into: it read the old quiet hours while a settings change
    was committing, the change released nothing (the delivery was claimed, not held),
    and the worker then held it until the old end. The hold now reads the hours under
    the vendor's row lock: it waits for the change, sees no quiet hours, and holds
    nothing (PostgreSQL; SQLite's writing transactions exclude one another)."""
    url = pg_databases.new()
    stores, changer = Stores(url), Stores(url)
    await stores.connect()
    await changer.connect()
    try:
        pipeline = Pipeline(Settings(database_url=url), stores, NotificationService(stores))
        await stores.vendors.set_settings("acme", _quiet_around_now())
        delivery_id = await add(stores, sms("race"))
        claimed = await stores.deliveries.claim(delivery_id, 60_000)
        assert claimed is not None

        async with changer.transaction():
            await changer.vendors.set_settings("acme", {"quiet_start": None, "quiet_end": None})
            assert await changer.deliveries.release("acme", now_ms()) == [], "claimed, not held"
            hold = asyncio.create_task(pipeline.hold(claimed))
            # The hold's read waits on the row the change has locked.
            await wait_until(lambda: _waiting_on_a_lock(changer), what="the hold waiting")
        assert await hold is None
        r = await row(stores, delivery_id)
        assert (r["status"], r["held_until"]) == ("sending", None), "still the worker's to send"
    finally:
        await changer.disconnect()
        await stores.disconnect()


async def _waiting_on_a_lock(stores: Stores) -> bool:
    waiting = await stores.db.value(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(waiting) > 0
