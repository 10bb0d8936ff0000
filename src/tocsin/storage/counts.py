"""SQL of kept unread counts (table `unread_counts`): per vendor and type, never recounted.

Unread means neither read nor archived. Every change to a vendor's
notifications adds its difference here in the same transaction, under the
vendor's row lock (`VendorStore.next_seq`), so a count read in that transaction
is exact and one read outside it costs a handful of rows (one per type),
whatever the vendor's history.
"""

from __future__ import annotations

from collections.abc import Mapping

from tocsin.storage.db import Database

# Text, not compiled anew on each call (see `storage.notifications`).
_ADD = (
    "INSERT INTO unread_counts (vendor_id, type, unread) VALUES (:vendor_id, :type, :delta) "
    "ON CONFLICT (vendor_id, type) DO UPDATE SET unread = unread_counts.unread + excluded.unread"
)
_TOTAL = "SELECT coalesce(sum(unread), 0) FROM unread_counts WHERE vendor_id = :vendor_id"
_BY_TYPE = "SELECT type, unread FROM unread_counts WHERE vendor_id = :vendor_id AND unread > 0"


class CountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, vendor_id: str, deltas: Mapping[str, int]) -> int:
        """Add `deltas` (type → change) to the vendor's counts; its new total."""
        for kind, delta in deltas.items():
            if delta:
                await self.db.run(_ADD, {"vendor_id": vendor_id, "type": kind, "delta": delta})
        return await self.total(vendor_id)

    async def total(self, vendor_id: str) -> int:
        return int(await self.db.value(_TOTAL, {"vendor_id": vendor_id}) or 0)

    async def by_type(self, vendor_id: str) -> dict[str, int]:
        rows = await self.db.rows(_BY_TYPE, {"vendor_id": vendor_id})
        return {r[0]: int(r[1]) for r in rows}
