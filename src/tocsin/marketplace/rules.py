"""Rules: which notification an event becomes, how urgent it is, and who receives it.

Every event type's `Rule` (in `tocsin.marketplace.registry`) names one
notification type and priority. Most events name their recipient in
`data.vendor_id` (`one_vendor`); an `order.created` names a vendor per item
(`per_item_vendor`), and each of them gets one notification with its own items
and subtotal. A rule may also emit a stream-only event (`order_status_update`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from tocsin.fields import Priority
from tocsin.marketplace.schemas import MarketplaceEvent, OrderCreated, OrderStatusChanged
from tocsin.realtime import wire

CENT = Decimal("0.01")

# An event's `data` → each recipient vendor's template variables.
Shares = Callable[[Any], dict[str, dict[str, Any]]]
# An event's `data` → `(vendor, stream event name, payload)`.
StreamEvent = Callable[[Any], tuple[str, str, dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Recipient:
    """One vendor's share of an event: what to tell it, and the templates' variables."""

    vendor_id: str
    notification_type: str
    priority: str
    context: dict[str, Any]


def money(value: Decimal) -> str:
    """At least two decimals (`24.5` → `24.50`), more only if the amount has them."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return str(value.quantize(CENT))
    return str(value)


def per_item_vendor(data: OrderCreated) -> dict[str, dict[str, Any]]:
    """Per vendor, in order of first appearance: its items and subtotal."""
    shares: dict[str, dict[str, Any]] = {}
    totals: dict[str, Decimal] = {}
    for item in data.items:
        share = shares.setdefault(
            item.vendor_id,
            {
                "order_id": data.order_id,
                "currency": data.currency,
                "customer": data.customer.model_dump(),
                "vendor_id": item.vendor_id,
                "items": [],
            },
        )
        line = item.unit_price * item.quantity
        totals[item.vendor_id] = totals.get(item.vendor_id, Decimal(0)) + line
        share["items"].append(
            {
                "sku": item.sku,
                "name": item.name,
                "quantity": item.quantity,
                "unit_price": money(item.unit_price),
                "total": money(line),
            }
        )
    for vendor_id, share in shares.items():
        share["subtotal"] = money(totals[vendor_id])
        share["item_count"] = sum(i["quantity"] for i in share["items"])
    return shares


def one_vendor(data: BaseModel) -> dict[str, dict[str, Any]]:
    """The vendor `data.vendor_id` names, with `data` as it is (amounts as money)."""
    values: dict[str, Any] = data.model_dump(mode="json")
    for name in ("amount",):
        raw = getattr(data, name, None)
        if isinstance(raw, Decimal):
            values[name] = money(raw)
    return {values["vendor_id"]: values}


def order_status_update(data: OrderStatusChanged) -> tuple[str, str, dict[str, Any]]:
    payload = {
        "order_id": data.order_id,
        "status": data.status,
        "previous_status": data.previous_status,
    }
    return data.vendor_id, wire.ORDER_STATUS_UPDATE, payload


@dataclass(frozen=True, slots=True)
class Rule:
    notification_type: str
    priority: Priority
    shares: Shares = one_vendor
    # A stream-only event emitted alongside the notification, if any.
    stream: StreamEvent | None = None

    def recipients(self, event: MarketplaceEvent) -> list[Recipient]:
        """The notifications `event` asks for, one per vendor, sorted by vendor id.

        The order is also the order in which vendor rows are locked, so two events
        for the same vendors never wait on each other in a cycle.
        """
        meta = {
            "id": event.id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
        }
        return [
            Recipient(vendor_id, self.notification_type, self.priority, {**share, "event": meta})
            for vendor_id, share in sorted(self.shares(event.data).items())
        ]

    def stream_payload(self, event: MarketplaceEvent) -> tuple[str, str, dict[str, Any]] | None:
        """`(vendor, event name, payload)` of the stream-only event `event` emits, if any."""
        return None if self.stream is None else self.stream(event.data)
