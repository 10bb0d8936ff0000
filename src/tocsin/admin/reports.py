"""What the admin pages show: totals, vendors, the creation rate, open streams, deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.model import ListFilter, Notification, Row
from tocsin.notifications.retention import Purge, Retention
from tocsin.realtime.hub import Hub
from tocsin.storage.stores import Stores


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

    async def tables(self) -> list[Row]:
        """Each table's rows and, on PostgreSQL, bytes (with its indexes)."""
        return [
            {"table": table, "rows": rows, "bytes": size}
            for table, rows, size in await self.stores.retention.sizes()
        ]

    async def last_purge(self) -> Purge | None:
        return await self.retention.last()

    async def totals(self) -> Row:
        """Vendors, notifications and unread notifications, across all vendors."""
        return await self.stores.reports.totals()

    def streams(self) -> dict[str, int]:
        """Open streams and waiting polls per vendor, in this process."""
        return self.hub.vendors()

    async def vendors(self, limit: int) -> list[Row]:
        """Vendors with their counts and open `streams`, most recently notified first."""
        streams = self.streams()
        rows = await self.stores.reports.vendor_overview(limit)
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
        rows = await self.stores.reports.vendor_overview(1, vendor_id)
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
