"""SQL of the outbox (table `outbox`): stream events committed with their change, to relay."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import OutboxRecord
from tocsin.storage.db import Database
from tocsin.storage.schema import outbox

OB = outbox.c

# On the publish path: text, not compiled anew on each call (see `storage.notifications`).
_INSERT = (
    "INSERT INTO outbox (vendor_id, seq, event, payload, created_at) "
    "VALUES (:vendor_id, :seq, :event, :payload, :created_at)"
)


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, vendor_id: str, seq: int, event: str, payload: str) -> None:
        await self.db.execute(
            _INSERT,
            {
                "vendor_id": vendor_id,
                "seq": seq,
                "event": event,
                "payload": payload,
                "created_at": now_ms(),
            },
        )

    async def pending(self, limit: int) -> list[OutboxRecord]:
        rows = await self.db.fetch_all(sa.select(outbox).order_by(OB.id).limit(limit))
        return [OutboxRecord(**dict(r._mapping)) for r in rows]

    async def has(self, vendor_id: str, seq: int) -> bool:
        row = await self.db.fetch_one(
            sa.select(OB.id).where(OB.vendor_id == vendor_id, OB.seq == seq)
        )
        return row is not None

    async def delete(self, ids: Sequence[int]) -> None:
        if ids:
            async with self.db.transaction():
                await self.db.execute(outbox.delete().where(OB.id.in_(list(ids))))
