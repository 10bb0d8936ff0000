"""Rules: who gets which notification from an event, and the stream event it emits (no server)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tocsin.marketplace import registry
from tocsin.marketplace.rules import money
from tocsin.marketplace.schemas import Envelope, MarketplaceEvent
from tocsin.realtime import wire


def event(event_type: str, data: dict[str, Any], event_id: str = "e1") -> MarketplaceEvent:
    return registry.parse(
        Envelope.model_validate(
            {
                "id": event_id,
                "type": event_type,
                "occurred_at": "2024-05-01T12:30:00+00:00",
                "data": data,
            }
        )
    )


def item(vendor_id: str, sku: str, quantity: int, unit_price: str) -> dict[str, Any]:
    return {
        "vendor_id": vendor_id,
        "sku": sku,
        "name": f"Thing {sku}",
        "quantity": quantity,
        "unit_price": unit_price,
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [("24.5", "24.50"), ("3", "3.00"), ("0", "0.00"), ("1.005", "1.005"), ("12.3400", "12.3400")],
)
def test_money_has_at_least_two_decimals_and_keeps_more(value: str, shown: str) -> None:
    assert money(Decimal(value)) == shown


def test_an_order_gives_each_vendor_its_own_items_and_subtotal_sorted_by_vendor() -> None:
    data = {
        "order_id": "7",
        "currency": "EUR",
        "customer": {"name": "Ada"},
        "items": [
            item("zeta", "Z1", 1, "5"),
            item("alpha", "A1", 2, "24.5"),
            item("zeta", "Z2", 3, "1.25"),
        ],
    }
    alpha, zeta = registry.recipients(event("order.created", data))
    assert (alpha.vendor_id, zeta.vendor_id) == ("alpha", "zeta")
    assert alpha.notification_type == "order_created"
    assert alpha.priority == "high"
    assert [i["sku"] for i in zeta.context["items"]] == ["Z1", "Z2"]
    assert zeta.context["subtotal"] == "8.75"
    assert zeta.context["item_count"] == 4
    assert alpha.context["items"] == [
        {"sku": "A1", "name": "Thing A1", "quantity": 2, "unit_price": "24.50", "total": "49.00"}
    ]
    assert alpha.context["subtotal"] == "49.00"
    assert alpha.context["customer"] == {"name": "Ada"}


def test_other_events_reach_the_vendor_they_name_with_amounts_as_money() -> None:
    data = {"order_id": "9", "vendor_id": "acme", "amount": "7", "currency": "USD"}
    [recipient] = registry.recipients(event("payment.failed", data, "pay-9"))
    assert recipient.vendor_id == "acme"
    assert (recipient.notification_type, recipient.priority) == ("payment_failed", "urgent")
    assert recipient.context["amount"] == "7.00"
    assert recipient.context["reason"] == ""
    assert recipient.context["event"] == {
        "id": "pay-9",
        "type": "payment.failed",
        "occurred_at": "2024-05-01T12:30:00Z",
    }


def test_a_status_change_also_emits_an_order_status_update() -> None:
    data = {"order_id": "5", "vendor_id": "acme", "status": "shipped", "previous_status": None}
    assert registry.stream_payload(event("order.status_changed", data)) == (
        "acme",
        wire.ORDER_STATUS_UPDATE,
        {"order_id": "5", "status": "shipped", "previous_status": None},
    )


@pytest.mark.parametrize("event_type", [t for t in registry.EVENTS if t != "order.status_changed"])
def test_no_other_event_type_emits_a_stream_only_event(event_type: str) -> None:
    assert registry.stream_payload(registry.sample_event(event_type)) is None
