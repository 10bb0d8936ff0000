"""The delivery log as vendors and publishers read it: deliveries with their attempts."""

from __future__ import annotations

from tocsin.model import Row
from tocsin.storage.deliveries import STATUSES, DeliveryStore

__all__ = ["STATUSES", "DeliveryHistory"]


class DeliveryHistory:
    def __init__(self, deliveries: DeliveryStore) -> None:
        self.deliveries = deliveries

    async def page(
        self,
        vendor_id: str,
        *,
        cursor: int | None,
        limit: int,
        status: str | None = None,
        channel: str | None = None,
    ) -> tuple[list[Row], int | None]:
        """One page, newest first, each with its `attempt_log`; and the next page's cursor."""
        rows = await self.deliveries.page(
            vendor_id, before_id=cursor, limit=limit + 1, status=status, channel=channel
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (int(rows[-1]["id"]) if more else None)
