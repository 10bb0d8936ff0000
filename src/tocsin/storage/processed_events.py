"""SQL of marketplace events already applied (table `processed_events`): ingest's idempotency."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import Row
from tocsin.storage.db import Database
from tocsin.storage.schema import processed_events

E = processed_events.c


class ProcessedEventStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, event_id: str, event_type: str, digest: str) -> bool:
        """Record `event_id` as processed; False if it already was.

        Inside a transaction on PostgreSQL, a concurrent claim of the same id
        waits here until the first one commits (then gets False) or rolls back.
        """
        inserted = await self.db.value(
            "INSERT INTO processed_events (event_id, type, digest, notifications, created_at) "
            "VALUES (:event_id, :type, :digest, '[]', :now) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            {"event_id": event_id, "type": event_type, "digest": digest, "now": now_ms()},
        )
        return inserted is not None

    async def finish(self, event_id: str, notification_ids: Sequence[str]) -> None:
        """Record the notifications the event created (its answer to a retry)."""
        await self.db.execute(
            processed_events.update()
            .where(E.event_id == event_id)
            .values(notifications=json.dumps(list(notification_ids)))
        )

    async def get(self, event_id: str) -> Row | None:
        row = await self.db.fetch_one(sa.select(processed_events).where(E.event_id == event_id))
        if row is None:
            return None
        out = dict(row._mapping)
        out["notifications"] = json.loads(out["notifications"])
        return out
