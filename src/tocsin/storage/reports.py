"""SQL of the admin pages' reports: totals, the vendor overview, rates, the delivery log."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin.model import Row
from tocsin.storage.db import Database
from tocsin.storage.schema import deliveries, notifications, vendors

N = notifications.c


def _unread() -> sa.ColumnElement[int]:
    # Literal SQL numbers: bound ones reach asyncpg untyped, and PostgreSQL has no sum(text).
    unread = sa.and_(N.read_at.is_(None), N.archived_at.is_(None))
    one, zero = sa.literal_column("1", sa.Integer), sa.literal_column("0", sa.Integer)
    return sa.func.sum(sa.case((unread, one), else_=zero))


class ReportStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def totals(self) -> Row:
        """Vendors, notifications and unread notifications, across all vendors."""
        row = await self.db.fetch_one(
            sa.select(sa.func.count(), _unread()).select_from(notifications)
        )
        count_vendors = await self.db.fetch_val(sa.select(sa.func.count()).select_from(vendors))
        return {
            "vendors": int(count_vendors or 0),
            "notifications": int(row[0] or 0) if row else 0,
            "unread": int(row[1] or 0) if row else 0,
        }

    async def vendor_overview(self, limit: int, vendor_id: str | None = None) -> list[Row]:
        """Vendors with their notification counts, most recently notified first."""
        v = vendors.c
        last = sa.func.max(N.created_at)
        query = (
            sa.select(
                v.id,
                v.email,
                v.phone,
                v.created_at,
                sa.func.count(N.id).label("total"),
                _unread().label("unread"),
                last.label("last_at"),
            )
            .select_from(vendors.outerjoin(notifications, N.vendor_id == v.id))
            .group_by(v.id, v.email, v.phone, v.created_at)
            .order_by(sa.func.coalesce(last, v.created_at).desc(), v.id)
            .limit(limit)
        )
        if vendor_id is not None:
            query = query.where(v.id == vendor_id)
        rows = [dict(r._mapping) for r in await self.db.fetch_all(query)]
        for r in rows:
            r["total"] = int(r["total"] or 0)
            r["unread"] = int(r["unread"] or 0)
        return rows

    async def created_per_minute(self, since_ms: int) -> dict[int, int]:
        """Notifications created per minute since `since_ms`: minute (ms // 60000) → count."""
        minute = (N.created_at // 60000).label("minute")
        query = sa.select(minute, sa.func.count()).where(N.created_at >= since_ms).group_by(minute)
        return {int(r[0]): int(r[1]) for r in await self.db.fetch_all(query)}

    async def recent_deliveries(self, limit: int, vendor_id: str | None = None) -> list[Row]:
        """The delivery log (email, SMS), newest first."""
        d = deliveries.c
        query = sa.select(deliveries).order_by(d.id.desc()).limit(limit)
        if vendor_id is not None:
            query = query.where(d.vendor_id == vendor_id)
        return [dict(r._mapping) for r in await self.db.fetch_all(query)]
