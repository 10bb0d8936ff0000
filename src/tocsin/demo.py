"""`tocsin demo`: a few vendors with realistic notifications, and how to look at them."""

from __future__ import annotations

import random

from tocsin.credentials import mint
from tocsin.notifications.service import NewNotification
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.storage import migrate

VENDORS = ("acme-tools", "blue-bottle", "cedar-crafts")
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


async def seed(settings: Settings, base_url: str) -> None:
    """Create the demo vendors' notifications (idempotent) and print how to see them."""
    migrate.upgrade(settings.database_url)
    rt = Runtime.build(settings)
    await rt.start(workers=False)
    try:
        rng = random.Random(7)
        for vendor_id in VENDORS:
            for new in samples(vendor_id, rng):
                await rt.service.create(vendor_id, new)
        await rt.relay.drain()
    finally:
        await rt.stop()
    print("Demo vendors and their notifications are ready.\n")
    for vendor_id in VENDORS:
        token, _ = mint(settings, vendor_id, 12 * 3600)
        print(f"{vendor_id}:")
        print(f"  dashboard: {base_url}/dashboard/login?token={token}")
        print(f"  curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/notifications\n")
