"""SQL of vendors (table `vendors`): event sequence numbers and contact addresses."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.storage.db import Database
from tocsin.storage.schema import vendors

V = vendors.c

# On the publish path: text, not compiled anew on each call (see `storage.notifications`).
_NEXT_SEQ = (
    "INSERT INTO vendors (id, seq, created_at) VALUES (:vendor_id, 1, :now) "
    "ON CONFLICT (id) DO UPDATE SET seq = vendors.seq + 1 RETURNING seq"
)

Contact = tuple[str | None, str | None]


class VendorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def next_seq(self, vendor_id: str) -> int:
        """Lock the vendor's row (creating it) and take its next event sequence number."""
        value = await self.db.value(_NEXT_SEQ, {"vendor_id": vendor_id, "now": now_ms()})
        return int(value)

    async def ensure(self, vendor_id: str) -> None:
        """Create the vendor's row if there is none (no sequence number is taken)."""
        await self.db.run(
            "INSERT INTO vendors (id, seq, created_at) VALUES (:vendor_id, 0, :now) "
            "ON CONFLICT (id) DO NOTHING",
            {"vendor_id": vendor_id, "now": now_ms()},
        )

    async def set_contact(self, vendor_id: str, email: str | None, phone: str | None) -> None:
        await self.db.execute(
            "INSERT INTO vendors (id, email, phone, seq, created_at) "
            "VALUES (:vendor_id, :email, :phone, 0, :now) "
            "ON CONFLICT (id) DO UPDATE SET email = :email, phone = :phone",
            {"vendor_id": vendor_id, "email": email, "phone": phone, "now": now_ms()},
        )

    async def contacts(self, vendor_ids: Sequence[str]) -> dict[str, Contact]:
        """`vendor → (email, phone)` for the vendors that have a row."""
        rows = await self.db.fetch_all(
            sa.select(V.id, V.email, V.phone).where(V.id.in_(list(vendor_ids)))
        )
        return {r[0]: (r[1], r[2]) for r in rows}
