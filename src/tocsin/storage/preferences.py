"""SQL of vendors' channel preferences (table `preferences`): only their own choices."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.storage.db import Database
from tocsin.storage.schema import preferences

P = preferences.c

# `(type, channel) → enabled`
Choices = dict[tuple[str, str], bool]


class PreferenceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, vendor_ids: Sequence[str]) -> dict[str, Choices]:
        """Each vendor's stored choices, `(type, channel) → enabled`."""
        out: dict[str, Choices] = {v: {} for v in vendor_ids}
        rows = await self.db.fetch_all(
            sa.select(P.vendor_id, P.type, P.channel, P.enabled).where(
                P.vendor_id.in_(list(vendor_ids))
            )
        )
        for r in rows:
            out[r[0]][(r[1], r[2])] = bool(r[3])
        return out

    async def set(self, vendor_id: str, values: Sequence[tuple[str, str, bool]]) -> None:
        """Store `(type, channel, enabled)` choices, in one transaction."""
        async with self.db.transaction():
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
