"""The database: one `databases` pool for SQLite and PostgreSQL, and its transactions.

Every store runs its SQL through `Database`, which is also where a database that
is down, restarting or full becomes `Unavailable` (503, and the client retries).
Writes that must be atomic run inside `Database.transaction()`; on SQLite, which
has one writer at a time, it also serialises them in-process so concurrent
requests queue instead of failing with `database is locked`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aiosqlite
import asyncpg
import databases
from sqlalchemy.sql import ClauseElement

from tocsin.errors import unavailable_on
from tocsin.storage import _raw

Query = ClauseElement | str
Params = dict[str, Any] | None

# What a database that is down, restarting or full raises.
DOWN: tuple[type[BaseException], ...] = (
    OSError,  # refused connections, and timeouts (TimeoutError is an OSError)
    sqlite3.OperationalError,  # e.g. "database is locked", "unable to open database file"
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
)
DETAIL = "the database is unavailable; retry shortly"


def _down() -> contextlib.AbstractContextManager[None]:
    return unavailable_on(DOWN, DETAIL)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset (see `Database.__init__`)."""


class Held:
    """A connection held open; on SQLite, whether its file is still the one at the path."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._file = self._identity()

    def _identity(self) -> tuple[int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def replaced(self) -> bool:
        """The file was deleted or replaced (a lost volume): writes here would vanish."""
        return self._path is not None and self._identity() != self._file


# SQLite connections whose caller was cancelled while something ran in their
# thread: it may still run (a `BEGIN IMMEDIATE` that gets its lock after all), or
# have left a statement unfinished (a cursor never closed keeps its read snapshot:
# the connection would read the past from then on). The pool closes them, after
# what is running, instead of lending them again.
_UNSURE: weakref.WeakSet[aiosqlite.Connection] = weakref.WeakSet()


def _mark_when_cancelled(connection: aiosqlite.Connection) -> None:
    """Add `connection` to `_UNSURE` when a caller is cancelled while it works."""
    run: Callable[..., Awaitable[Any]] = connection._execute

    async def execute(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await run(fn, *args, **kwargs)
        except asyncio.CancelledError:
            _UNSURE.add(connection)
            raise

    connection._execute = execute  # type: ignore[method-assign]


class _SQLitePool:
    """At most `size` SQLite connections, kept open between uses.

    `databases` opens a new connection, with a thread of its own, for every
    acquire: outside a transaction every query paid for a file open and a
    thread start, and a saturated process had hundreds of them open at once
    (a quarter of a create's CPU on the embedded default, by py-spy). Here a
    caller beyond `size` waits for a connection to come back. Only the write
    lane and the relay hold one for long, and a connection is never held while
    waiting for one (the write lock is taken before the connection), so
    waiting cannot deadlock. A connection whose file was deleted or replaced
    since it opened is closed instead of reused (it would read and write a
    file nobody sees), and so is one given back inside a transaction.
    """

    def __init__(self, base: Any, path: str | None, *, size: int) -> None:
        self._database: str = base._database
        self._options: dict[str, Any] = base._options
        self._memref = base._memref  # read by `databases` on disconnect
        self._path = path
        self._free = asyncio.Semaphore(size)
        self._idle: list[tuple[aiosqlite.Connection, Held]] = []
        self._held: dict[int, Held] = {}

    async def acquire(self) -> aiosqlite.Connection:
        await self._free.acquire()
        try:
            connection = await self._take()
        except BaseException:
            self._free.release()
            raise
        return connection

    async def _take(self) -> aiosqlite.Connection:
        while self._idle:
            connection, held = self._idle.pop()
            if not held.replaced():
                self._held[id(connection)] = held
                return connection
            await self._close(connection)
        # Used from the loop's thread too (`_raw.sqlite`), never at the same time as
        # from its own: a task holds the connection and awaits each use.
        connection = aiosqlite.connect(
            self._database, isolation_level=None, check_same_thread=False, **self._options
        )
        # Idle connections must not keep a process from exiting (their threads are
        # not daemons): a committed transaction is in the WAL whether closed or not.
        connection._thread.daemon = True
        _mark_when_cancelled(connection)
        held = Held(self._path)
        try:
            await connection.__aenter__()
            # Durable: with WAL, every commit synced (SQLite's default, said aloud).
            async with connection.execute("PRAGMA synchronous=FULL"):
                pass
        except BaseException:
            # E.g. a write lane cancelled while it opens: close what was opened.
            await asyncio.shield(self._dispose(connection))
            raise
        self._held[id(connection)] = held
        return connection

    async def release(self, connection: aiosqlite.Connection) -> None:
        held = self._held.pop(id(connection), None)
        try:
            reusable = (
                held is not None
                and connection not in _UNSURE
                and connection._connection is not None
                and not connection.in_transaction
                and not held.replaced()
            )
            if reusable:
                assert held is not None
                self._idle.append((connection, held))
            else:
                await self._close(connection)
        finally:
            if held is not None:
                self._free.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await self._close(connection)

    @staticmethod
    async def _close(connection: aiosqlite.Connection) -> None:
        with contextlib.suppress(Exception):
            await connection.close()

    @classmethod
    async def _dispose(cls, connection: aiosqlite.Connection) -> None:
        """Close a connection whose opening failed or was cancelled, and wait for its
        thread: aiosqlite stops it without waiting, and a thread that answers after
        the event loop has closed raises there."""
        await cls._close(connection)
        thread = connection._thread
        if thread.is_alive():
            await asyncio.to_thread(thread.join, 5.0)


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        options: dict[str, Any] = {}
        if self.dialect == "postgresql":
            options = {
                "min_size": 1,
                "max_size": pool_size,
                # A commit returns once its WAL is flushed, whatever the server's
                # default: a 201 means the notification survives a crash.
                "server_settings": {"synchronous_commit": "on"},
                # asyncpg's default reset (RESET ALL, UNLISTEN, advisory unlock: one
                # more round trip per query outside a transaction) undoes session
                # state tocsin never sets; an open transaction is still rolled back.
                "reset": _keep_session,
            }
        self._db = databases.Database(url, **options)
        self._path = databases.DatabaseURL(url).database if self.dialect == "sqlite" else None
        self._pool: _SQLitePool | None = None
        if self.dialect == "sqlite":
            backend = self._db._backend
            # The write lane and the relay hold one each while waiting for the write
            # lock: with fewer than four, the lock's holder could wait for a connection.
            size = max(pool_size, 4)
            self._pool = _SQLitePool(backend._pool, self._path, size=size)  # type: ignore[attr-defined]
            backend._pool = self._pool  # type: ignore[attr-defined]
        # SQLite has a single writer: queue writers here rather than in SQLite.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.dialect == "sqlite" else None
        # Set in the task that runs a transaction: a nested one joins it (a savepoint).
        self._savepoints = itertools.count()
        # Set in the task that holds a connection through `connection()`.
        self._holding: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"tocsin_db_holding_{id(self)}", default=False
        )
        self._in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"tocsin_db_transaction_{id(self)}", default=False
        )

    @contextlib.asynccontextmanager
    async def _down(self) -> AsyncIterator[None]:
        try:
            with unavailable_on(DOWN, DETAIL):
                yield
        except BaseException:
            # Not one held by `connection()`: its holder gives it back (and the write
            # lane's batches raise through here when a unit fails).
            if not self._in_transaction.get() and not self._holding.get():
                await self._drop_task_connection()
            raise

    async def _drop_task_connection(self) -> None:
        """Forget the connection `databases` keeps for the current task, if any.

        Outside our transactions a task holds no connection between calls, so
        one still there after a failure is wedged: `databases` 0.9 leaves it
        marked as acquired when giving it back to the pool fails, or a rollback
        fails on a closed connection, and every later query of the task then
        fails ("Connection is already acquired", "connection is closed"). For a
        task that lives as long as the process, the relay, that was forever
        (found by the PostgreSQL restart test, issue 10).
        """
        task = asyncio.current_task()
        held = self._db._connection_map.pop(task, None) if task is not None else None
        backend = getattr(held, "_connection", None)
        if backend is not None and getattr(backend, "_connection", None) is not None:
            with contextlib.suppress(Exception):
                await backend.release()  # back to the pool, which drops a closed one

    async def connect(self) -> None:
        async with self._down():
            await self._db.connect()
            if self.dialect == "sqlite":
                await self._db.execute("PRAGMA journal_mode=WAL")

    async def disconnect(self) -> None:
        async with self._down():
            await self._db.disconnect()
            if self._pool is not None:
                await self._pool.close()

    @property
    def in_transaction(self) -> bool:
        """Whether the current task runs inside `transaction()`."""
        return self._in_transaction.get()

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Held]:
        """Hold one connection for the current task's queries and transactions inside."""
        # A wedged connection is dropped as its holder leaves (see `_down`).
        async with self._down(), self._db.connection():
            token = self._holding.set(True)
            try:
                yield Held(self._path)
            finally:
                self._holding.reset(token)

    async def ping(self) -> None:
        await self.fetch_val("SELECT 1")

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One atomic write; an exception inside rolls everything back.

        Inside another transaction of the same task it becomes a savepoint of it
        (and does not take the SQLite write lock again).
        """
        async with self._down():
            if self.dialect == "sqlite":
                async with self._sqlite_transaction():
                    yield
                return
            if self._in_transaction.get():
                async with self._db.transaction():
                    yield
                return
            async with self._db.transaction():
                token = self._in_transaction.set(True)
                try:
                    yield
                finally:
                    self._in_transaction.reset(token)

    @contextlib.asynccontextmanager
    async def _sqlite_transaction(self) -> AsyncIterator[None]:
        """SQLite's transactions, past `databases` (see `_raw`).

        `BEGIN IMMEDIATE` takes SQLite's write lock in the connection's thread (so
        waiting for another process never blocks the event loop), and `COMMIT`
        syncs there; everything between, savepoints included, is quick work in
        the page cache and runs on the loop.
        """
        if self._in_transaction.get():
            raw = self._db.connection().raw_connection._conn
            if not raw.in_transaction:
                # SQLite rolled the whole transaction back itself (a full disk, an I/O
                # error): a savepoint now would begin, and its release commit, a new one.
                raise sqlite3.OperationalError("the transaction was rolled back")
            name = f"tocsin_{next(self._savepoints)}"
            raw.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                if raw.in_transaction:
                    raw.execute(f"ROLLBACK TO {name}")
                    raw.execute(f"RELEASE {name}")
                raise
            raw.execute(f"RELEASE {name}")
            return
        assert self._write_lock is not None
        async with self._write_lock, self._db.connection() as connection:
            conn = connection.raw_connection
            token = self._in_transaction.set(True)
            try:
                await _raw.offloaded(conn, "BEGIN IMMEDIATE")
                yield
            except BaseException:
                # Cancelled while a statement ran in the thread, the connection is closed
                # after it instead (which rolls back): see `_UNSURE`.
                if conn not in _UNSURE:
                    # A failed rollback (none begun, a closed connection) must not hide
                    # why: the pool closes a connection still in a transaction anyway.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(_raw.offloaded(conn, "ROLLBACK"))
                raise
            else:
                await _raw.offloaded(conn, "COMMIT")
            finally:
                self._in_transaction.reset(token)

    async def execute(self, query: Query, values: Params = None) -> Any:
        async with self._down():
            return await self._db.execute(query, values)

    async def fetch_all(self, query: Query, values: Params = None) -> Sequence[Any]:
        async with self._down():
            return await self._db.fetch_all(query, values)

    async def fetch_one(self, query: Query, values: Params = None) -> Any:
        async with self._down():
            return await self._db.fetch_one(query, values)

    async def fetch_val(self, query: Query, values: Params = None) -> Any:
        async with self._down():
            return await self._db.fetch_val(query, values)

    # -- SQL text on the driver's own connection (the hot path; see `_raw`) ------
    # Rows come back as the driver's: by position or by name, no `_mapping`.

    async def _raw(self, kind: str, sql: str, values: Params, offload: bool = False) -> Any:
        with _down():
            connection = self._db.connection()
            async with connection:
                if self.dialect == "postgresql":
                    return await _raw.pg(connection.raw_connection, kind, sql, values)
                return await _raw.sqlite(
                    connection.raw_connection, kind, sql, values, offload=offload
                )

    async def insert_many(
        self, table: str, columns: Sequence[str], records: Sequence[Sequence[Any]]
    ) -> None:
        """Insert `records` into `table` at once: `COPY` on PostgreSQL, `executemany` on SQLite."""
        with _down():
            connection = self._db.connection()
            async with connection:
                raw = connection.raw_connection
                if self.dialect == "postgresql":
                    await raw.copy_records_to_table(table, columns=list(columns), records=records)
                    return
                marks = ", ".join("?" for _ in columns)
                await raw.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", records
                )

    # `offload`: a statement that may take long (purges, reports) runs in SQLite's
    # connection thread even inside a transaction, so the loop is not held (see `_raw`).

    async def run(self, sql: str, values: Params = None, *, offload: bool = False) -> None:
        await self._raw("execute", sql, values, offload)

    async def value(self, sql: str, values: Params = None, *, offload: bool = False) -> Any:
        return await self._raw("val", sql, values, offload)

    async def row(self, sql: str, values: Params = None, *, offload: bool = False) -> Any:
        return await self._raw("one", sql, values, offload)

    async def rows(
        self, sql: str, values: Params = None, *, offload: bool = False
    ) -> Sequence[Any]:
        rows: Sequence[Any] = await self._raw("all", sql, values, offload)
        return rows
