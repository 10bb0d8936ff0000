"""The marketplace event types, one entry each; all else about an event type derives from here.

An `EventType` holds the model its `data` is checked against, its rule (the
notification type, priority, recipients and stream event), a valid sample of
its `data`, and the channels its notifications use until a vendor chooses
otherwise. Its templates are `<notification type>.txt` (and `.html`) in
`templates/notifications/`.

Derived from `EVENTS`: the event types `POST /api/v1/events` accepts, the
notification types (and so the preferences' types and defaults), the
templates checked at start-up with each sample, and the samples of `tocsin
send-event --sample` and the admin's event form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from tocsin.delivery import channels
from tocsin.errors import ValidationFailed
from tocsin.fields import validation_failed
from tocsin.marketplace import schemas as s
from tocsin.marketplace.rules import Recipient, Rule, order_status_update, per_item_vendor


@dataclass(frozen=True, slots=True)
class Escalation:
    """Unseen for `push_after_s` → a push; still unseen at `sms_after_s` → an SMS.

    Both count from the notification's creation; either may be None (that step is left out).
    """

    push_after_s: int | None
    sms_after_s: int | None

    def to_wire(self) -> dict[str, int | None]:
        return {"push_after_s": self.push_after_s, "sms_after_s": self.sms_after_s}

    def steps(self) -> dict[str, int]:
        """Channel → seconds after creation, for the steps it has."""
        delays = {"push": self.push_after_s, "sms": self.sms_after_s}
        return {channel: s for channel, s in delays.items() if s is not None}


# New orders and failed payments escalate until a vendor says otherwise.
ESCALATE = Escalation(push_after_s=60, sms_after_s=900)
EMAIL_MODES: tuple[str, ...] = ("instant", "hourly", "daily")


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    schema: type[BaseModel]
    rule: Rule
    sample: Mapping[str, Any]
    # Channel → on, where this type differs from the channel's default.
    channels: Mapping[str, bool] = field(default_factory=dict)
    escalate: Escalation | None = None

    @property
    def notification_type(self) -> str:
        return self.rule.notification_type

    @property
    def templates(self) -> tuple[str, ...]:
        """The template files its notifications are rendered with."""
        kind = self.rule.notification_type
        return (f"{kind}.txt", f"{kind}.html") if channels.HTML else (f"{kind}.txt",)

    @property
    def defaults(self) -> dict[str, bool]:
        """Channel → on, for every channel, until a vendor chooses otherwise."""
        return {c.name: self.channels.get(c.name, c.default) for c in channels.CHANNELS}

    @property
    def options(self) -> dict[str, Any]:
        """The preferences beyond on/off, in their wire form: email digest mode, escalation."""
        escalate = None if self.escalate is None else self.escalate.to_wire()
        return {"email_mode": "instant", "escalate": escalate}


# What a vendor gets until it says otherwise: everything in the app (each
# channel's default); mail, and a push to the browsers it subscribed, for what
# needs acting on; SMS only when money is at stake right now.
_MAIL = {"email": True, "push": True}

_ORDER = {"order_id": "1042", "vendor_id": "acme-tools"}
_PAYMENT = {**_ORDER, "amount": "49.00", "currency": "EUR"}

EVENTS: Mapping[str, EventType] = {
    e.name: e
    for e in (
        EventType(
            "order.created",
            s.OrderCreated,
            Rule("order_created", "high", per_item_vendor),
            {
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
            _MAIL,
            ESCALATE,
        ),
        EventType(
            "order.status_changed",
            s.OrderStatusChanged,
            Rule("order_status_changed", "normal", stream=order_status_update),
            {**_ORDER, "status": "shipped", "previous_status": "paid"},
        ),
        EventType(
            "order.cancelled",
            s.OrderCancelled,
            Rule("order_cancelled", "high"),
            {**_ORDER, "reason": "out of stock"},
            _MAIL,
        ),
        EventType(
            "payment.received",
            s.Payment,
            Rule("payment_received", "normal"),
            _PAYMENT,
        ),
        EventType(
            "payment.failed",
            s.PaymentFailed,
            Rule("payment_failed", "urgent"),
            {**_PAYMENT, "reason": "card declined"},
            {**_MAIL, "sms": True},
            ESCALATE,
        ),
        EventType(
            "refund.requested",
            s.RefundRequested,
            Rule("refund_requested", "high"),
            {**_PAYMENT, "amount": "24.50", "reason": "arrived damaged"},
            _MAIL,
        ),
        EventType(
            "payout.sent",
            s.PayoutSent,
            Rule("payout_sent", "normal"),
            {
                "payout_id": "po_77",
                "vendor_id": "acme-tools",
                "amount": "1234.56",
                "currency": "EUR",
            },
            _MAIL,
        ),
        EventType(
            "review.created",
            s.ReviewCreated,
            Rule("review_created", "low"),
            {
                "review_id": "r_5",
                "vendor_id": "acme-tools",
                "product": "Walnut cutting board",
                "rating": 5,
                "customer": {"name": "Grace Hopper"},
                "comment": "Lovely grain & finish.",
            },
        ),
        EventType(
            "stock.low",
            s.StockLow,
            Rule("stock_low", "high"),
            {
                "vendor_id": "acme-tools",
                "sku": "SKU-1",
                "name": "Walnut cutting board",
                "quantity": 2,
                "threshold": 5,
            },
            _MAIL,
        ),
        EventType(
            "message.received",
            s.MessageReceived,
            Rule("message_received", "normal"),
            {
                "message_id": "m_3",
                "vendor_id": "acme-tools",
                "sender": "Alan Turing",
                "subject": "Custom size?",
                "text": "Could you make the board 40 cm long?",
            },
            _MAIL,
        ),
    )
}

NOTIFICATION_TYPES: tuple[str, ...] = tuple(e.notification_type for e in EVENTS.values())
# Notification type → its preferences until a vendor chooses otherwise, in the wire
# form: channel → on, `email_mode`, `escalate`.
DEFAULTS: Mapping[str, Mapping[str, Any]] = {
    e.notification_type: {**e.defaults, **e.options} for e in EVENTS.values()
}


def get(event_type: str) -> EventType:
    """The entry of `event_type`; 422 naming the known types if there is none."""
    entry = EVENTS.get(event_type)
    if entry is None:
        known = ", ".join(EVENTS)
        raise ValidationFailed(
            f"unknown event type {event_type!r}; known types: {known}",
            errors=[{"field": "type", "message": f"must be one of: {known}"}],
        )
    return entry


def parse(envelope: s.Envelope) -> s.MarketplaceEvent:
    """Check `envelope.data` against the model of its type; 422 naming the field if not."""
    model = get(envelope.type).schema
    try:
        # Through JSON again, so strict mode accepts what JSON can carry (dates, decimals).
        data = model.model_validate_json(json.dumps(envelope.data), strict=True)
    except ValidationError as exc:
        raise validation_failed(exc, prefix="data.") from None
    return s.MarketplaceEvent(
        id=envelope.id,
        type=envelope.type,
        occurred_at=envelope.occurred_at,
        data=data,
        digest=s.digest(envelope),
    )


def sample_event(event_type: str, event_id: str = "sample") -> s.MarketplaceEvent:
    """`event_type`'s sample as a parsed event."""
    envelope = s.Envelope.model_validate(
        {
            "id": event_id,
            "type": event_type,
            "occurred_at": "2024-01-01T00:00:00Z",
            "data": dict(get(event_type).sample),
        }
    )
    return parse(envelope)


def recipients(event: s.MarketplaceEvent) -> list[Recipient]:
    """The notifications `event` asks for, one per vendor, sorted by vendor id."""
    return EVENTS[event.type].rule.recipients(event)


def stream_payload(event: s.MarketplaceEvent) -> tuple[str, str, dict[str, Any]] | None:
    """`(vendor, event name, payload)` of the stream-only event `event` emits, if any."""
    return EVENTS[event.type].rule.stream_payload(event)
