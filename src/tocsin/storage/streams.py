"""SQL of the tabs each notification reached (table `notification_streams`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from tocsin.model import Row
from tocsin.storage.db import Database
from tocsin.storage.schema import notification_streams

# Counts add up across processes; the times keep the earliest first and latest last.
_ADD = (
    "INSERT INTO notification_streams "
    "(notification_id, vendor_id, streams, polls, first_at, last_at) "
    "VALUES (:id, :vendor_id, :streams, :polls, :first_at, :last_at) "
    "ON CONFLICT (notification_id) DO UPDATE SET "
    "streams = notification_streams.streams + excluded.streams, "
    "polls = notification_streams.polls + excluded.polls, "
    "first_at = CASE WHEN excluded.first_at < notification_streams.first_at "
    "THEN excluded.first_at ELSE notification_streams.first_at END, "
    "last_at = CASE WHEN excluded.last_at > notification_streams.last_at "
    "THEN excluded.last_at ELSE notification_streams.last_at END"
)


@dataclass(slots=True)
class StreamCount:
    """What one process counted for one notification since its last flush."""

    vendor_id: str
    streams: int
    polls: int
    first_at: int
    last_at: int


class StreamCountStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, counts: Mapping[str, StreamCount]) -> None:
        """Add one process's counts (notification id → count); call inside a transaction.

        In id order, so two processes adding to the same rows lock them in the same order.
        """
        for notification_id in sorted(counts):
            c = counts[notification_id]
            await self.db.run(
                _ADD,
                {
                    "id": notification_id,
                    "vendor_id": c.vendor_id,
                    "streams": c.streams,
                    "polls": c.polls,
                    "first_at": c.first_at,
                    "last_at": c.last_at,
                },
            )

    async def get(self, vendor_id: str, notification_id: str) -> Row | None:
        S = notification_streams.c
        row = await self.db.fetch_one(
            sa.select(notification_streams).where(
                S.notification_id == notification_id, S.vendor_id == vendor_id
            )
        )
        return dict(row._mapping) if row else None
