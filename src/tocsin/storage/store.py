"""SQL storage through `databases`: one code path for SQLite and PostgreSQL.

The store knows tables and SQL, nothing about HTTP or events. Writes that must
be atomic run inside `Store.transaction()`; on SQLite, which has one writer at a
time, the store also serialises them in-process so concurrent requests queue
instead of failing with `database is locked`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from databases import Database

from tocsin._ids import now_ms
from tocsin.storage.schema import (
    admins,
    deliveries,
    event_log,
    meta,
    notifications,
    outbox,
    vendors,
)

N = notifications.c

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Storage-level filter; times in ms since the epoch."""

    unread: bool | None = None
    types: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    archived: bool | None = False
    q: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    id: int
    vendor_id: str
    seq: int
    event: str
    payload: str
    created_at: int


# The statements of the publish path, as text: `databases` compiles every
# SQLAlchemy expression anew on each call, and that compilation was a quarter
# of the CPU of creating a notification (py-spy).
_INSERT_NOTIFICATION = (
    "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, link, "
    "created_at, read_at, archived_at, dedupe_key) VALUES (:id, :vendor_id, :type, :title, "
    ":body, :data, :priority, :link, :created_at, :read_at, :archived_at, :dedupe_key)"
)
_INSERT_OUTBOX = (
    "INSERT INTO outbox (vendor_id, seq, event, payload, created_at) "
    "VALUES (:vendor_id, :seq, :event, :payload, :created_at)"
)
_UNREAD_TOTAL = (
    "SELECT count(*) FROM notifications "
    "WHERE vendor_id = :vendor_id AND read_at IS NULL AND archived_at IS NULL"
)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(vendor_id: str, f: ListFilter) -> list[sa.ColumnElement[bool]]:
    conds: list[sa.ColumnElement[bool]] = [N.vendor_id == vendor_id]
    if f.unread is True:
        conds.append(N.read_at.is_(None))
    elif f.unread is False:
        conds.append(N.read_at.is_not(None))
    if f.archived is True:
        conds.append(N.archived_at.is_not(None))
    elif f.archived is False:
        conds.append(N.archived_at.is_(None))
    if f.types:
        conds.append(N.type.in_(f.types))
    if f.priorities:
        conds.append(N.priority.in_(f.priorities))
    if f.q:
        # SQLite's lower() folds ASCII only: also match the text as given, so an
        # exact substring such as "Été" is found on both backends.
        pattern = "%" + _escape_like(f.q.lower()) + "%"
        exact = "%" + _escape_like(f.q) + "%"
        conds.append(
            sa.or_(
                sa.func.lower(N.title).like(pattern, escape="\\"),
                sa.func.lower(N.body).like(pattern, escape="\\"),
                N.title.like(exact, escape="\\"),
                N.body.like(exact, escape="\\"),
            )
        )
    if f.since_ms is not None:
        conds.append(N.created_at >= f.since_ms)
    if f.until_ms is not None:
        conds.append(N.created_at < f.until_ms)
    return conds


def decode_notification(row: Mapping[str, Any]) -> Row:
    out = dict(row)
    data = out.get("data")
    out["data"] = json.loads(data) if isinstance(data, str) else (data or {})
    return out


class Store:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        options: dict[str, Any] = {}
        if self.dialect == "postgresql":
            options = {"min_size": 1, "max_size": pool_size}
        self.db = Database(url, **options)
        # SQLite has a single writer: queue writers here rather than in SQLite.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None
        # Set in the task that runs a transaction: a nested one joins it (a savepoint).
        self._in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"tocsin_store_transaction_{id(self)}", default=False
        )

    async def connect(self) -> None:
        await self.db.connect()
        if self.dialect == "sqlite":
            await self.db.execute("PRAGMA journal_mode=WAL")

    async def disconnect(self) -> None:
        await self.db.disconnect()

    async def ping(self) -> None:
        await self.db.fetch_val("SELECT 1")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One atomic write; an exception inside rolls everything back.

        Inside another transaction of the same task it becomes a savepoint of it
        (and does not take the SQLite write lock again).
        """
        if self._in_transaction.get():
            async with self.db.transaction():
                yield
            return
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self.db.transaction():
            token = self._in_transaction.set(True)
            try:
                yield
            finally:
                self._in_transaction.reset(token)

    # -- vendors ---------------------------------------------------------------

    async def next_seq(self, vendor_id: str) -> int:
        """Lock the vendor's row (creating it) and take its next event sequence number."""
        value = await self.db.fetch_val(
            "INSERT INTO vendors (id, seq, created_at) VALUES (:vendor_id, 1, :now) "
            "ON CONFLICT (id) DO UPDATE SET seq = vendors.seq + 1 RETURNING seq",
            {"vendor_id": vendor_id, "now": now_ms()},
        )
        return int(value)

    async def set_contact(self, vendor_id: str, email: str | None, phone: str | None) -> None:
        await self.db.execute(
            "INSERT INTO vendors (id, email, phone, seq, created_at) "
            "VALUES (:vendor_id, :email, :phone, 0, :now) "
            "ON CONFLICT (id) DO UPDATE SET email = :email, phone = :phone",
            {"vendor_id": vendor_id, "email": email, "phone": phone, "now": now_ms()},
        )

    # -- notifications ---------------------------------------------------------

    async def insert_notification(self, row: Row) -> None:
        values = dict(row)
        values["data"] = json.dumps(values["data"], separators=(",", ":"))
        await self.db.execute(_INSERT_NOTIFICATION, values)

    async def get_notification(self, vendor_id: str, notification_id: str) -> Row | None:
        row = await self.db.fetch_one(
            sa.select(notifications).where(N.vendor_id == vendor_id, N.id == notification_id)
        )
        return decode_notification(row._mapping) if row else None

    async def find_by_dedupe(self, vendor_id: str, dedupe_key: str) -> Row | None:
        row = await self.db.fetch_one(
            sa.select(notifications).where(N.vendor_id == vendor_id, N.dedupe_key == dedupe_key)
        )
        return decode_notification(row._mapping) if row else None

    async def list_notifications(
        self, vendor_id: str, f: ListFilter, *, before_id: str | None, limit: int
    ) -> list[Row]:
        """Newest first; `before_id` is the keyset cursor (ids sort by creation)."""
        conds = _conditions(vendor_id, f)
        if before_id is not None:
            conds.append(N.id < before_id)
        query = sa.select(notifications).where(*conds).order_by(N.id.desc()).limit(limit)
        rows = await self.db.fetch_all(query)
        return [decode_notification(r._mapping) for r in rows]

    async def update_notifications(
        self,
        vendor_id: str,
        *,
        ids: Sequence[str] | None,
        f: ListFilter | None,
        values: Mapping[str, Any],
        unless: sa.ColumnElement[bool],
    ) -> list[str]:
        """Set `values` on the matching rows where `unless` is false; the changed ids."""
        conds = _conditions(vendor_id, f or ListFilter(archived=None))
        if ids is not None:
            conds.append(N.id.in_(list(ids)))
        conds.append(sa.not_(unless))
        query = notifications.update().where(*conds).values(**values).returning(N.id)
        return [r._mapping["id"] for r in await self.db.fetch_all(query)]

    async def delete_notifications(
        self, vendor_id: str, *, ids: Sequence[str] | None, f: ListFilter | None
    ) -> list[str]:
        conds = _conditions(vendor_id, f or ListFilter(archived=None))
        if ids is not None:
            conds.append(N.id.in_(list(ids)))
        query = notifications.delete().where(*conds).returning(N.id)
        return [r._mapping["id"] for r in await self.db.fetch_all(query)]

    async def unread_counts(self, vendor_id: str) -> dict[str, int]:
        query = (
            sa.select(N.type, sa.func.count())
            .where(N.vendor_id == vendor_id, N.read_at.is_(None), N.archived_at.is_(None))
            .group_by(N.type)
        )
        return {r[0]: int(r[1]) for r in await self.db.fetch_all(query)}

    async def unread_total(self, vendor_id: str) -> int:
        return int(await self.db.fetch_val(_UNREAD_TOTAL, {"vendor_id": vendor_id}) or 0)

    # -- outbox ----------------------------------------------------------------

    async def add_outbox(self, vendor_id: str, seq: int, event: str, payload: str) -> None:
        await self.db.execute(
            _INSERT_OUTBOX,
            {
                "vendor_id": vendor_id,
                "seq": seq,
                "event": event,
                "payload": payload,
                "created_at": now_ms(),
            },
        )

    async def pending_outbox(self, limit: int) -> list[OutboxRecord]:
        rows = await self.db.fetch_all(sa.select(outbox).order_by(outbox.c.id).limit(limit))
        return [OutboxRecord(**dict(r._mapping)) for r in rows]

    async def outbox_has(self, vendor_id: str, seq: int) -> bool:
        row = await self.db.fetch_one(
            sa.select(outbox.c.id).where(outbox.c.vendor_id == vendor_id, outbox.c.seq == seq)
        )
        return row is not None

    async def delete_outbox(self, ids: Sequence[int]) -> None:
        if ids:
            async with self.transaction():
                await self.db.execute(outbox.delete().where(outbox.c.id.in_(list(ids))))

    # -- the embedded event log --------------------------------------------------

    async def append_log(self, records: Sequence[OutboxRecord], keep_events: int) -> None:
        """Move `records` into `event_log` and out of the outbox, idempotently.

        Each vendor keeps its newest `keep_events` events (trimming by age is `trim_log`'s).
        """
        newest: dict[str, int] = {}
        for rec in records:
            newest[rec.vendor_id] = max(rec.seq, newest.get(rec.vendor_id, 0))
        async with self.transaction():
            for rec in records:
                await self.db.execute(
                    "INSERT INTO event_log (vendor_id, seq, event, payload, created_at) "
                    "VALUES (:vendor_id, :seq, :event, :payload, :created_at) "
                    "ON CONFLICT (vendor_id, seq) DO NOTHING",
                    {
                        "vendor_id": rec.vendor_id,
                        "seq": rec.seq,
                        "event": rec.event,
                        "payload": rec.payload,
                        "created_at": rec.created_at,
                    },
                )
            await self.db.execute(outbox.delete().where(outbox.c.id.in_([r.id for r in records])))
            for vendor_id, top in newest.items():
                await self.db.execute(
                    event_log.delete().where(
                        event_log.c.vendor_id == vendor_id, event_log.c.seq <= top - keep_events
                    )
                )

    async def read_log(self, vendor_id: str, after_seq: int, limit: int) -> list[Row]:
        c = event_log.c
        query = (
            sa.select(c.seq, c.event, c.payload)
            .where(c.vendor_id == vendor_id, c.seq > after_seq)
            .order_by(c.seq)
            .limit(limit)
        )
        return [dict(r._mapping) for r in await self.db.fetch_all(query)]

    async def log_bounds(self, vendor_id: str) -> tuple[int, int]:
        """`(first, last)` sequence numbers in the embedded log, `(0, 0)` when empty."""
        c = event_log.c
        row = await self.db.fetch_one(
            sa.select(sa.func.min(c.seq), sa.func.max(c.seq)).where(c.vendor_id == vendor_id)
        )
        if row is None or row[1] is None:
            return 0, 0
        return int(row[0]), int(row[1])

    async def trim_log(self, *, keep_events: int, older_than_ms: int) -> int:
        """Drop events past the retention (per vendor count, and age); how many went."""
        c = event_log.c
        async with self.transaction():
            newest = (
                sa.select(c.vendor_id, sa.func.max(c.seq).label("top"))
                .group_by(c.vendor_id)
                .subquery()
            )
            by_count = event_log.delete().where(
                c.seq
                <= sa.select(newest.c.top - keep_events)
                .where(newest.c.vendor_id == c.vendor_id)
                .scalar_subquery()
            )
            gone = await self.db.execute(by_count)
            # The newest event of a vendor stays: it is the position new streams start from.
            by_age = event_log.delete().where(
                c.created_at < older_than_ms,
                c.seq
                < sa.select(newest.c.top)
                .where(newest.c.vendor_id == c.vendor_id)
                .scalar_subquery(),
            )
            gone2 = await self.db.execute(by_age)
        return int(gone or 0) + int(gone2 or 0)

    # -- admin pages -------------------------------------------------------------

    async def get_admin(self, username: str) -> Row | None:
        row = await self.db.fetch_one(sa.select(admins).where(admins.c.username == username))
        return dict(row._mapping) if row else None

    async def save_admin(self, username: str, password_hash: str) -> bool:
        """Create the admin, or give it a new password (voiding its sessions); True if new."""
        now = now_ms()
        async with self.transaction():
            updated = await self.db.fetch_all(
                admins.update()
                .where(admins.c.username == username)
                .values(password_hash=password_hash, password_changed_at=now)
                .returning(admins.c.username)
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

    async def rehash_admin(self, username: str, password_hash: str) -> None:
        """Store a stronger hash of the same password (sessions stay valid)."""
        async with self.transaction():
            await self.db.execute(
                admins.update()
                .where(admins.c.username == username)
                .values(password_hash=password_hash)
            )

    async def totals(self) -> Row:
        """Vendors, notifications and unread notifications, across all vendors."""
        unread = sa.func.sum(
            sa.case((sa.and_(N.read_at.is_(None), N.archived_at.is_(None)), 1), else_=0)
        )
        row = await self.db.fetch_one(sa.select(sa.func.count(), unread).select_from(notifications))
        count_vendors = await self.db.fetch_val(sa.select(sa.func.count()).select_from(vendors))
        return {
            "vendors": int(count_vendors or 0),
            "notifications": int(row[0] or 0) if row else 0,
            "unread": int(row[1] or 0) if row else 0,
        }

    async def vendor_overview(self, limit: int, vendor_id: str | None = None) -> list[Row]:
        """Vendors with their notification counts, most recently notified first."""
        v = vendors.c
        unread = sa.func.sum(
            sa.case((sa.and_(N.read_at.is_(None), N.archived_at.is_(None)), 1), else_=0)
        )
        last = sa.func.max(N.created_at)
        query = (
            sa.select(
                v.id,
                v.email,
                v.phone,
                v.created_at,
                sa.func.count(N.id).label("total"),
                unread.label("unread"),
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

    # -- meta ------------------------------------------------------------------

    async def meta_get_or_set(self, key: str, value: str) -> str:
        async with self.transaction():
            await self.db.execute(
                "INSERT INTO tocsin_meta (key, value) VALUES (:key, :value) "
                "ON CONFLICT (key) DO NOTHING",
                {"key": key, "value": value},
            )
            current = await self.db.fetch_val(sa.select(meta.c.value).where(meta.c.key == key))
        return str(current)
