"""What the admin pages show: totals, vendors, the creation rate, open streams, deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.model import ListFilter, Notification, Row
from tocsin.notifications.retention import Purge, Retention
from tocsin.realtime.hub import Hub
from tocsin.storage.retention import EXACT_UP_TO as EXACT_UP_TO
from tocsin.storage.retention import TableSize
from tocsin.storage.stores import Stores

# A vendor's notifications are counted up to this many in the overview, and on its own page.
COUNT_UP_TO = 1_000
VENDOR_COUNT_UP_TO = 100_000


@dataclass(frozen=True, slots=True)
class VendorReport:
    vendor_id: str
    vendor: Row | None  # counts and contact; None for a vendor the database does not know
    streams: int
    notifications: list[Notification]
    deliveries: list[Row]


class Reports:
    def __init__(self, stores: Stores, hub: Hub, retention: Retention) -> None:
        self.stores = stores
        self.hub = hub
        self.retention = retention

    async def tables(self) -> list[TableSize]:
        """Each table's rows (exact while small, estimated beyond) and, on PostgreSQL, bytes."""
        return await self.stores.retention.sizes()

    async def last_purge(self) -> Purge | None:
        return await self.retention.last()

    async def totals(self, tables: list[TableSize]) -> Row:
        """Vendors and notifications (from `tables`, `kind` says how exact); unread (kept)."""
        by_name = {t.table: t for t in tables}
        return {
            "vendors": by_name["vendors"],
            "notifications": by_name["notifications"],
            "unread": await self.stores.reports.unread_total(),
        }

    def streams(self) -> dict[str, int]:
        """Open streams and waiting polls per vendor, in this process."""
        return self.hub.vendors()

    async def vendors(self, limit: int, start: str = "") -> list[Row]:
        """Up to `limit` vendors by id from `start`, with their counts and open `streams`."""
        streams = self.streams()
        rows = await self.stores.reports.vendor_overview(
            limit, start=start, count_up_to=COUNT_UP_TO
        )
        for v in rows:
            v["streams"] = streams.get(v["id"], 0)
        return rows

    async def created_per_minute(self, first_minute: int, last_minute: int) -> list[int]:
        """Notifications created per minute (ms // 60000), `first_minute` to `last_minute`."""
        counts = await self.stores.reports.created_per_minute(first_minute * 60000)
        return [counts.get(m, 0) for m in range(first_minute, last_minute + 1)]

    async def vendor(
        self, vendor_id: str, *, notifications: int = 50, deliveries: int = 20
    ) -> VendorReport:
        """One vendor: counts, open streams, its newest notifications and deliveries."""
        rows = await self.stores.reports.vendor_overview(
            1, vendor_id=vendor_id, count_up_to=VENDOR_COUNT_UP_TO
        )
        return VendorReport(
            vendor_id=vendor_id,
            vendor=rows[0] if rows else None,
            streams=self.streams().get(vendor_id, 0),
            notifications=await self.stores.notifications.page(
                vendor_id, ListFilter(archived=None), before_id=None, limit=notifications
            ),
            deliveries=await self.stores.reports.recent_deliveries(deliveries, vendor_id),
        )

    async def deliveries(self, limit: int, vendor_id: str | None = None) -> list[Row]:
        """The delivery log (email, SMS), newest first."""
        return await self.stores.reports.recent_deliveries(limit, vendor_id)
