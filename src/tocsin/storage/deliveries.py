"""SQL of deliveries, their attempts and digests (`deliveries`, `delivery_attempts`,
`digest_items`).

A delivery's `purpose` says why it exists: `instant` (at once), `grace` (a push
once unseen for the grace), `escalation` (a push or SMS once unseen for the
vendor's delay) or `digest` (an email listing a period's `digest_items`, keyed
`digest:<vendor>:<period end ms>`). `held_from`/`held_until`: quiet hours moved
it from its due time to their end; `released_at`: the vendor changed its quiet
hours meanwhile, and it was due again from then. A `skipped` one names why in
`last_error` and its attempt's `error` (`cancelled: seen in a live tab`,
`cancelled: read`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import Delivery, Row
from tocsin.storage.db import Database
from tocsin.storage.schema import deliveries, delivery_attempts, digest_items, notifications

D = deliveries.c
A = delivery_attempts.c
I = digest_items.c  # noqa: E741

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
INTERRUPTED = "interrupted"
# Not sent, and never will be: e.g. a push for a notification a live tab had shown.
SKIPPED = "skipped"
STATUSES = (PENDING, SENDING, SENT, FAILED, SKIPPED)

INSTANT = "instant"
GRACE = "grace"
ESCALATION = "escalation"
DIGEST = "digest"
PURPOSES = (INSTANT, GRACE, ESCALATION, DIGEST)
# Purposes that wait to be seen: cancelled (skipped when due) once the notification is
# seen or read.
UNLESS_SEEN = (GRACE, ESCALATION)

# Why a delivery waiting to be seen was not sent, by what happened to its notification.
CANCELLED = {
    "seen": "cancelled: seen in a live tab",
    "read": "cancelled: read",
    "deleted": "cancelled: deleted",
}


@dataclass(frozen=True, slots=True)
class NewDelivery:
    key: str
    vendor_id: str
    event_id: str | None
    notification_id: str | None
    type: str
    channel: str
    recipient: str
    message: dict[str, Any]
    # When it may be sent (ms); None: now.
    due_at: int | None = None
    purpose: str = INSTANT
    # Quiet hours moved it: due at `held_from`, and `due_at` = `held_until`, their end.
    held_from: int | None = None
    held_until: int | None = None


@dataclass(frozen=True, slots=True)
class DigestItem:
    """A notification listed in a digest instead of mailed alone; `key` is the email's."""

    key: str
    vendor_id: str
    notification_id: str | None
    type: str
    line: str
    link: str | None


def _claimable(now: int) -> sa.ColumnElement[bool]:
    """Due and pending, or claimed by a worker whose lease ran out."""
    return sa.or_(
        sa.and_(D.status == PENDING, D.next_attempt_at <= now),
        sa.and_(D.status == SENDING, D.lease_until < now),
    )


class DeliveryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, new: NewDelivery) -> int | None:
        """Queue a delivery (call inside the ingest transaction); its id, None if known."""
        now = now_ms()
        value = await self.db.fetch_val(
            "INSERT INTO deliveries (key, vendor_id, event_id, notification_id, type, channel, "
            "recipient, message, status, attempts, next_attempt_at, created_at, updated_at, "
            "purpose, held_from, held_until) "
            "VALUES (:key, :vendor_id, :event_id, :notification_id, :type, :channel, "
            ":recipient, :message, :status, 0, :due, :now, :now, :purpose, :held_from, "
            ":held_until) "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            {
                "key": new.key,
                "vendor_id": new.vendor_id,
                "event_id": new.event_id,
                "notification_id": new.notification_id,
                "type": new.type,
                "channel": new.channel,
                "recipient": new.recipient,
                "message": json.dumps(new.message, ensure_ascii=False),
                "status": PENDING,
                "now": now,
                "due": new.due_at if new.due_at is not None else now,
                "purpose": new.purpose,
                "held_from": new.held_from,
                "held_until": new.held_until,
            },
        )
        return None if value is None else int(value)

    async def open_digest(self, digest: NewDelivery) -> tuple[int | None, bool]:
        """Make sure the digest delivery `digest.key` exists (call inside a transaction);
        `(its id if made now, whether it still takes items)`.

        A digest takes items until its first attempt is claimed. The update locks its
        row until the caller commits, so a worker's claim waits for the items added
        here and renders them, or comes first and the caller sees it closed.
        """
        made = await self.add(digest)
        value = await self.db.fetch_val(
            "UPDATE deliveries SET updated_at = updated_at "
            "WHERE key = :key AND status = :pending AND attempts = 0 RETURNING id",
            {"key": digest.key, "pending": PENDING},
        )
        return made, value is not None

    async def add_digest_item(self, digest_key: str, item: DigestItem) -> bool:
        """List `item` in the digest `digest_key` (inside the caller's transaction); False
        if the item (by its key) is listed already."""
        value = await self.db.fetch_val(
            "INSERT INTO digest_items (key, vendor_id, digest_key, notification_id, type, "
            "line, link, created_at) VALUES (:key, :vendor_id, :digest_key, "
            ":notification_id, :type, :line, :link, :now) "
            "ON CONFLICT (key) DO NOTHING RETURNING id",
            {
                "key": item.key,
                "vendor_id": item.vendor_id,
                "digest_key": digest_key,
                "notification_id": item.notification_id,
                "type": item.type,
                "line": item.line,
                "link": item.link,
                "now": now_ms(),
            },
        )
        return value is not None

    async def digest_items(self, digest_key: str) -> list[Row]:
        """The items of one digest, oldest first."""
        rows = await self.db.fetch_all(
            sa.select(digest_items).where(I.digest_key == digest_key).order_by(I.id)
        )
        return [dict(r._mapping) for r in rows]

    async def set_message(self, delivery_id: int, message: dict[str, Any]) -> None:
        """Store the message rendered at send time (a digest's), for the log and retries."""
        await self.db.execute(
            deliveries.update()
            .where(D.id == delivery_id)
            .values(message=json.dumps(message, ensure_ascii=False))
        )

    async def claimable(self, now: int, limit: int, *, exclude: Collection[int] = ()) -> list[int]:
        conds = [_claimable(now)]
        if exclude:
            conds.append(D.id.not_in(list(exclude)))
        query = sa.select(D.id).where(*conds).order_by(D.next_attempt_at, D.id).limit(limit)
        return [int(r[0]) for r in await self.db.fetch_all(query)]

    async def unsettled(self, now: int, after: int, limit: int) -> list[int]:
        """Ids above `after` of up to `limit` deliveries a worker may still have to send:
        pending, due at any time, or claimed by a worker whose lease ran out; by id."""
        unsettled = sa.or_(D.status == PENDING, sa.and_(D.status == SENDING, D.lease_until < now))
        query = sa.select(D.id).where(D.id > after, unsettled).order_by(D.id).limit(limit)
        return [int(r[0]) for r in await self.db.fetch_all(query)]

    async def next_due(self) -> int | None:
        """The earliest time (ms) a pending delivery or an expired lease becomes claimable."""
        pending = await self.db.fetch_val(
            sa.select(sa.func.min(D.next_attempt_at)).where(D.status == PENDING)
        )
        leased = await self.db.fetch_val(
            sa.select(sa.func.min(D.lease_until)).where(D.status == SENDING)
        )
        times = [int(t) for t in (pending, leased) if t is not None]
        return min(times) if times else None

    async def claim(self, delivery_id: int, lease_ms: int) -> Delivery | None:
        """Take `delivery_id` for one attempt, if it is claimable; record the attempt.

        The conditional update is the lock: of two workers (or two queue entries
        for one delivery) only one gets the row. An attempt left `sending` by a
        worker that died is closed as `interrupted`.
        """
        now = now_ms()
        async with self.db.transaction():
            row = await self.db.fetch_one(
                deliveries.update()
                .where(D.id == delivery_id, _claimable(now))
                .values(
                    status=SENDING,
                    attempts=D.attempts + 1,
                    lease_until=now + lease_ms,
                    updated_at=now,
                )
                .returning(deliveries)
            )
            if row is None:
                return None
            r = dict(row._mapping)
            await self.db.execute(
                delivery_attempts.update()
                .where(A.delivery_id == delivery_id, A.status == SENDING)
                .values(
                    status=INTERRUPTED,
                    finished_at=now,
                    error="the worker stopped before it recorded the result",
                )
            )
            await self.db.execute(
                delivery_attempts.insert().values(
                    delivery_id=delivery_id, attempt=r["attempts"], status=SENDING, started_at=now
                )
            )
        return Delivery(
            id=int(r["id"]),
            key=r["key"],
            vendor_id=r["vendor_id"],
            type=r["type"],
            channel=r["channel"],
            recipient=r["recipient"],
            message=json.loads(r["message"]),
            attempt=int(r["attempts"]),
            notification_id=r["notification_id"],
            due_at=int(r["next_attempt_at"]),
            purpose=r["purpose"],
        )

    async def finish(self, delivery: Delivery, *, error: str | None, retry_at: int | None) -> None:
        """Record an attempt's result: sent (`error` None), retry at `retry_at`, or failed."""
        now = now_ms()
        if error is None:
            attempt_status, status = SENT, SENT
        else:
            attempt_status, status = FAILED, (PENDING if retry_at is not None else FAILED)
        async with self.db.transaction():
            await self.db.execute(
                delivery_attempts.update()
                .where(A.delivery_id == delivery.id, A.attempt == delivery.attempt)
                .values(status=attempt_status, error=error, finished_at=now)
            )
            values: dict[str, Any] = {
                "status": status,
                "lease_until": None,
                "last_error": error,
                "updated_at": now,
            }
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            await self.db.execute(
                deliveries.update()
                .where(D.id == delivery.id, D.attempts == delivery.attempt, D.status == SENDING)
                .values(**values)
            )

    async def skip(self, delivery: Delivery, reason: str) -> None:
        """Settle a claimed delivery without sending it: `skipped`, with `reason` in its log."""
        now = now_ms()
        async with self.db.transaction():
            await self.db.execute(
                delivery_attempts.update()
                .where(A.delivery_id == delivery.id, A.attempt == delivery.attempt)
                .values(status=SKIPPED, error=reason, finished_at=now)
            )
            await self.db.execute(
                deliveries.update()
                .where(D.id == delivery.id, D.attempts == delivery.attempt, D.status == SENDING)
                .values(status=SKIPPED, lease_until=None, last_error=reason, updated_at=now)
            )

    async def postpone(self, delivery: Delivery, until: int) -> None:
        """Give a claimed delivery back unsent, due at `until` (the end of quiet hours):
        the claim is undone (no attempt is counted) and the hold recorded."""
        now = now_ms()
        async with self.db.transaction():
            await self.db.execute(
                delivery_attempts.delete().where(
                    A.delivery_id == delivery.id, A.attempt == delivery.attempt
                )
            )
            await self.db.execute(
                deliveries.update()
                .where(D.id == delivery.id, D.attempts == delivery.attempt, D.status == SENDING)
                .values(
                    status=PENDING,
                    attempts=D.attempts - 1,
                    lease_until=None,
                    held_from=sa.func.coalesce(D.held_from, D.next_attempt_at),
                    held_until=until,
                    released_at=None,
                    next_attempt_at=until,
                    updated_at=now,
                )
            )

    async def release(self, vendor_id: str, now: int) -> list[int]:
        """Make the vendor's deliveries that wait for the end of a quiet-hours hold due
        again (call inside the transaction that changes its quiet hours); their ids.

        One held already (`held_from` passed) is due `now`, with its hold kept on the
        record and `released_at` = `now`. One whose hold has not begun (an escalation
        or a digest due later, planned into the old quiet hours) is due at its own
        time again, with no hold. The worker's claim holds either again if the new
        quiet hours cover the moment it is claimed. One waiting for a retry after its
        hold (`next_attempt_at` no longer its `held_until`) keeps its time.
        """
        begun = sa.or_(D.held_from.is_(None), D.held_from <= now)
        at = sa.cast(sa.literal(now), sa.BigInteger)  # typed: a CASE's bare NULL is text
        rows = await self.db.fetch_all(
            deliveries.update()
            .where(
                D.vendor_id == vendor_id,
                D.status == PENDING,
                D.held_until.is_not(None),
                D.next_attempt_at == D.held_until,
                D.next_attempt_at > now,
            )
            .values(
                next_attempt_at=sa.case((begun, at), else_=D.held_from),
                held_from=sa.case((begun, D.held_from), else_=None),
                held_until=sa.case((begun, D.held_until), else_=None),
                released_at=sa.case((begun, at), else_=None),
                updated_at=now,
            )
            .returning(D.id)
        )
        return sorted(int(r[0]) for r in rows)

    async def priority(self, notification_id: str) -> str | None:
        N = notifications.c
        value = await self.db.fetch_val(sa.select(N.priority).where(N.id == notification_id))
        return None if value is None else str(value)

    async def noticed(self, notification_id: str) -> str | None:
        """`"read"` or `"seen"` if the notification was read or seen (or deleted), else None."""
        N = notifications.c
        row = await self.db.fetch_one(
            sa.select(N.read_at, N.seen_at).where(N.id == notification_id)
        )
        if row is None:
            return "deleted"
        if row[0] is not None:
            return "read"
        return "seen" if row[1] is not None else None

    async def get(self, delivery_id: int) -> Row | None:
        row = await self.db.fetch_one(sa.select(deliveries).where(D.id == delivery_id))
        return dict(row._mapping) if row else None

    async def page(
        self,
        vendor_id: str,
        *,
        before_id: int | None,
        limit: int,
        status: str | None = None,
        channel: str | None = None,
    ) -> list[Row]:
        """Newest first, each with its `attempt_log` (oldest attempt first)."""
        conds = [D.vendor_id == vendor_id]
        if before_id is not None:
            conds.append(D.id < before_id)
        if status is not None:
            conds.append(D.status == status)
        if channel is not None:
            conds.append(D.channel == channel)
        query = sa.select(deliveries).where(*conds).order_by(D.id.desc()).limit(limit)
        return await self._with_attempts(query)

    async def for_notification(self, vendor_id: str, notification_id: str) -> list[Row]:
        """The deliveries of one notification, and the digests that list it, oldest first,
        each with its `attempt_log`."""
        listed_in = sa.select(digest_items.c.digest_key).where(
            digest_items.c.notification_id == notification_id,
            digest_items.c.vendor_id == vendor_id,
        )
        query = (
            sa.select(deliveries)
            .where(
                D.vendor_id == vendor_id,
                sa.or_(D.notification_id == notification_id, D.key.in_(listed_in)),
            )
            .order_by(D.id)
        )
        return await self._with_attempts(query)

    async def listings(self, vendor_id: str, notification_id: str) -> list[Row]:
        """The digest items that list a notification, each with its digest's delivery id
        (`digest_id`), oldest first."""
        query = (
            sa.select(digest_items, D.id.label("digest_id"))
            .select_from(digest_items.outerjoin(deliveries, D.key == digest_items.c.digest_key))
            .where(
                digest_items.c.notification_id == notification_id,
                digest_items.c.vendor_id == vendor_id,
            )
            .order_by(digest_items.c.id)
        )
        return [dict(r._mapping) for r in await self.db.fetch_all(query)]

    async def _with_attempts(self, query: sa.Select[Any]) -> list[Row]:
        rows = [dict(r._mapping) for r in await self.db.fetch_all(query)]
        ids: Sequence[int] = [r["id"] for r in rows]
        log: dict[int, list[Row]] = {i: [] for i in ids}
        if ids:
            attempts = await self.db.fetch_all(
                sa.select(delivery_attempts)
                .where(A.delivery_id.in_(list(ids)))
                .order_by(A.delivery_id, A.attempt)
            )
            for a in attempts:
                log[int(a._mapping["delivery_id"])].append(dict(a._mapping))
        for r in rows:
            r["attempt_log"] = log[r["id"]]
        return rows
