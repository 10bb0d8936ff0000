"""SQL of admin accounts and their sessions (tables `admins`, `admin_sessions`)."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import Row
from tocsin.storage.db import Database
from tocsin.storage.schema import admin_sessions, admins

A = admins.c
S = admin_sessions.c


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
            await self.db.execute(admin_sessions.delete().where(S.username == username))
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

    async def add_session(self, id_hash: str, username: str, expires_at: int) -> None:
        """Record a signed-in session (and forget the expired ones)."""
        now = now_ms()
        async with self.db.transaction():
            await self.db.execute(admin_sessions.delete().where(S.expires_at < now))
            await self.db.execute(
                admin_sessions.insert().values(
                    id_hash=id_hash, username=username, created_at=now, expires_at=expires_at
                )
            )

    async def has_session(self, id_hash: str, username: str) -> bool:
        row = await self.db.fetch_one(
            sa.select(S.id_hash).where(
                S.id_hash == id_hash, S.username == username, S.expires_at >= now_ms()
            )
        )
        return row is not None

    async def remove_session(self, id_hash: str) -> None:
        async with self.db.transaction():
            await self.db.execute(admin_sessions.delete().where(S.id_hash == id_hash))
