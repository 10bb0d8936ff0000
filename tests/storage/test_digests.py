"""Digest deliveries and their items, on both backends: open until claimed, one digest per item."""

from __future__ import annotations

from tocsin._ids import now_ms
from tocsin.storage.deliveries import DIGEST, SENDING, DigestItem, NewDelivery
from tocsin.storage.stores import Stores


def digest(key: str, due: int) -> NewDelivery:
    return NewDelivery(
        key=key,
        vendor_id="acme",
        event_id=None,
        notification_id=None,
        type="digest",
        channel="email",
        recipient="shop@acme.example",
        message={},
        due_at=due,
        purpose=DIGEST,
    )


def item(n: int) -> DigestItem:
    return DigestItem(
        key=f"evt:{n}:acme:email",
        vendor_id="acme",
        notification_id=f"n{n}",
        type="stock_low",
        line=f"Low stock {n}",
        link=None,
    )


async def test_a_digest_takes_items_until_it_is_claimed(stores: Stores) -> None:
    d = stores.deliveries
    async with stores.transaction():
        made, open_ = await d.open_digest(digest("digest:acme:1", now_ms() - 1))
    assert made is not None
    assert open_
    async with stores.transaction():
        again, still_open = await d.open_digest(digest("digest:acme:1", now_ms() - 1))
        assert await d.add_digest_item("digest:acme:1", item(1))
        assert not await d.add_digest_item("digest:acme:2", item(1)), "one digest per item"
        assert await d.add_digest_item("digest:acme:1", item(2))
    assert again is None
    assert still_open
    assert [i["line"] for i in await d.digest_items("digest:acme:1")] == [
        "Low stock 1",
        "Low stock 2",
    ]
    assert await d.digest_items("digest:acme:2") == []
    [listed] = await d.listings("acme", "n2")
    assert (listed["digest_key"], listed["digest_id"]) == ("digest:acme:1", made)
    assert await d.listings("other", "n2") == [], "another vendor's"

    claimed = await d.claim(made, 5000)
    assert claimed is not None
    assert claimed.purpose == DIGEST
    row = await d.get(made)
    assert row is not None
    assert row["status"] == SENDING
    async with stores.transaction():
        _, open_after = await d.open_digest(digest("digest:acme:1", now_ms() - 1))
    assert not open_after, "a claimed digest takes no more items"


async def test_a_held_delivery_records_its_hold(stores: Stores) -> None:
    due, end = now_ms(), now_ms() + 3600_000
    new = NewDelivery(
        key="evt:x:acme:sms",
        vendor_id="acme",
        event_id="x",
        notification_id=None,
        type="payment_received",
        channel="sms",
        recipient="+4915112345678",
        message={"text": "hi"},
        due_at=end,
        held_from=due,
        held_until=end,
    )
    delivery_id = await stores.deliveries.add(new)
    assert delivery_id is not None
    row = await stores.deliveries.get(delivery_id)
    assert row is not None
    assert (row["purpose"], row["held_from"], row["held_until"], row["next_attempt_at"]) == (
        "instant",
        due,
        end,
        end,
    )
    assert await stores.deliveries.claim(delivery_id, 5000) is None, "not before its end"
