"""SQL of the outbox (table `outbox`): stream events committed with their change, to relay."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import OutboxRecord
from tocsin.storage import _raw
from tocsin.storage.db import Database
from tocsin.storage.schema import outbox

OB = outbox.c

# On the publish path: text, not compiled anew on each call (see `storage.notifications`).
_INSERT = (
    "INSERT INTO outbox (vendor_id, seq, event, payload, created_at) "
    "VALUES (:vendor_id, :seq, :event, :payload, :created_at)"
)

_PENDING = (
    "SELECT id, vendor_id, seq, event, payload, created_at FROM outbox ORDER BY id LIMIT :limit"
)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, vendor_id: str, seq: int, event: str, payload: str) -> None:
        await self.db.run(
            _INSERT,
            {
                "vendor_id": vendor_id,
                "seq": seq,
                "event": event,
                "payload": payload,
                "created_at": now_ms(),
            },
        )

    def connection(self) -> contextlib.AbstractAsyncContextManager[object]:
        """One connection for a relay pass (SQLite opens one per query otherwise)."""
        return self.db.connection()

    async def pending(self, limit: int) -> list[OutboxRecord]:
        rows = await self.db.rows(_PENDING, {"limit": limit})
        return [OutboxRecord(*r) for r in rows]

    async def has(self, vendor_id: str, seq: int) -> bool:
        row = await self.db.fetch_one(
            sa.select(OB.id).where(OB.vendor_id == vendor_id, OB.seq == seq)
        )
        return row is not None

    async def delete(self, ids: Sequence[int]) -> None:
        if ids:
            async with self.db.transaction():
                for start in range(0, len(ids), 500):
                    where, params = _raw.among("id", "o", ids[start : start + 500])
                    await self.db.run(f"DELETE FROM outbox WHERE {where}", params)
