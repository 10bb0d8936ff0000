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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tocsin import metrics
from tocsin.errors import Unavailable
from tocsin.storage.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[], Awaitable[Any]]
_Item = tuple[Work, "asyncio.Future[Any]"]


class GroupCommit:
    def __init__(self, db: Database, *, lanes: int, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queues: list[asyncio.Queue[_Item]] = [asyncio.Queue() for _ in range(lanes)]
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._lane(q), name=f"tocsin-write-lane-{n}")
            for n, q in enumerate(self._queues)
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def run(self, key: str | None, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work` in a transaction shared with other callers; its result once committed.

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
        lane.put_nowait((work, future))
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
                        if held.replaced():
                            break  # open the path again (or fail there, Unavailable)
                        await self._commit(batch)
                        batch = []
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # No connection: the waiting batch fails with the reason (Unavailable).
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                batch = []
                if not isinstance(exc, Unavailable):
                    log.exception("write lane lost its connection; reconnecting")

    async def _commit(self, batch: list[_Item]) -> None:
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            async with self.db.transaction():
                for work, future in batch:
                    try:
                        async with self.db.transaction():  # a savepoint
                            result = await work()
                    except Exception as exc:
                        outcomes.append((future, None, exc))
                    else:
                        outcomes.append((future, result, None))
        except Exception as exc:
            # The commit itself failed: nothing of the batch is stored.
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        metrics.WRITE_BATCH.observe(len(batch))
        for future, result, error in outcomes:
            if future.done():
                continue  # the caller went away; its work is committed all the same
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
