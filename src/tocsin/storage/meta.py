"""SQL of `tocsin_meta`: values fixed once per database (its identity, the log's epoch)."""

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
