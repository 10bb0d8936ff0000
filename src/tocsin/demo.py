"""`tocsin demo`: a few vendors with realistic notifications, and how to look at them."""

from __future__ import annotations

import random

from tocsin.credentials import mint
from tocsin.notifications.samples import samples
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.storage import migrate

VENDORS = ("acme-tools", "blue-bottle", "cedar-crafts")


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
