"""SQL of marketplace events: processed event ids, preferences and vendor contacts."""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.storage.schema import preferences, processed_events, vendors
from tocsin.storage.store import Row, Store

E = processed_events.c
P = preferences.c


class EventStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    async def claim_event(self, event_id: str, event_type: str, digest: str) -> bool:
        """Record `event_id` as processed; False if it already was.

        Inside a transaction on PostgreSQL, a concurrent claim of the same id
        waits here until the first one commits (then gets False) or rolls back.
        """
        inserted = await self.db.fetch_val(
            "INSERT INTO processed_events (event_id, type, digest, notifications, created_at) "
            "VALUES (:event_id, :type, :digest, '[]', :now) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            {"event_id": event_id, "type": event_type, "digest": digest, "now": now_ms()},
        )
        return inserted is not None

    async def finish_event(self, event_id: str, notification_ids: Sequence[str]) -> None:
        await self.db.execute(
            processed_events.update()
            .where(E.event_id == event_id)
            .values(notifications=json.dumps(list(notification_ids)))
        )

    async def get_event(self, event_id: str) -> Row | None:
        row = await self.db.fetch_one(sa.select(processed_events).where(E.event_id == event_id))
        if row is None:
            return None
        out = dict(row._mapping)
        out["notifications"] = json.loads(out["notifications"])
        return out

    async def preferences(
        self, vendor_ids: Sequence[str]
    ) -> dict[str, dict[tuple[str, str], bool]]:
        """Each vendor's stored choices, `(type, channel) → enabled`."""
        out: dict[str, dict[tuple[str, str], bool]] = {v: {} for v in vendor_ids}
        rows = await self.db.fetch_all(
            sa.select(P.vendor_id, P.type, P.channel, P.enabled).where(
                P.vendor_id.in_(list(vendor_ids))
            )
        )
        for r in rows:
            out[r[0]][(r[1], r[2])] = bool(r[3])
        return out

    async def set_preferences(
        self, vendor_id: str, values: Sequence[tuple[str, str, bool]]
    ) -> None:
        async with self.store.transaction():
            for kind, channel, enabled in values:
                await self.db.execute(
                    "INSERT INTO preferences (vendor_id, type, channel, enabled, updated_at) "
                    "VALUES (:vendor_id, :type, :channel, :enabled, :now) "
                    "ON CONFLICT (vendor_id, type, channel) "
                    "DO UPDATE SET enabled = :enabled, updated_at = :now",
                    {
                        "vendor_id": vendor_id,
                        "type": kind,
                        "channel": channel,
                        "enabled": enabled,
                        "now": now_ms(),
                    },
                )

    async def contacts(self, vendor_ids: Sequence[str]) -> dict[str, tuple[str | None, str | None]]:
        """`vendor → (email, phone)` for the vendors that have a row."""
        rows = await self.db.fetch_all(
            sa.select(vendors.c.id, vendors.c.email, vendors.c.phone).where(
                vendors.c.id.in_(list(vendor_ids))
            )
        )
        return {r[0]: (r[1], r[2]) for r in rows}
