"""Realistic sample notifications: what `tocsin demo` seeds and the dashboard's
"Send sample events" button fires."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from typing import Any

from tocsin._ids import notification_id_at
from tocsin.model import Notification
from tocsin.notifications.service import NewNotification

CUSTOMERS = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus P.")
# A publisher's own notification (`POST /vendors/{v}/notifications`): templates are
# checked against it at start-up, and tests render it.
_ANNOUNCEMENT = Notification(
    id="01J00000000000000000000000",
    vendor_id="acme-tools",
    type="announcement",
    title="Shop maintenance tonight",
    body="The shop is closed from 22:00 to 23:00.",
    data={},
    priority="normal",
    link="/news/1",
    created_at=0,
    read_at=None,
    seen_at=None,
    archived_at=None,
    dedupe_key=None,
)


def announcement(**changes: Any) -> Notification:
    """A sample of a publisher's own notification, with `changes` to its fields."""
    return dataclasses.replace(_ANNOUNCEMENT, **changes)


PRODUCTS = ("walnut cutting board", "cast-iron skillet", "linen apron", "ceramic mug", "oak shelf")


def samples(vendor_id: str, rng: random.Random) -> list[NewNotification]:
    out: list[NewNotification] = []
    for n in range(1, 6):
        order = f"{rng.randint(10000, 99999)}"
        customer = rng.choice(CUSTOMERS)
        product = rng.choice(PRODUCTS)
        amount = f"{rng.randint(12, 240)}.{rng.randint(0, 99):02d}"
        out.append(
            NewNotification(
                type="order_created",
                title=f"New order #{order}",
                body=f"{customer} ordered {n} x {product} (EUR {amount}).",
                data={"order_id": order, "subtotal": amount, "currency": "EUR"},
                priority="high",
                link=f"/orders/{order}",
                dedupe_key=f"demo-{vendor_id}-order-{n}",
            )
        )
        out.append(
            NewNotification(
                type="payment_received",
                title=f"Payment received for order #{order}",
                body=f"EUR {amount} from {customer}.",
                data={"order_id": order, "amount": amount, "currency": "EUR"},
                dedupe_key=f"demo-{vendor_id}-payment-{n}",
            )
        )
    out.append(
        NewNotification(
            type="payment_failed",
            title="A payment failed",
            body="The card of Alan Turing was declined for order #31337.",
            priority="urgent",
            dedupe_key=f"demo-{vendor_id}-failed",
        )
    )
    return out


# A vendor's history, for `tocsin demo --vendor NAME --count N`: (type, priority, weight).
_KINDS = (
    ("order_created", "high", 40),
    ("payment_received", "normal", 30),
    ("order_shipped", "normal", 15),
    ("review_received", "low", 8),
    ("low_stock", "normal", 5),
    ("payment_failed", "urgent", 2),
)
DAY_MS = 86_400_000


def _text(kind: str, order: int, customer: str, product: str, amount: str) -> tuple[str, str]:
    if kind == "order_created":
        return f"New order #{order}", f"{customer} ordered a {product} (EUR {amount})."
    if kind == "payment_received":
        return f"Payment received for order #{order}", f"EUR {amount} from {customer}."
    if kind == "order_shipped":
        return f"Order #{order} shipped", f"The {product} is on its way to {customer}."
    if kind == "review_received":
        return f"New review of the {product}", f"{customer} left a review of order #{order}."
    if kind == "low_stock":
        return f"Low stock: {product}", f"Only a few of the {product} are left."
    return "A payment failed", f"The card of {customer} was declined for order #{order}."


def history(
    vendor_id: str, count: int, rng: random.Random, *, now_ms: int, days: int = 60
) -> Iterator[Notification]:
    """`count` notifications of the last `days`, oldest first, read, archived and unread
    as a real inbox is: nearly everything older than a few days read (some archived),
    about half of the newest still unread."""
    kinds = [k for k, _, _ in _KINDS]
    weights = [w for _, _, w in _KINDS]
    priority = {k: p for k, p, _ in _KINDS}
    start = now_ms - days * DAY_MS
    step = days * DAY_MS / max(count, 1)
    recent = now_ms - 3 * DAY_MS
    for i, kind in enumerate(rng.choices(kinds, weights, k=count)):
        created = int(start + i * step)
        order = 10_000 + i
        title, body = _text(
            kind,
            order,
            rng.choice(CUSTOMERS),
            rng.choice(PRODUCTS),
            f"{rng.randint(12, 240)}.{rng.randint(0, 99):02d}",
        )
        unread_chance = 0.5 if created >= recent else 0.04
        roll = rng.random()
        read_at = archived_at = seen_at = None
        if roll >= unread_chance:
            read_at = created + rng.randint(60_000, DAY_MS)
            seen_at = created + rng.randint(1_000, 60_000)
            if roll > 0.9:
                archived_at = read_at + rng.randint(60_000, DAY_MS)
        yield Notification(
            id=notification_id_at(created, rng.getrandbits(80)),
            vendor_id=vendor_id,
            type=kind,
            title=title,
            body=body,
            data={"order_id": str(order)},
            priority=priority[kind],
            link=f"/orders/{order}",
            created_at=created,
            read_at=read_at,
            seen_at=seen_at,
            archived_at=archived_at,
            dedupe_key=None,
        )
