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
# PostgreSQL: `_ADD` of one type and the new total. The outer query sees the other
# types' rows as they were (unchanged) and the changed one through the CTE.
_ADD_TOTAL = (
    f"WITH up AS ({_ADD} RETURNING unread) "
    "SELECT (SELECT unread FROM up) + coalesce((SELECT sum(unread) FROM unread_counts "
    "WHERE vendor_id = :vendor_id AND type <> :type), 0)"
)
_TOTAL = "SELECT coalesce(sum(unread), 0) FROM unread_counts WHERE vendor_id = :vendor_id"
_BY_TYPE = "SELECT type, unread FROM unread_counts WHERE vendor_id = :vendor_id AND unread > 0"


class CountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, vendor_id: str, deltas: Mapping[str, int]) -> int:
        """Add `deltas` (type → change) to the vendor's counts; its new total."""
        changes = [(kind, delta) for kind, delta in deltas.items() if delta]
        if len(changes) == 1 and self.db.dialect == "postgresql":
            # A create's change, and its total, in one round trip.
            kind, delta = changes[0]
            params = {"vendor_id": vendor_id, "type": kind, "delta": delta}
            return int(await self.db.value(_ADD_TOTAL, params))
        for kind, delta in changes:
            await self.db.run(_ADD, {"vendor_id": vendor_id, "type": kind, "delta": delta})
        return await self.total(vendor_id)

    async def total(self, vendor_id: str) -> int:
        return int(await self.db.value(_TOTAL, {"vendor_id": vendor_id}) or 0)

    async def by_type(self, vendor_id: str) -> dict[str, int]:
        rows = await self.db.rows(_BY_TYPE, {"vendor_id": vendor_id})
        return {r[0]: int(r[1]) for r in rows}
