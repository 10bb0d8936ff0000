"""Marketplace events: the envelope posted to `POST /api/v1/events` and the models of `data`.

An event is `{"id", "type", "occurred_at", "data"}`; `tocsin.marketplace.registry`
names the model of each `type` and checks `data` against it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from tocsin.fields import Line, Strict, Text, VendorId

# At most 128 characters: `evt:<id>:<vendor>` must fit a 200-character dedupe key.
EventId = Annotated[Line, StringConstraints(min_length=1, max_length=128)]
Ref = Annotated[Line, StringConstraints(min_length=1, max_length=100)]
Name = Annotated[Line, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[Text, StringConstraints(max_length=2000)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=4, allow_inf_nan=False)]
Status = Annotated[Line, StringConstraints(min_length=1, max_length=50)]


class Envelope(Strict):
    id: EventId
    type: Annotated[Line, StringConstraints(min_length=1, max_length=64)]
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
    subject: Annotated[Line, StringConstraints(max_length=200)] = ""
    text: Note


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
