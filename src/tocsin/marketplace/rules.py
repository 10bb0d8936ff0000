"""Rules: which notification an event becomes, how urgent it is, and who receives it.

Every event type names one notification type and priority. Most events name
their recipient in `data.vendor_id`; an `order.created` names a vendor per
item, and each of them gets one notification with its own items and subtotal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tocsin.marketplace.schemas import MarketplaceEvent, OrderCreated
from tocsin.realtime import wire

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Rule:
    notification_type: str
    priority: str
    # A stream-only event emitted alongside the notification, if any.
    stream_event: str | None = None


RULES: dict[str, Rule] = {
    "order.created": Rule("order_created", "high"),
    "order.status_changed": Rule("order_status_changed", "normal", wire.ORDER_STATUS_UPDATE),
    "order.cancelled": Rule("order_cancelled", "high"),
    "payment.received": Rule("payment_received", "normal"),
    "payment.failed": Rule("payment_failed", "urgent"),
    "refund.requested": Rule("refund_requested", "high"),
    "payout.sent": Rule("payout_sent", "normal"),
    "review.created": Rule("review_created", "low"),
    "stock.low": Rule("stock_low", "high"),
    "message.received": Rule("message_received", "normal"),
}

NOTIFICATION_TYPES: tuple[str, ...] = tuple(rule.notification_type for rule in RULES.values())


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


def _order_created(data: OrderCreated) -> dict[str, dict[str, Any]]:
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


def _plain(data: Any) -> dict[str, Any]:
    values: dict[str, Any] = data.model_dump(mode="json")
    for name in ("amount",):
        raw = getattr(data, name, None)
        if isinstance(raw, Decimal):
            values[name] = money(raw)
    return values


def recipients(event: MarketplaceEvent) -> list[Recipient]:
    """The notifications `event` asks for, one per vendor, sorted by vendor id.

    The order is also the order in which vendor rows are locked, so two events
    for the same vendors never wait on each other in a cycle.
    """
    rule = RULES[event.type]
    meta = {
        "id": event.id,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
    }
    if isinstance(event.data, OrderCreated):
        shares = _order_created(event.data)
    else:
        plain = _plain(event.data)
        shares = {plain["vendor_id"]: plain}
    return [
        Recipient(vendor_id, rule.notification_type, rule.priority, {**share, "event": meta})
        for vendor_id, share in sorted(shares.items())
    ]


def stream_payload(event: MarketplaceEvent) -> tuple[str, str, dict[str, Any]] | None:
    """`(vendor, event name, payload)` of the stream-only event `event` emits, if any."""
    rule = RULES[event.type]
    if rule.stream_event != wire.ORDER_STATUS_UPDATE:
        return None
    data = event.data.model_dump()
    payload = {
        "order_id": data["order_id"],
        "status": data["status"],
        "previous_status": data["previous_status"],
    }
    return data["vendor_id"], rule.stream_event, payload
