"""`POST /api/v1/events`: rules, per-vendor split, idempotency (also concurrent), validation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.events.conftest import Api, order

PROBLEM = "application/problem+json"


async def notifications(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", params={"limit": 100})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_order_created_notifies_each_vendor_once_with_its_items_and_subtotal(
    api: Api, vendor: str, vendor2: str
) -> None:
    data = order(
        "A-1",
        (vendor, "S1", 2, "10.25"),
        (vendor2, "S2", 1, "99.99"),
        (vendor, "S3", 1, "5"),
    )
    r = await api.event("order.created", data)
    assert r.status_code == 202, r.text
    body = r.json()
    assert len(body["notifications"]) == 2

    first = await notifications(api.vendor(vendor))
    second = await notifications(api.vendor(vendor2))
    assert len(first) == 1
    assert len(second) == 1
    mine, theirs = first[0], second[0]
    assert {mine["id"], theirs["id"]} == set(body["notifications"])
    assert mine["type"] == "order_created"
    assert mine["priority"] == "high"
    assert mine["link"] == "/orders/A-1"
    assert [i["sku"] for i in mine["data"]["items"]] == ["S1", "S3"]
    assert mine["data"]["subtotal"] == "25.50"
    assert "EUR 25.50" in mine["title"]
    assert "2 x Item S1" in mine["body"]
    assert [i["sku"] for i in theirs["data"]["items"]] == ["S2"]
    assert theirs["data"]["subtotal"] == "99.99"
    assert mine["data"]["event"]["type"] == "order.created"


async def test_a_retried_event_answers_200_with_the_same_notifications(
    api: Api, vendor: str
) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    data = {"order_id": "7", "vendor_id": vendor, "amount": 12.5, "currency": "EUR"}
    first = await api.event("payment.received", data, id=event_id)
    again = await api.event("payment.received", data, id=event_id)
    assert first.status_code == 202
    assert again.status_code == 200
    assert (
        again.json()
        == first.json()
        == {
            "event_id": event_id,
            "notifications": first.json()["notifications"],
        }
    )
    assert len(await notifications(api.vendor(vendor))) == 1


async def test_concurrent_retries_of_one_event_create_one_set_of_notifications(
    api: Api, vendor: str, vendor2: str
) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    data = order("C-1", (vendor, "S1", 1, "1.00"), (vendor2, "S2", 1, "2.00"))
    answers = await asyncio.gather(
        *(api.event("order.created", data, id=event_id) for _ in range(16))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 15 + [202], [a.text for a in answers if a.status_code >= 300]
    assert len({tuple(a.json()["notifications"]) for a in answers}) == 1
    assert len(await notifications(api.vendor(vendor))) == 1
    assert len(await notifications(api.vendor(vendor2))) == 1


async def test_the_same_id_with_another_body_is_a_conflict(api: Api, vendor: str) -> None:
    event_id = f"evt-{uuid.uuid4().hex}"
    data = {"order_id": "8", "vendor_id": vendor, "amount": "1.00", "currency": "EUR"}
    assert (await api.event("payment.received", data, id=event_id)).status_code == 202
    r = await api.event("payment.received", {**data, "amount": "2.00"}, id=event_id)
    assert r.status_code == 409
    assert r.headers["content-type"] == PROBLEM
    assert event_id in r.json()["detail"]


async def test_status_changed_also_emits_order_status_update(api: Api, vendor: str) -> None:
    client = api.vendor(vendor)
    head = (await client.get("/api/v1/stream/poll")).json()["last_id"]
    data = {"order_id": "9", "vendor_id": vendor, "status": "shipped", "previous_status": "paid"}
    r = await api.event("order.status_changed", data)
    assert r.status_code == 202, r.text
    seen: list[dict[str, Any]] = []
    after = head
    while len(seen) < 2:
        page = (await client.get("/api/v1/stream/poll", params={"after": after, "wait": 10})).json()
        assert page["events"], "no event arrived"
        seen += page["events"]
        after = page["last_id"]
    names = [e["event"] for e in seen]
    assert names == ["new_notification", "order_status_update"]
    assert seen[0]["data"]["notification"]["type"] == "order_status_changed"
    assert seen[1]["data"] == {"order_id": "9", "status": "shipped", "previous_status": "paid"}


def _single(vendor: str) -> dict[str, tuple[dict[str, Any], str, str]]:
    money = {"order_id": "1", "vendor_id": vendor, "amount": "5.00", "currency": "EUR"}
    return {
        "order.status_changed": (
            {"order_id": "1", "vendor_id": vendor, "status": "paid"},
            "order_status_changed",
            "normal",
        ),
        "order.cancelled": ({"order_id": "1", "vendor_id": vendor}, "order_cancelled", "high"),
        "payment.received": (money, "payment_received", "normal"),
        "payment.failed": ({**money, "reason": "declined"}, "payment_failed", "urgent"),
        "refund.requested": (money, "refund_requested", "high"),
        "payout.sent": (
            {"payout_id": "p1", "vendor_id": vendor, "amount": "5", "currency": "EUR"},
            "payout_sent",
            "normal",
        ),
        "review.created": (
            {"review_id": "r1", "vendor_id": vendor, "product": "Mug", "rating": 4},
            "review_created",
            "low",
        ),
        "stock.low": (
            {"vendor_id": vendor, "sku": "S", "name": "Mug", "quantity": 1},
            "stock_low",
            "high",
        ),
        "message.received": (
            {"message_id": "m1", "vendor_id": vendor, "sender": "Bo", "text": "Hello?"},
            "message_received",
            "normal",
        ),
    }


@pytest.mark.parametrize(
    "event_type",
    [
        "order.status_changed",
        "order.cancelled",
        "payment.received",
        "payment.failed",
        "refund.requested",
        "payout.sent",
        "review.created",
        "stock.low",
        "message.received",
    ],
)
async def test_each_event_type_becomes_its_notification(
    api: Api, vendor: str, event_type: str
) -> None:
    data, kind, priority = _single(vendor)[event_type]
    r = await api.event(event_type, data)
    assert r.status_code == 202, r.text
    [n] = await notifications(api.vendor(vendor))
    assert (n["type"], n["priority"]) == (kind, priority)
    assert n["title"]
    assert n["id"] == r.json()["notifications"][0]


async def test_a_missing_or_wrong_field_is_a_422_naming_it(api: Api, vendor: str) -> None:
    data = order("X", (vendor, "S1", 1, "1.00"))
    del data["items"][0]["unit_price"]
    data["items"][0]["quantity"] = "two"
    r = await api.event("order.created", data)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"data.items.0.unit_price", "data.items.0.quantity"}
    assert "data.items.0.unit_price" in r.json()["detail"]

    r = await api.event("payment.failed", {"order_id": "1", "vendor_id": vendor, "amount": "1"})
    assert [e["field"] for e in r.json()["errors"]] == ["data.currency"]

    r = await api.event(
        "stock.low", {"vendor_id": "bad vendor!", "sku": "s", "name": "n", "quantity": 1}
    )
    assert [e["field"] for e in r.json()["errors"]] == ["data.vendor_id"]

    r = await api.publisher.post(
        "/api/v1/events", json={"id": "x", "type": "stock.low", "data": {}}
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["occurred_at"]


async def test_an_unknown_type_is_a_422_listing_the_known_ones(api: Api) -> None:
    r = await api.event("order.teleported", {"order_id": "1"})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "order.teleported" in detail
    for known in ("order.created", "payment.failed", "message.received", "stock.low"):
        assert known in detail
    assert r.json()["errors"][0]["field"] == "type"


async def test_bad_requests_get_problems(api: Api, vendor: str) -> None:
    r = await api.publisher.post(
        "/api/v1/events", content=b'{"id": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        r = await anonymous.post("/api/v1/events", json={})
    assert r.status_code == 401
    r = await api.vendor(vendor).post("/api/v1/events", json={})
    assert r.status_code == 403


async def test_a_retry_stamped_with_a_new_time_is_still_a_retry(api: Api, vendor: str) -> None:
    event = {
        "id": f"evt-{uuid.uuid4().hex}",
        "type": "stock.low",
        "occurred_at": "2024-05-01T12:00:00Z",
        "data": {"vendor_id": vendor, "sku": "S", "name": "Mug", "quantity": 1},
    }
    first = await api.publisher.post("/api/v1/events", json=event)
    later = {**event, "occurred_at": "2024-05-01T12:00:09+02:00"}
    again = await api.publisher.post("/api/v1/events", json=later)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
