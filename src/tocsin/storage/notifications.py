"""SQL of notifications (table `notifications`): insert, find, list, change.

A change reports how it moved the vendor's unread counts (`Changed.unread`),
which the service adds to the kept counts (`storage.counts`) in the same
transaction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from tocsin._ids import now_ms
from tocsin.model import ListFilter, Notification
from tocsin.storage.db import Database
from tocsin.storage.schema import notifications

N = notifications.c

# The columns a bulk change sets to a time (on) or clears (off).
TimeColumn = Literal["read_at", "seen_at", "archived_at"]
# Unread is neither read nor archived: setting one of these flips a row's
# unread state only where the other is clear.
# (`seen_at` is no part of it: a seen notification is still unread.)
_OTHER: dict[TimeColumn, TimeColumn] = {"read_at": "archived_at", "archived_at": "read_at"}


@dataclass(slots=True)
class Changed:
    """The ids a change touched, and by how much it moved the unread count of each type."""

    ids: list[str] = field(default_factory=list)
    unread: Counter[str] = field(default_factory=Counter)


# The statements of the publish path, as text: `databases` compiles every
# SQLAlchemy expression anew on each call, and that compilation was a quarter
# of the CPU of creating a notification (py-spy).
_INSERT = (
    "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, link, "
    "created_at, read_at, seen_at, archived_at, dedupe_key) VALUES (:id, :vendor_id, :type, "
    ":title, :body, :data, :priority, :link, :created_at, :read_at, :seen_at, :archived_at, "
    ":dedupe_key)"
)

# PostgreSQL: the rest of a create in one round trip (three otherwise), once the
# vendor's sequence number is taken (`VendorStore.next_seq`, a statement of its own:
# a statement reads the snapshot of its start, and this one must see what was
# committed while it waited for the vendor's lock): the row, its unread count,
# and its outbox event, whose payload is `:head`, the vendor's new unread total,
# and `:tail`. The outer query sees the other types' counts as they are and the
# changed one through `c`.
_CREATE_REST = (
    "WITH n AS (INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, "
    "link, created_at) VALUES (:id, :vendor_id, :type, :title, :body, :data, :priority, :link, "
    ":created_at)), "
    "c AS (INSERT INTO unread_counts (vendor_id, type, unread) VALUES (:vendor_id, :type, 1) "
    "ON CONFLICT (vendor_id, type) DO UPDATE SET unread = unread_counts.unread + 1 "
    "RETURNING unread), "
    "t AS (SELECT (SELECT unread FROM c) + coalesce((SELECT sum(unread) FROM unread_counts "
    "WHERE vendor_id = :vendor_id AND type <> :type), 0) AS total) "
    "INSERT INTO outbox (vendor_id, seq, event, payload, created_at) "
    "SELECT :vendor_id, :seq, :event, :head || t.total::text || :tail, :now FROM t"
)

_COLUMNS = (
    "id",
    "vendor_id",
    "type",
    "title",
    "body",
    "data",
    "priority",
    "link",
    "created_at",
    "read_at",
    "seen_at",
    "archived_at",
    "dedupe_key",
)

_BY_DEDUPE = "SELECT * FROM notifications WHERE vendor_id = :vendor_id AND dedupe_key = :dedupe_key"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def conditions(vendor_id: str, f: ListFilter) -> list[sa.ColumnElement[bool]]:
    """The `WHERE` of a vendor's notifications matching `f`."""
    conds: list[sa.ColumnElement[bool]] = [N.vendor_id == vendor_id]
    if f.unread is True:
        conds.append(N.read_at.is_(None))
    elif f.unread is False:
        conds.append(N.read_at.is_not(None))
    if f.seen is True:
        conds.append(N.seen_at.is_not(None))
    elif f.seen is False:
        conds.append(N.seen_at.is_(None))
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


def decode(row: Mapping[str, Any]) -> Notification:
    data = row["data"]
    return Notification(
        id=row["id"],
        vendor_id=row["vendor_id"],
        type=row["type"],
        title=row["title"],
        body=row["body"],
        data=json.loads(data) if isinstance(data, str) else (data or {}),
        priority=row["priority"],
        link=row["link"],
        created_at=row["created_at"],
        read_at=row["read_at"],
        seen_at=row["seen_at"],
        archived_at=row["archived_at"],
        dedupe_key=row["dedupe_key"],
    )


def _values(n: Notification) -> dict[str, Any]:
    """`n` as the parameters of `_INSERT`."""
    return {
        "id": n.id,
        "vendor_id": n.vendor_id,
        "type": n.type,
        "title": n.title,
        "body": n.body,
        "data": json.dumps(n.data, separators=(",", ":")),
        "priority": n.priority,
        "link": n.link,
        "created_at": n.created_at,
        "read_at": n.read_at,
        "seen_at": n.seen_at,
        "archived_at": n.archived_at,
        "dedupe_key": n.dedupe_key,
    }


# The columns `_CREATE_REST` leaves to their defaults (NULL): a new notification's.
_UNSET_WHEN_NEW = ("read_at", "seen_at", "archived_at", "dedupe_key")


class NotificationStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def insert(self, n: Notification) -> None:
        await self.db.run(_INSERT, _values(n))

    async def create_rest(
        self, n: Notification, seq: int, event: str, head: str, tail: str
    ) -> None:
        """PostgreSQL, under the vendor's lock (its sequence number `seq` taken): store
        unread `n` (no dedupe key) with its count and its outbox event (payload `head`
        + the vendor's new unread total + `tail`), in one statement."""
        assert n.read_at is None
        assert n.archived_at is None
        assert n.dedupe_key is None
        await self.db.run(
            _CREATE_REST,
            {
                **{k: v for k, v in _values(n).items() if k not in _UNSET_WHEN_NEW},
                "seq": seq,
                "event": event,
                "head": head,
                "tail": tail,
                "now": now_ms(),
            },
        )

    async def insert_many(self, rows: Sequence[Notification]) -> None:
        """Insert `rows` in one statement (COPY on PostgreSQL): for filling a vendor in bulk."""
        await self.db.insert_many(
            "notifications",
            _COLUMNS,
            [
                (
                    n.id,
                    n.vendor_id,
                    n.type,
                    n.title,
                    n.body,
                    json.dumps(n.data, separators=(",", ":")),
                    n.priority,
                    n.link,
                    n.created_at,
                    n.read_at,
                    n.seen_at,
                    n.archived_at,
                    n.dedupe_key,
                )
                for n in rows
            ],
        )

    async def get(self, vendor_id: str, notification_id: str) -> Notification | None:
        row = await self.db.fetch_one(
            sa.select(notifications).where(N.vendor_id == vendor_id, N.id == notification_id)
        )
        return decode(row._mapping) if row else None

    async def find_by_dedupe(self, vendor_id: str, dedupe_key: str) -> Notification | None:
        row = await self.db.row(_BY_DEDUPE, {"vendor_id": vendor_id, "dedupe_key": dedupe_key})
        return decode(row) if row else None

    async def page(
        self, vendor_id: str, f: ListFilter, *, before_id: str | None, limit: int
    ) -> list[Notification]:
        """Newest first; `before_id` is the keyset cursor (ids sort by creation)."""
        conds = conditions(vendor_id, f)
        if before_id is not None:
            conds.append(N.id < before_id)
        query = sa.select(notifications).where(*conds).order_by(N.id.desc()).limit(limit)
        rows = await self.db.fetch_all(query)
        return [decode(r._mapping) for r in rows]

    def _targets(
        self,
        vendor_id: str,
        column: TimeColumn | None,
        setting: bool,
        ids: Sequence[str] | None,
        f: ListFilter | None,
    ) -> list[sa.ColumnElement[bool]]:
        """The rows a change would touch: matching `f` (or `ids`), not so yet."""
        conds = conditions(vendor_id, f or ListFilter(archived=None))
        if ids is not None:
            conds.append(N.id.in_(list(ids)))
        if column is not None:
            conds.append(N[column].is_(None) if setting else N[column].is_not(None))
        return conds

    async def next_chunk(
        self,
        vendor_id: str,
        column: TimeColumn | None,
        setting: bool,
        f: ListFilter | None,
        *,
        below: str | None,
        limit: int,
    ) -> list[str]:
        """The ids a change by `f` would touch: the newest `limit` (below `below`, if given)."""
        conds = self._targets(vendor_id, column, setting, None, f)
        if below is not None:
            conds.append(N.id < below)
        query = sa.select(N.id).where(*conds).order_by(N.id.desc()).limit(limit)
        return [r[0] for r in await self.db.fetch_all(query)]

    async def set_time(
        self,
        vendor_id: str,
        column: TimeColumn,
        at: int | None,
        *,
        ids: Sequence[str] | None,
        f: ListFilter | None,
    ) -> Changed:
        """Set `column` to `at` (or clear it, `at=None`) where it is not so yet."""
        conds = self._targets(vendor_id, column, at is not None, ids, f)
        other = _OTHER.get(column)
        query = (
            notifications.update()
            .where(*conds)
            .values({column: at})
            .returning(N.id, N.type, N[other] if other else N.id)
        )
        step = -1 if at is not None else 1
        changed = Changed()
        for r in await self.db.fetch_all(query):
            changed.ids.append(r[0])
            if other is not None and r[2] is None:
                changed.unread[r[1]] += step
        return changed

    async def delete(
        self, vendor_id: str, *, ids: Sequence[str] | None, f: ListFilter | None
    ) -> Changed:
        conds = self._targets(vendor_id, None, True, ids, f)
        query = (
            notifications.delete().where(*conds).returning(N.id, N.type, N.read_at, N.archived_at)
        )
        changed = Changed()
        for r in await self.db.fetch_all(query):
            changed.ids.append(r[0])
            if r[2] is None and r[3] is None:
                changed.unread[r[1]] -= 1
        return changed
