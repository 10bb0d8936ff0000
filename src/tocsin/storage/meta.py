"""SQL of `tocsin_meta`: values of the database itself (identity, log epoch, last purge)."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin.storage.db import Database
from tocsin.storage.schema import meta


class MetaStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_or_set(self, key: str, value: str) -> str:
        """The value stored under `key`, storing `value` first if there is none."""
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO tocsin_meta (key, value) VALUES (:key, :value) "
                "ON CONFLICT (key) DO NOTHING",
                {"key": key, "value": value},
            )
            current = await self.db.fetch_val(sa.select(meta.c.value).where(meta.c.key == key))
        return str(current)

    async def get(self, key: str) -> str | None:
        value = await self.db.value("SELECT value FROM tocsin_meta WHERE key = :key", {"key": key})
        return None if value is None else str(value)

    async def put(self, key: str, value: str) -> None:
        await self.db.run(
            "INSERT INTO tocsin_meta (key, value) VALUES (:key, :value) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {"key": key, "value": value},
        )
