"""The embedded database's connections: kept open and bounded, following a replaced file,
and never making the event loop wait for another process's lock (real SQLite files)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tocsin.storage import migrate
from tocsin.storage.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate.upgrade(url)
    database = Database(url, pool_size=4)
    await database.connect()
    yield database
    await database.disconnect()


def _aiosqlite_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.daemon and "_connection_worker" in t.name)


async def test_connections_are_kept_and_never_more_than_the_pool(db: Database) -> None:
    before = _aiosqlite_threads()  # the fixture's one, kept from connecting
    # Writes outside a transaction run in a connection's thread: 200 at once.
    await asyncio.gather(
        *(
            db.run("INSERT INTO tocsin_meta (key, value) VALUES (:k, 'v')", {"k": f"k{n}"})
            for n in range(200)
        )
    )
    assert await db.value("SELECT count(*) FROM tocsin_meta WHERE key LIKE 'k%'") == 200
    opened = _aiosqlite_threads() - before
    assert 0 <= opened <= 3  # pool_size 4 in all
    # Kept for the next queries: no new connection (no new thread) for them.
    await asyncio.gather(*(db.rows("SELECT 1") for _ in range(50)))
    assert _aiosqlite_threads() - before == opened


async def test_a_replaced_file_is_read_through_a_new_connection(
    db: Database, tmp_path: Path
) -> None:
    await db.run("INSERT INTO tocsin_meta (key, value) VALUES ('where', 'first')")
    assert await db.value("SELECT value FROM tocsin_meta WHERE key = 'where'") == "first"
    # Another database put in its place (a restored volume): what it holds is read.
    for suffix in ("", "-wal", "-shm"):  # the volume is gone, and a restored one is back
        (tmp_path / f"db.sqlite{suffix}").unlink(missing_ok=True)
    other = tmp_path / "other.sqlite"
    migrate.upgrade(f"sqlite:///{other}")
    conn = sqlite3.connect(other, isolation_level=None)
    conn.execute("INSERT INTO tocsin_meta (key, value) VALUES ('where', 'second')")
    conn.close()  # the last connection: its WAL goes into the file
    other.replace(tmp_path / "db.sqlite")
    assert await db.value("SELECT value FROM tocsin_meta WHERE key = 'where'") == "second"


async def test_waiting_for_another_process_lock_does_not_stop_the_loop(
    db: Database, tmp_path: Path
) -> None:
    holder = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def write() -> None:
        async with db.transaction():
            await db.run("INSERT INTO tocsin_meta (key, value) VALUES ('k', 'v')")

    ticking = asyncio.create_task(ticker())
    writing = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    assert not writing.done()  # waiting for the lock, in the connection's thread
    assert ticks >= 10  # and the loop ran meanwhile
    holder.execute("COMMIT")
    await asyncio.wait_for(writing, 5)
    stop.set()
    await ticking
    holder.close()
    assert await db.value("SELECT value FROM tocsin_meta WHERE key = 'k'") == "v"


async def test_a_transaction_cancelled_while_it_waits_for_the_lock_leaves_nothing_open(
    db: Database, tmp_path: Path
) -> None:
    """Its `BEGIN IMMEDIATE` still runs in the thread once the lock is free: the
    connection must not be lent again with that transaction open."""
    holder = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")

    async def write() -> None:
        async with db.transaction():
            await db.run("INSERT INTO tocsin_meta (key, value) VALUES ('cancelled', 'v')")

    waiting = asyncio.create_task(write())
    await asyncio.sleep(0.2)  # in BEGIN IMMEDIATE, waiting for the holder's lock
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    holder.execute("COMMIT")
    holder.close()
    # Later writes, in a transaction or not, commit (none lands in an orphaned one).
    await db.run("INSERT INTO tocsin_meta (key, value) VALUES ('after', 'v')")
    async with db.transaction():
        await db.run("INSERT INTO tocsin_meta (key, value) VALUES ('after2', 'v')")
    # Nobody holds the write lock now (a connection with the orphaned BEGIN would).
    check = sqlite3.connect(tmp_path / "db.sqlite", isolation_level=None, timeout=5)
    check.execute("BEGIN IMMEDIATE")
    rows = {r[0] for r in check.execute("SELECT key FROM tocsin_meta")}
    check.execute("ROLLBACK")
    check.close()
    assert {"after", "after2"} <= rows
    assert "cancelled" not in rows
