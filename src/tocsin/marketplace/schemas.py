"""Marketplace events: the envelope posted to `POST /api/v1/events` and a schema per type.

An event is `{"id", "type", "occurred_at", "data"}`; `data` is checked against
the model of its `type` (`EVENT_TYPES`), so a missing or wrong field is a 422
that names it (`data.items.0.unit_price`). `SAMPLES` holds a valid `data` per
type: the templates are rendered with them at start-up, and `tocsin
send-event --sample` posts them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints, ValidationError

from tocsin.errors import ValidationFailed
from tocsin.fields import Strict, Text, VendorId, validation_failed

# At most 128 characters: `evt:<id>:<vendor>` must fit a 200-character dedupe key.
EventId = Annotated[Text, StringConstraints(min_length=1, max_length=128)]
Ref = Annotated[Text, StringConstraints(min_length=1, max_length=100)]
Name = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[Text, StringConstraints(max_length=2000)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4, allow_inf_nan=False)]
Status = Annotated[Text, StringConstraints(min_length=1, max_length=50)]


class Envelope(Strict):
    id: EventId
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    occurred_at: AwareDatetime
    data: dict[str, Any]


class Customer(Strict):
    name: Name


class Item(Strict):
    vendor_id: VendorId
    sku: Ref
    name: Name
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    unit_price: Money


class OrderCreated(Strict):
    order_id: Ref
    currency: Currency
    customer: Customer
    items: Annotated[list[Item], Field(min_length=1, max_length=1000)]


class OrderStatusChanged(Strict):
    order_id: Ref
    vendor_id: VendorId
    status: Status
    previous_status: Status | None = None


class OrderCancelled(Strict):
    order_id: Ref
    vendor_id: VendorId
    reason: Note = ""


class Payment(Strict):
    order_id: Ref
    vendor_id: VendorId
    amount: Money
    currency: Currency


class PaymentFailed(Payment):
    reason: Note = ""


class RefundRequested(Payment):
    reason: Note = ""


class PayoutSent(Strict):
    payout_id: Ref
    vendor_id: VendorId
    amount: Money
    currency: Currency


class ReviewCreated(Strict):
    review_id: Ref
    vendor_id: VendorId
    product: Name
    rating: Annotated[int, Field(ge=1, le=5)]
    customer: Customer | None = None
    comment: Note = ""


class StockLow(Strict):
    vendor_id: VendorId
    sku: Ref
    name: Name
    quantity: Annotated[int, Field(ge=0)]
    threshold: Annotated[int, Field(ge=0)] | None = None


class MessageReceived(Strict):
    message_id: Ref
    vendor_id: VendorId
    sender: Name
    subject: Annotated[Text, StringConstraints(max_length=200)] = ""
    text: Note


EVENT_TYPES: dict[str, type[BaseModel]] = {
    "order.created": OrderCreated,
    "order.status_changed": OrderStatusChanged,
    "order.cancelled": OrderCancelled,
    "payment.received": Payment,
    "payment.failed": PaymentFailed,
    "refund.requested": RefundRequested,
    "payout.sent": PayoutSent,
    "review.created": ReviewCreated,
    "stock.low": StockLow,
    "message.received": MessageReceived,
}

SAMPLES: dict[str, dict[str, Any]] = {
    "order.created": {
        "order_id": "1042",
        "currency": "EUR",
        "customer": {"name": "Ada Lovelace"},
        "items": [
            {
                "vendor_id": "acme-tools",
                "sku": "SKU-1",
                "name": "Walnut cutting board",
                "quantity": 2,
                "unit_price": "24.50",
            },
            {
                "vendor_id": "blue-bottle",
                "sku": "SKU-9",
                "name": "Ceramic mug",
                "quantity": 1,
                "unit_price": "12.00",
            },
        ],
    },
    "order.status_changed": {
        "order_id": "1042",
        "vendor_id": "acme-tools",
        "status": "shipped",
        "previous_status": "paid",
    },
    "order.cancelled": {"order_id": "1042", "vendor_id": "acme-tools", "reason": "out of stock"},
    "payment.received": {
        "order_id": "1042",
        "vendor_id": "acme-tools",
        "amount": "49.00",
        "currency": "EUR",
    },
    "payment.failed": {
        "order_id": "1042",
        "vendor_id": "acme-tools",
        "amount": "49.00",
        "currency": "EUR",
        "reason": "card declined",
    },
    "refund.requested": {
        "order_id": "1042",
        "vendor_id": "acme-tools",
        "amount": "24.50",
        "currency": "EUR",
        "reason": "arrived damaged",
    },
    "payout.sent": {
        "payout_id": "po_77",
        "vendor_id": "acme-tools",
        "amount": "1234.56",
        "currency": "EUR",
    },
    "review.created": {
        "review_id": "r_5",
        "vendor_id": "acme-tools",
        "product": "Walnut cutting board",
        "rating": 5,
        "customer": {"name": "Grace Hopper"},
        "comment": "Lovely grain & finish.",
    },
    "stock.low": {
        "vendor_id": "acme-tools",
        "sku": "SKU-1",
        "name": "Walnut cutting board",
        "quantity": 2,
        "threshold": 5,
    },
    "message.received": {
        "message_id": "m_3",
        "vendor_id": "acme-tools",
        "sender": "Alan Turing",
        "subject": "Custom size?",
        "text": "Could you make the board 40 cm long?",
    },
}


@dataclass(frozen=True, slots=True)
class MarketplaceEvent:
    """A validated event: `data` is the model of its `type`."""

    id: str
    type: str
    occurred_at: datetime
    data: BaseModel
    digest: str


def digest(envelope: Envelope) -> str:
    """sha256 of the event's type and data: tells a retry from a reused id.

    `occurred_at` is left out: a sender that stamps the time when it sends
    would otherwise turn its own retries into conflicts.
    """
    canonical = json.dumps(
        {"type": envelope.type, "data": envelope.data},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse(envelope: Envelope) -> MarketplaceEvent:
    """Check `envelope.data` against the model of its type; 422 naming the field if not."""
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        known = ", ".join(EVENT_TYPES)
        raise ValidationFailed(
            f"unknown event type {envelope.type!r}; known types: {known}",
            errors=[{"field": "type", "message": f"must be one of: {known}"}],
        )
    try:
        # Through JSON again, so strict mode accepts what JSON can carry (dates, decimals).
        data = model.model_validate_json(json.dumps(envelope.data), strict=True)
    except ValidationError as exc:
        raise validation_failed(exc, prefix="data.") from None
    return MarketplaceEvent(
        id=envelope.id,
        type=envelope.type,
        occurred_at=envelope.occurred_at,
        data=data,
        digest=digest(envelope),
    )
