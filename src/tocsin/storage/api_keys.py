"""SQL of publisher API keys kept in the database (table `api_keys`, by SHA-256 digest)."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin.storage.db import Database
from tocsin.storage.schema import api_keys


class ApiKeyStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def known(self, digest: str) -> bool:
        """Whether a key with this SHA-256 hex digest exists."""
        row = await self.db.fetch_one(
            sa.select(api_keys.c.name).where(api_keys.c.key_hash == digest)
        )
        return row is not None
