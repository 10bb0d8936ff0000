"""SQL of retention: what is old enough to go, purged a batch per transaction.

`RULES` is the list of (table, age rule) the purge walks. A rule's `where`
speaks of two cut-off times (ms): `:keep_all` (`TOCSIN_KEEP_DAYS`) and
`:keep_read` (`TOCSIN_KEEP_READ_DAYS`, never earlier than `:keep_all`). A rule
may name child tables whose rows go with each purged row. Purging
notifications adjusts the kept unread counts in the batch's transaction (an old
unread notification leaves the count with it); no vendor lock is taken, since
a count changes by atomic addition and each row is deleted once.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from tocsin.storage.counts import CountStore
from tocsin.storage.db import Database


@dataclass(frozen=True, slots=True)
class Rule:
    table: str
    key: str
    where: str
    # (table, column holding this table's key): rows that go with a purged row.
    children: tuple[tuple[str, str], ...] = ()


RULES: tuple[Rule, ...] = (
    Rule(
        "notifications",
        "id",
        "created_at < :keep_read AND "
        "(created_at < :keep_all OR read_at IS NOT NULL OR archived_at IS NOT NULL)",
    ),
    Rule("processed_events", "event_id", "created_at < :keep_all"),
    Rule(
        "deliveries",
        "id",
        "created_at < :keep_all AND status IN ('sent', 'failed', 'skipped')",
        children=(("delivery_attempts", "delivery_id"),),
    ),
    # The lines digests listed: kept as long as the deliveries that mailed them.
    Rule("digest_items", "id", "created_at < :keep_all"),
    Rule("bulk_jobs", "id", "created_at < :keep_read AND status <> 'running'"),
    # The delivery audit's tab counts: kept as long as the delivery log.
    Rule("notification_streams", "notification_id", "last_at < :keep_all"),
)

# `tocsin_meta` key: until when (ms) a process holds the purge; the next may start then.
PURGE_DUE = "purge_due"
_CLAIM = (
    "INSERT INTO tocsin_meta (key, value) VALUES (:key, :until) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value "
    "WHERE CAST(tocsin_meta.value AS BIGINT) <= :now RETURNING value"
)

# Tables are counted exactly up to this many rows; beyond, their size is an estimate.
EXACT_UP_TO = 10_000

# The tables whose sizes the admin overview shows.
TABLES = (
    "notifications",
    "unread_counts",
    "outbox",
    "event_log",
    "processed_events",
    "deliveries",
    "delivery_attempts",
    "digest_items",
    "bulk_jobs",
    "notification_streams",
    "vendors",
)


@dataclass(frozen=True, slots=True)
class TableSize:
    table: str
    rows: int
    # `exact`; `estimate` (about `rows`); `more` (more than `rows`, no estimate yet)
    kind: str
    bytes: int | None  # with its indexes; PostgreSQL only


class RetentionStore:
    def __init__(self, db: Database, counts: CountStore) -> None:
        self.db = db
        self.counts = counts

    async def purge_batch(self, rule: Rule, keep_all: int, keep_read: int, batch: int) -> int:
        """Delete up to `batch` rows of `rule.table` older than its rule; how many went."""
        returning = (
            f"{rule.key}, vendor_id, type, read_at, archived_at"
            if rule.table == "notifications"
            else rule.key
        )
        sql = (
            f"DELETE FROM {rule.table} WHERE {rule.key} IN "
            f"(SELECT {rule.key} FROM {rule.table} WHERE {rule.where} LIMIT :batch) "
            f"RETURNING {returning}"
        )
        async with self.db.transaction():
            rows = await self.db.rows(
                sql,
                {"keep_all": keep_all, "keep_read": max(keep_read, keep_all), "batch": batch},
                offload=True,
            )
            if not rows:
                return 0
            keys = [r[0] for r in rows]
            for child, column in rule.children:
                await self._delete_children(child, column, keys)
            if rule.table == "notifications":
                unread: defaultdict[str, Counter[str]] = defaultdict(Counter)
                for r in rows:
                    if r[3] is None and r[4] is None:
                        unread[r[1]][r[2]] -= 1
                for vendor_id in sorted(unread):
                    await self.counts.add(vendor_id, unread[vendor_id])
        return len(rows)

    async def claim_purge(self, now: int, until: int) -> bool:
        """Take the purge if no process holds it at `now`, holding it to `until` (ms).

        A compare-and-set on one `tocsin_meta` row: PostgreSQL serialises
        concurrent upserts of a row and re-checks the condition on the version
        the winner committed, so of processes (or hosts) claiming at once one wins.
        """
        async with self.db.transaction():
            won = await self.db.value(_CLAIM, {"key": PURGE_DUE, "until": str(until), "now": now})
        return won is not None

    async def hold_purge(self, until: int) -> None:
        """Keep holding the purge (a long one) to `until` (ms)."""
        async with self.db.transaction():
            await self.db.run(
                "UPDATE tocsin_meta SET value = :until WHERE key = :key",
                {"key": PURGE_DUE, "until": str(until)},
            )

    async def _delete_children(self, table: str, column: str, keys: list[object]) -> None:
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            marks = ", ".join(f":k{i}" for i in range(len(part)))
            await self.db.run(
                f"DELETE FROM {table} WHERE {column} IN ({marks})",
                {f"k{i}": key for i, key in enumerate(part)},
                offload=True,
            )

    async def sizes(self, exact_up_to: int = EXACT_UP_TO) -> list[TableSize]:
        """Each of `TABLES`: rows, exact up to `exact_up_to`, else estimated; bytes on PostgreSQL.

        Each costs at most `exact_up_to` rows read, never a full count: a
        bounded count first, and past the bound PostgreSQL's statistics
        (`pg_class.reltuples`, as of the last ANALYZE) or SQLite's rowid span.
        """
        return [await self._size(table, exact_up_to) for table in TABLES]

    async def _size(self, table: str, exact_up_to: int) -> TableSize:
        bounded = f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :over) AS t"
        rows = int(await self.db.value(bounded, {"over": exact_up_to + 1}, offload=True) or 0)
        size = None
        if self.db.dialect == "postgresql":
            size = int(
                await self.db.value("SELECT pg_total_relation_size(to_regclass(:t))", {"t": table})
                or 0
            )
        if rows <= exact_up_to:
            return TableSize(table, rows, "exact", size)
        if self.db.dialect == "postgresql":
            # -1: never analysed (PostgreSQL 14+): all that is known is the bound.
            tuples = float(
                await self.db.value(
                    "SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)", {"t": table}
                )
                or -1
            )
            if tuples < 0:
                return TableSize(table, rows, "more", size)
            return TableSize(table, max(int(tuples), rows), "estimate", size)
        # Rowids grow by one per insert and retention takes the oldest, so the span
        # is close; never below what was counted.
        span = int(
            await self.db.value(
                f"SELECT coalesce(max(rowid) - min(rowid) + 1, 0) FROM {table}", offload=True
            )
            or 0
        )
        return TableSize(table, max(span, rows), "estimate", size)
