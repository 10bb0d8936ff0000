"""Group commit: concurrent small writes share one transaction, and so one sync.

A commit costs a WAL sync (about a thousand a second on this SQLite, and the
same order on PostgreSQL's disk), so one transaction per notification caps
publishing there. `GroupCommit.run` queues a unit of work on a lane; the lane
takes everything queued meanwhile (up to `max_batch`), runs each unit in a
savepoint of its own inside one transaction, commits once, and only then
answers each caller — so an answer still means committed. A unit that raises
rolls back its savepoint and gets its own exception; the others commit.

A key (the vendor id) always maps to the same lane, and a lane runs its units
in arrival order, so a vendor's writes keep their order and never wait on
each other across lanes. SQLite has one writer: one lane. Work that already
runs inside a transaction (ingest creating notifications) joins it instead.

On PostgreSQL a unit may wait for a lock that another transaction holds (a
bulk chunk holding its vendor's row), and while it waits its whole lane waits,
with the other vendors queued there. So a lane's transaction waits at most
`LANE_LOCK_WAIT` for a lock (`SET LOCAL lock_timeout`): a unit that times out
rolls back its savepoint and is parked with its key, and a task of its own runs
that key's parked units one by one, each in its own transaction that waits for
the lock as long as it takes. Units of a parked key that reach the lane meanwhile
join the parked ones, in order, so a vendor's writes still keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from tocsin import metrics
from tocsin.errors import Unavailable
from tocsin.storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[], Awaitable[Any]]
_Item = tuple[str | None, Work, "asyncio.Future[Any]"]

# How long a lane's transaction waits for a lock before parking the unit (PostgreSQL).
LANE_LOCK_WAIT = "50ms"


class GroupCommit:
    def __init__(self, db: Database, *, lanes: int, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queues: list[asyncio.Queue[_Item]] = [asyncio.Queue() for _ in range(lanes)]
        self._tasks: list[asyncio.Task[None]] = []
        # key → its units waiting for a lock, oldest first, run by a task of their own.
        self._parked: dict[str | None, list[_Item]] = {}
        self._drains: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._lane(q), name=f"tocsin-write-lane-{n}")
            for n, q in enumerate(self._queues)
        ]

    async def close(self) -> None:
        tasks = [*self._tasks, *self._drains]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        self._drains = set()
        self._parked = {}

    async def run(self, key: str | None, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` in a transaction shared with other callers; its result once committed.

        `work` may run more than once (a batch that failed is run again, see
        `_commit_at_once`): it must leave nothing behind but its database writes
        and its result, or start by undoing what an earlier run left.

        `key` names what the work locks (a vendor id); `None` is work over several
        keys, which shares a transaction only where there is one lane (two lanes
        locking each other's keys in different orders could deadlock).
        """
        lanes = len(self._queues)
        if self.db.in_transaction or not self._tasks or (key is None and lanes > 1):
            async with self.db.transaction():
                return await work()
        lane = self._queues[0 if key is None else zlib.crc32(key.encode()) % lanes]
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        lane.put_nowait((key, work, future))
        return await future

    async def _lane(self, queue: asyncio.Queue[_Item]) -> None:
        batch: list[_Item] = []
        while True:
            try:
                async with self.db.connection() as held:
                    while True:
                        if not batch:
                            batch = [await queue.get()]
                            while len(batch) < self.max_batch and not queue.empty():
                                batch.append(queue.get_nowait())
                            batch = self._behind_parked(batch)
                            if not batch:
                                continue
                        if held.replaced():
                            break  # open the path again (or fail there, Unavailable)
                        await self._commit(batch)
                        batch = []
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # No connection: the waiting batch fails with the reason (Unavailable).
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                batch = []
                if not isinstance(exc, Unavailable):
                    log.exception("write lane lost its connection; reconnecting")

    def _behind_parked(self, batch: list[_Item]) -> list[_Item]:
        """`batch` without the units of parked keys, which join their key's queue."""
        ready = []
        for item in batch:
            if item[0] in self._parked:
                self._parked[item[0]].append(item)
            else:
                ready.append(item)
        return ready

    def _park(self, item: _Item) -> None:
        key = item[0]
        if key in self._parked:
            self._parked[key].append(item)
            return
        self._parked[key] = [item]
        # A context of its own: not the lane's, which holds its connection (`Database._holding`).
        task = asyncio.create_task(
            self._drain(key), name="tocsin-write-parked", context=contextvars.Context()
        )
        self._drains.add(task)
        task.add_done_callback(self._drains.discard)

    async def _drain(self, key: str | None) -> None:
        """Run `key`'s parked units in order, each in a transaction that waits for its lock."""
        queue = self._parked[key]
        while queue:
            _, work, future = queue[0]
            try:
                async with self.db.transaction():
                    result = await work()
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)
            queue.pop(0)
        del self._parked[key]

    async def _commit(self, batch: list[_Item]) -> None:
        locked: set[str | None] = set()
        if len(batch) > 1:
            failed = await self._commit_at_once(batch)
            if failed is None:
                return
            locked = failed
        await self._commit_apart(batch, locked)

    async def _commit_at_once(self, batch: list[_Item]) -> set[str | None] | None:
        """Run the whole batch without savepoints; None once committed, else (all rolled
        back) the key whose lock the batch waited for in vain, if that is why.

        Units rarely fail, and a savepoint costs two statements per unit (two
        round trips on PostgreSQL): the common batch commits without them, and a
        batch where one unit raised runs again in `_commit_apart`, where it fails
        alone. So a unit may run more than once before it commits; only the
        committed run's effects and result count (see `run`).
        """
        results: list[Any] = []
        key: str | None = None
        try:
            async with self.db.transaction():
                if self.db.dialect == "postgresql":
                    await self.db.run(f"SET LOCAL lock_timeout = '{LANE_LOCK_WAIT}'")
                for item in batch:
                    key = item[0]  # the one running, should it wait in vain for a lock
                    results.append(await item[1]())
        except asyncpg.exceptions.LockNotAvailableError:
            return {key}  # parked at once in `_commit_apart`: not a second wait
        except Exception:
            # Rolled back: again, each unit in a savepoint of its own. So one unit's
            # database error (even one that reads as the database being away) fails
            # that unit alone; a database that is really away fails the next
            # transaction too, and the lane then opens its connection again.
            return set()
        metrics.WRITE_BATCH.observe(len(batch))
        for (_, _, future), result in zip(batch, results, strict=True):
            if not future.done():  # else the caller went away; committed all the same
                future.set_result(result)
        return None

    async def _commit_apart(self, batch: list[_Item], locked: set[str | None]) -> None:
        """Run each unit in a savepoint of its own: one that raises gets its exception alone.

        Units of `locked` keys (their lock was waited for in vain) are parked unrun.
        """
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        parked: list[_Item] = []
        try:
            async with self.db.transaction():
                if self.db.dialect == "postgresql":
                    await self.db.run(f"SET LOCAL lock_timeout = '{LANE_LOCK_WAIT}'")
                for item in batch:
                    key, work, future = item
                    if key in locked or (key is not None and any(p[0] == key for p in parked)):
                        parked.append(item)  # behind its key's parked unit
                        continue
                    try:
                        async with self.db.transaction():  # a savepoint
                            result = await work()
                    except asyncpg.exceptions.LockNotAvailableError:
                        parked.append(item)
                    except Exception as exc:
                        outcomes.append((future, None, exc))
                    else:
                        outcomes.append((future, result, None))
        except Exception as exc:
            # The commit itself failed: nothing of the batch is stored.
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, Unavailable):
                raise  # the lane opens its connection again
            return
        finally:
            # Outside the lane's transaction, so the parked units get transactions of their own.
            for item in parked:
                if not item[2].done():
                    self._park(item)
        metrics.WRITE_BATCH.observe(len(batch) - len(parked))
        for future, result, error in outcomes:
            if future.done():
                continue  # the caller went away; its work is committed all the same
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
