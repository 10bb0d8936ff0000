"""The write path of one create in a bare driver loop: the limit tocsin's ingest is held to.

Per notification, one transaction: take the vendor's sequence number (row
lock), insert the notification, add to the unread count, insert the outbox
row, commit. SQLite: stdlib sqlite3, WAL, `synchronous=FULL`, one writer.
PostgreSQL: asyncpg, 16 connections, `synchronous_commit=on`. Also the same
with 32 notifications per transaction (what group commit does).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

SEQ = (
    "INSERT INTO vendors (id, seq, created_at) VALUES ({p}1, 1, 0) "
    "ON CONFLICT (id) DO UPDATE SET seq = vendors.seq + 1 RETURNING seq"
)
NOTE = (
    "INSERT INTO notifications (id, vendor_id, type, title, body, data, priority, created_at) "
    "VALUES ({p}1, {p}2, 'order_created', 'New order', 'body', '{{}}', 'normal', 0)"
)
COUNT = (
    "INSERT INTO unread_counts (vendor_id, type, unread) VALUES ({p}1, 'order_created', 1) "
    "ON CONFLICT (vendor_id, type) DO UPDATE SET unread = unread_counts.unread + 1"
)
OUTBOX = (
    "INSERT INTO outbox (vendor_id, seq, event, payload, created_at) "
    "VALUES ({p}1, {p}2, 'new_notification', '{{}}', 0)"
)
_ids = itertools.count()


def _nid() -> str:
    return f"{os.getpid():06d}{next(_ids):020d}"


def sqlite_limit(path: Path, seconds: float, per_tx: int) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    q = [s.format(p="?") for s in (SEQ, NOTE, COUNT, OUTBOX)]
    done = 0
    end = time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        conn.execute("BEGIN IMMEDIATE")
        for _ in range(per_tx):
            vendor = f"bare{done % 500}"
            seq = conn.execute(q[0], (vendor,)).fetchone()[0]
            conn.execute(q[1], (_nid(), vendor))
            conn.execute(q[2], (vendor,))
            conn.execute(q[3], (vendor, seq))
            done += 1
        conn.execute("COMMIT")
    conn.close()
    return done / (time.monotonic() - start)


async def pg_limit(dsn: str, seconds: float, per_tx: int, connections: int = 16) -> float:
    import asyncpg

    pool = await asyncpg.create_pool(
        dsn,
        min_size=connections,
        max_size=connections,
        server_settings={"synchronous_commit": "on"},
    )
    q = [s.format(p="$") for s in (SEQ, NOTE, COUNT, OUTBOX)]
    done = 0
    end = time.monotonic() + seconds
    start = time.monotonic()

    async def worker(n: int) -> None:
        nonlocal done
        k = 0
        async with pool.acquire() as conn:
            while time.monotonic() < end:
                async with conn.transaction():
                    for _ in range(per_tx):
                        # Vendors of their own per connection, as tocsin's lanes: no deadlocks.
                        vendor = f"bare{n}-{k % 31}"
                        k += 1
                        seq = await conn.fetchval(q[0], vendor)
                        await conn.execute(q[1], _nid(), vendor)
                        await conn.execute(q[2], vendor)
                        await conn.execute(q[3], vendor, seq)
                done += per_tx

    await asyncio.gather(*(worker(n) for n in range(connections)))
    rate = done / (time.monotonic() - start)
    await pool.close()
    return rate


def measure(sqlite_path: Path, pg_dsn: str, seconds: float = 4.0) -> dict[str, Any]:
    return {
        "sqlite_tx_per_s": round(sqlite_limit(sqlite_path, seconds, 1), 1),
        "sqlite_batched_per_s": round(sqlite_limit(sqlite_path, seconds, 32), 1),
        "pg_tx_per_s": round(asyncio.run(pg_limit(pg_dsn, seconds, 1)), 1),
        "pg_batched_per_s": round(asyncio.run(pg_limit(pg_dsn, seconds, 32)), 1),
    }
