"""Realistic sample notifications: what `tocsin demo` seeds and the dashboard's
"Send sample events" button fires."""

from __future__ import annotations

import random

from tocsin.notifications.service import NewNotification

CUSTOMERS = ("Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus P.")
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
