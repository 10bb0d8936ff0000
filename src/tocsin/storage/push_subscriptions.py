"""SQL of vendors' Web Push subscriptions (table `push_subscriptions`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.storage.db import Database
from tocsin.storage.schema import push_subscriptions

S = push_subscriptions.c


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    vendor_id: str
    endpoint: str
    p256dh: str
    auth: str
    device: str | None
    created_at: int
    updated_at: int


def _decode(row: object) -> Subscription:
    m = row._mapping  # type: ignore[attr-defined]
    return Subscription(
        id=int(m["id"]),
        vendor_id=m["vendor_id"],
        endpoint=m["endpoint"],
        p256dh=m["p256dh"],
        auth=m["auth"],
        device=m["device"],
        created_at=int(m["created_at"]),
        updated_at=int(m["updated_at"]),
    )


class PushSubscriptionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(
        self, vendor_id: str, endpoint: str, p256dh: str, auth: str, device: str | None, keep: int
    ) -> Subscription:
        """Add the subscription (or renew the vendor's one with this endpoint); keep the
        `keep` most recently saved of the vendor's subscriptions and delete the rest."""
        now = now_ms()
        async with self.db.transaction():
            await self.db.execute(
                "INSERT INTO push_subscriptions "
                "(vendor_id, endpoint, p256dh, auth, device, created_at, updated_at) "
                "VALUES (:vendor_id, :endpoint, :p256dh, :auth, :device, :now, :now) "
                "ON CONFLICT (vendor_id, endpoint) DO UPDATE SET p256dh = :p256dh, "
                "auth = :auth, device = :device, updated_at = :now",
                {
                    "vendor_id": vendor_id,
                    "endpoint": endpoint,
                    "p256dh": p256dh,
                    "auth": auth,
                    "device": device,
                    "now": now,
                },
            )
            row = await self.db.fetch_one(
                sa.select(push_subscriptions).where(
                    S.vendor_id == vendor_id, S.endpoint == endpoint
                )
            )
            assert row is not None
            kept = (
                sa.select(S.id)
                .where(S.vendor_id == vendor_id)
                .order_by(S.updated_at.desc(), S.id.desc())
                .limit(keep)
            )
            await self.db.execute(
                push_subscriptions.delete().where(
                    S.vendor_id == vendor_id, S.id.not_in(kept.scalar_subquery())
                )
            )
        return _decode(row)

    async def of_vendor(self, vendor_id: str) -> list[Subscription]:
        """The vendor's subscriptions, most recently saved first."""
        rows = await self.db.fetch_all(
            sa.select(push_subscriptions)
            .where(S.vendor_id == vendor_id)
            .order_by(S.updated_at.desc(), S.id.desc())
        )
        return [_decode(r) for r in rows]

    async def for_vendors(self, vendor_ids: Sequence[str]) -> dict[str, list[Subscription]]:
        out: dict[str, list[Subscription]] = {v: [] for v in vendor_ids}
        rows = await self.db.fetch_all(
            sa.select(push_subscriptions).where(S.vendor_id.in_(list(vendor_ids))).order_by(S.id)
        )
        for r in rows:
            sub = _decode(r)
            out[sub.vendor_id].append(sub)
        return out

    async def exists(self, subscription_id: int) -> bool:
        value = await self.db.fetch_val(sa.select(S.id).where(S.id == subscription_id))
        return value is not None

    async def delete(self, vendor_id: str, subscription_id: int) -> bool:
        rows = await self.db.fetch_all(
            push_subscriptions.delete()
            .where(S.vendor_id == vendor_id, S.id == subscription_id)
            .returning(S.id)
        )
        return bool(rows)
