"""SQL of the embedded event log (table `event_log`): append, read, bounds, trim."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tocsin.model import OutboxRecord, Row
from tocsin.storage import _raw
from tocsin.storage.db import Database
from tocsin.storage.schema import event_log

L = event_log.c

_INSERT = (
    "INSERT INTO event_log (vendor_id, seq, event, payload, created_at) "
    "VALUES (:vendor_id, :seq, :event, :payload, :created_at) "
    "ON CONFLICT (vendor_id, seq) DO NOTHING RETURNING seq"
)
_TRIM = "DELETE FROM event_log WHERE vendor_id = :vendor_id AND seq <= :upto"


class LogTable:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(self, records: Sequence[OutboxRecord], keep_events: int) -> list[bool]:
        """Insert `records` idempotently, deleting their outbox rows; per record, whether new.

        The embedded log and the outbox share one database: the relay's delete
        commits with the append, one transaction (and one sync) per relay pass.
        Each vendor keeps its newest `keep_events` events (trimming by age is `trim`'s).
        """
        newest: dict[str, int] = {}
        for rec in records:
            newest[rec.vendor_id] = max(rec.seq, newest.get(rec.vendor_id, 0))
        added: list[bool] = []
        async with self.db.transaction():
            for rec in records:
                seq = await self.db.value(
                    _INSERT,
                    {
                        "vendor_id": rec.vendor_id,
                        "seq": rec.seq,
                        "event": rec.event,
                        "payload": rec.payload,
                        "created_at": rec.created_at,
                    },
                )
                added.append(seq is not None)
            for vendor_id, top in newest.items():
                if top > keep_events:
                    await self.db.run(_TRIM, {"vendor_id": vendor_id, "upto": top - keep_events})
            for start in range(0, len(records), 500):
                where, ids = _raw.among("id", "o", [r.id for r in records[start : start + 500]])
                await self.db.run(f"DELETE FROM outbox WHERE {where}", ids)
        return added

    async def read(self, vendor_id: str, after_seq: int, limit: int) -> list[Row]:
        query = (
            sa.select(L.seq, L.event, L.payload)
            .where(L.vendor_id == vendor_id, L.seq > after_seq)
            .order_by(L.seq)
            .limit(limit)
        )
        return [dict(r._mapping) for r in await self.db.fetch_all(query)]

    async def bounds(self, vendor_id: str) -> tuple[int, int]:
        """`(first, last)` sequence numbers of the vendor's events, `(0, 0)` when none."""
        row = await self.db.fetch_one(
            sa.select(sa.func.min(L.seq), sa.func.max(L.seq)).where(L.vendor_id == vendor_id)
        )
        if row is None or row[1] is None:
            return 0, 0
        return int(row[0]), int(row[1])

    async def trim(self, *, keep_events: int, older_than_ms: int) -> int:
        """Drop events past the retention (per vendor count, and age); how many went."""
        async with self.db.transaction():
            newest = (
                sa.select(L.vendor_id, sa.func.max(L.seq).label("top"))
                .group_by(L.vendor_id)
                .subquery()
            )
            by_count = event_log.delete().where(
                L.seq
                <= sa.select(newest.c.top - keep_events)
                .where(newest.c.vendor_id == L.vendor_id)
                .scalar_subquery()
            )
            gone = await self.db.execute(by_count)
            # The newest event of a vendor stays: it is the position new streams start from.
            by_age = event_log.delete().where(
                L.created_at < older_than_ms,
                L.seq
                < sa.select(newest.c.top)
                .where(newest.c.vendor_id == L.vendor_id)
                .scalar_subquery(),
            )
            gone2 = await self.db.execute(by_age)
        return int(gone or 0) + int(gone2 or 0)
