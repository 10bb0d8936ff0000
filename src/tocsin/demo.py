"""`tocsin demo`: a few vendors with realistic notifications, and how to look at them."""

from __future__ import annotations

import itertools
import random
import time

from tocsin._ids import now_ms
from tocsin.credentials import mint
from tocsin.notifications.samples import history, samples
from tocsin.notifications.service import NotificationService
from tocsin.runtime import Runtime
from tocsin.settings import Settings
from tocsin.storage import migrate
from tocsin.storage.stores import Stores

VENDORS = ("acme-tools", "blue-bottle", "cedar-crafts")
# Rows per transaction when filling one vendor.
FILL_CHUNK = 20_000


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


async def fill(settings: Settings, vendor_id: str, count: int, *, seed: int = 7) -> float:
    """Give `vendor_id` `count` more notifications of the last 60 days, in bulk; seconds taken.

    Rows go in `FILL_CHUNK` at a time (COPY on PostgreSQL, `executemany` on
    SQLite), each chunk in one transaction with its kept unread counts.
    """
    migrate.upgrade(settings.database_url)
    stores = Stores(settings.database_url)
    await stores.connect()
    started = time.monotonic()
    try:
        service = NotificationService(stores)
        rows = history(vendor_id, count, random.Random(seed), now_ms=now_ms())
        while chunk := list(itertools.islice(rows, FILL_CHUNK)):
            await service.import_many(vendor_id, chunk)
    finally:
        await stores.disconnect()
    return time.monotonic() - started


async def fill_and_print(settings: Settings, base_url: str, vendor_id: str, count: int) -> None:
    seconds = await fill(settings, vendor_id, count)
    print(f"{vendor_id}: {count} notifications added in {seconds:.1f} s.")
    token, _ = mint(settings, vendor_id, 12 * 3600)
    print(f"  dashboard: {base_url}/dashboard/login?token={token}")
