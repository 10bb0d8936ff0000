"""SQL of vendors' preferences (tables `preferences`, `preference_options`): only their
own choices."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.storage.db import Database
from tocsin.storage.schema import preference_options, preferences

P = preferences.c
O = preference_options.c  # noqa: E741

# `(type, channel) → enabled`
Choices = dict[tuple[str, str], bool]
# `(type, option) → value` (decoded JSON)
Options = dict[tuple[str, str], Any]


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

    async def options(self, vendor_ids: Sequence[str]) -> dict[str, Options]:
        """Each vendor's stored options, `(type, option) → value`."""
        out: dict[str, Options] = {v: {} for v in vendor_ids}
        rows = await self.db.fetch_all(
            sa.select(O.vendor_id, O.type, O.option, O.value).where(
                O.vendor_id.in_(list(vendor_ids))
            )
        )
        for r in rows:
            out[r[0]][(r[1], r[2])] = json.loads(r[3])
        return out

    async def set(
        self,
        vendor_id: str,
        values: Sequence[tuple[str, str, bool]],
        options: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        """Store `(type, channel, enabled)` and `(type, option, JSON)` choices, in one
        transaction."""
        async with self.db.transaction():
            for kind, option, value in options:
                await self.db.execute(
                    "INSERT INTO preference_options (vendor_id, type, option, value, updated_at) "
                    "VALUES (:vendor_id, :type, :option, :value, :now) "
                    "ON CONFLICT (vendor_id, type, option) "
                    "DO UPDATE SET value = :value, updated_at = :now",
                    {
                        "vendor_id": vendor_id,
                        "type": kind,
                        "option": option,
                        "value": value,
                        "now": now_ms(),
                    },
                )
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
