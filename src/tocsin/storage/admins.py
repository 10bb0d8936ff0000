"""SQL of admin accounts (table `admins`)."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import Row
from tocsin.storage.db import Database
from tocsin.storage.schema import admins

A = admins.c


class AdminStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, username: str) -> Row | None:
        row = await self.db.fetch_one(sa.select(admins).where(A.username == username))
        return dict(row._mapping) if row else None

    async def save(self, username: str, password_hash: str) -> bool:
        """Create the admin, or give it a new password (voiding its sessions); True if new."""
        now = now_ms()
        async with self.db.transaction():
            updated = await self.db.fetch_all(
                admins.update()
                .where(A.username == username)
                .values(password_hash=password_hash, password_changed_at=now)
                .returning(A.username)
            )
            if not updated:
                await self.db.execute(
                    admins.insert().values(
                        username=username,
                        password_hash=password_hash,
                        password_changed_at=now,
                        created_at=now,
                    )
                )
        return not updated

    async def rehash(self, username: str, password_hash: str) -> None:
        """Store a stronger hash of the same password (sessions stay valid)."""
        async with self.db.transaction():
            await self.db.execute(
                admins.update().where(A.username == username).values(password_hash=password_hash)
            )
