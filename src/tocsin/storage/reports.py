"""SQL of the admin pages' reports: totals, the vendor overview, rates, the delivery log."""

from __future__ import annotations

import sqlalchemy as sa

from tocsin.model import Row
from tocsin.storage.db import Database
from tocsin.storage.schema import deliveries, notifications

N = notifications.c


# Per vendor shown: its kept unread count (a row per type), its newest notification
# (one index probe) and its notifications counted up to a bound, so a page of
# vendors costs the same whatever their history.
_VENDORS = """
SELECT v.id, v.email, v.phone, v.created_at,
  (SELECT coalesce(sum(u.unread), 0) FROM unread_counts u WHERE u.vendor_id = v.id) AS unread,
  (SELECT max(n.created_at) FROM notifications n WHERE n.vendor_id = v.id) AS last_at,
  (SELECT count(*) FROM (SELECT 1 FROM notifications n WHERE n.vendor_id = v.id LIMIT :up_to)
    AS c) AS total
FROM vendors v WHERE {where} ORDER BY v.id LIMIT :limit
"""


class ReportStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def unread_total(self) -> int:
        """Unread notifications of all vendors: the kept counts (a row per vendor and type)."""
        return int(
            await self.db.value("SELECT coalesce(sum(unread), 0) FROM unread_counts", offload=True)
            or 0
        )

    async def vendor_overview(
        self, limit: int, *, start: str = "", vendor_id: str | None = None, count_up_to: int
    ) -> list[Row]:
        """Vendors by id from `start` (inclusive), or just `vendor_id`, with their counts.

        `unread` is exact (kept); `total` counts at most `count_up_to` notifications
        (`total_more`: there are more).
        """
        where, values = "v.id >= :start", {"start": start}
        if vendor_id is not None:
            where, values = "v.id = :vendor_id", {"vendor_id": vendor_id}
        sql = _VENDORS.format(where=where)
        params = {**values, "limit": limit, "up_to": count_up_to + 1}
        rows = [dict(r) for r in await self.db.rows(sql, params, offload=True)]
        for r in rows:
            total = int(r["total"] or 0)
            r["total"] = min(total, count_up_to)
            r["total_more"] = total > count_up_to
            r["unread"] = int(r["unread"] or 0)
            r["last_at"] = None if r["last_at"] is None else int(r["last_at"])
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
