"""Which delivery to look at next: the `deliveries` table, or a Redis Streams consumer group.

Both queues only point at rows of `deliveries`; the worker's claim in SQL
decides who sends. So an entry given twice costs a lookup, never a second send.

`RedisQueue`: `push` adds an entry per delivery to one stream read by the
consumer group `delivery`; each worker process is a consumer. An entry stays
pending until the worker acks it after recording the result, and entries of a
consumer that died are taken over with `XAUTOCLAIM` once idle longer than the
delivery lease. Retries wait in a sorted set and move back to the stream when
due. A periodic sweep re-adds deliveries that are overdue in SQL, for an entry
lost between the commit and `XADD`, or with a Redis that lost its data; such a
Redis has lost the consumer group too, which `take` then creates again. The
takes then announce every unsettled delivery again, a page at a time (due later
too: the worker puts those back in the delayed set, which went with the data),
as they do once after the process starts. An announcement that failed (Redis
down, or not up yet when the process started: the queue connects on first use)
is kept and pushed again by the next take; past `UNSENT` of them, the takes
announce every unsettled delivery instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import ResponseError

from tocsin import _redis, keys
from tocsin._ids import now_ms
from tocsin.errors import unavailable_on
from tocsin.settings import Settings
from tocsin.storage.deliveries import DeliveryStore

log = logging.getLogger(__name__)

GROUP = "delivery"
BLOCK_MS = 2000
SWEEP = 500  # deliveries re-added per sweep (or per page of a sweep of all)
UNSENT = 10_000  # failed announcements kept to push again
RECONNECT_SECONDS = 1.0  # after a failed connection, callers fail at once this long
_ALL = 0  # a sweep of every unsettled delivery starts after this id
# Consumers of dead processes that hold nothing are forgotten after this long (ms).
FORGET_CONSUMER_MS = 3600_000

# KEYS: delayed set, stream. ARGV: now (ms), max moved. Moves due ids to the stream.
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'd', id)
  redis.call('ZREM', KEYS[1], id)
end
return #due
"""


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: int
    entry: str | None = None  # the stream entry id (Redis only)


class Queue(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def push(self, ids: Sequence[int]) -> None:
        """Announce deliveries committed to SQL."""

    async def take(self, limit: int, wait: float, busy: Collection[int]) -> list[Job]:
        """Up to `limit` jobs; waits at most `wait` s for one; `busy` ids are in hand."""

    async def done(self, job: Job) -> None:
        """The job's delivery is settled (or not this queue's business any more)."""

    async def later(self, job: Job, due_ms: int) -> None:
        """Look at the job's delivery again at `due_ms`."""


async def announce(queue: Queue, ids: Sequence[int]) -> None:
    """Tell the workers of deliveries committed (or made due sooner) in SQL; what a
    queue cannot take now it keeps for later (see `RedisQueue`), never raised."""
    if not ids:
        return
    try:
        await queue.push(ids)
    except Exception as exc:
        log.warning("could not queue %d deliveries now (%s)", len(ids), exc)


class SqlQueue:
    """The embedded queue: the `deliveries` table, polled, and woken by `push` in-process."""

    def __init__(self, deliveries: DeliveryStore, poll_seconds: float) -> None:
        self.deliveries = deliveries
        self.poll = poll_seconds
        self._kick = asyncio.Event()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def push(self, ids: Sequence[int]) -> None:
        self._kick.set()

    async def take(self, limit: int, wait: float, busy: Collection[int]) -> list[Job]:
        self._kick.clear()
        ids = await self.deliveries.claimable(now_ms(), limit, exclude=busy)
        if not ids:
            timeout = min(wait, self.poll)
            due = await self.deliveries.next_due()
            if due is not None:
                timeout = max(0.0, min(timeout, (due - now_ms()) / 1000))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), timeout)
            ids = await self.deliveries.claimable(now_ms(), limit, exclude=busy)
        return [Job(i) for i in ids]

    async def done(self, job: Job) -> None:
        return None

    async def later(self, job: Job, due_ms: int) -> None:
        return None


class RedisQueue:
    """Connects on first use, not at start: a Redis that is down when the process
    starts is waited for as at any other time (announcements kept, takes retried by
    the worker). Concurrent callers share one connection attempt, and for
    `RECONNECT_SECONDS` after a failed one they fail at once: creates announce their
    deliveries on the request path."""

    redis: _redis.Client  # once `_connected`

    def __init__(self, settings: Settings, deliveries: DeliveryStore) -> None:
        self.deliveries = deliveries
        self.stream = keys.delivery_queue(settings.redis_prefix)
        self.delayed = keys.delivery_delayed(settings.redis_prefix)
        self.lease_ms = int(settings.delivery_lease_seconds * 1000)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        assert settings.redis_url
        self.url = settings.redis_url
        self.pool_size = settings.redis_pool_size
        # A cluster client fails (and drops its connections) past its cap, where a
        # single node's pool waits: callers wait here instead.
        self._limit = asyncio.Semaphore(settings.redis_pool_size)
        self._last_sweep = 0.0
        self._unsent: set[int] = set()  # deliveries whose announcement failed
        self._all: int | None = _ALL  # announcing all unsettled, on after this id
        self._attempt: asyncio.Future[None] | None = None  # connecting
        self._failed_at = -RECONNECT_SECONDS
        self._why = ""
        self._ready = self._closed = False

    async def start(self) -> None:
        return None

    async def _connected(self) -> None:
        if self._ready:
            return
        if self._closed:
            raise ConnectionError("the delivery queue is closed")
        if self._attempt is None:
            if time.monotonic() - self._failed_at < RECONNECT_SECONDS:
                raise ConnectionError(f"the delivery queue's Redis is unreachable ({self._why})")
            self._attempt = asyncio.ensure_future(self._connect())
            self._attempt.add_done_callback(self._attempted)
        await asyncio.shield(self._attempt)

    def _attempted(self, attempt: asyncio.Future[None]) -> None:
        self._attempt = None
        if not attempt.cancelled() and attempt.exception() is not None:
            self._failed_at, self._why = time.monotonic(), repr(attempt.exception())

    async def _connect(self) -> None:
        # One node or a cluster (both keys share the `{delivery}` slot); `socket_timeout`
        # must outlast the blocking XREADGROUP.
        client = _redis.connect(
            self.url,
            await _redis.is_cluster(self.url),
            size=self.pool_size,
            socket_timeout=BLOCK_MS / 1000 + 10,
            name=f"tocsin-{os.getpid()}-delivery",
        )
        try:
            await self._create_group(client)
            if self._closed:
                raise ConnectionError("the delivery queue is closed")
        except BaseException:
            await _redis.aclose(client)
            raise
        self._promote = client.register_script(PROMOTE)
        self.redis, self._ready = client, True

    async def _create_group(self, client: _redis.Client) -> None:
        try:
            await client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def close(self) -> None:
        self._closed = True
        if self._attempt is not None:
            self._attempt.cancel()
            await asyncio.wait([self._attempt])
        if self._ready:
            self._ready = False
            await _redis.aclose(self.redis)

    async def push(self, ids: Sequence[int]) -> None:
        try:
            await self._connected()
            async with self._limit:
                await self._push(ids)
        except BaseException:
            self._keep(ids)
            raise

    def _keep(self, ids: Collection[int]) -> None:
        """Announcements that failed, for the next take to push again; past `UNSENT`
        of them, every unsettled delivery is announced instead."""
        self._unsent.update(ids)
        if len(self._unsent) > UNSENT:
            self._unsent.clear()
            self._all = _ALL

    async def _push(self, ids: Sequence[int]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.xadd(self.stream, {"d": str(delivery_id)})
            await pipe.execute()

    async def _sweep(self) -> None:
        """Re-add deliveries overdue by more than a lease, and forget idle empty consumers."""
        self._last_sweep = time.monotonic()
        overdue = await self.deliveries.claimable(now_ms() - self.lease_ms, SWEEP)
        if overdue:
            log.info("re-queueing %d overdue deliveries", len(overdue))
            await self._push(overdue)
        for consumer in await self.redis.xinfo_consumers(self.stream, GROUP):
            if (
                consumer["name"] != self.consumer
                and int(consumer["pending"]) == 0
                and int(consumer["idle"]) > FORGET_CONSUMER_MS
            ):
                await self.redis.xgroup_delconsumer(self.stream, GROUP, consumer["name"])

    async def _sweep_all(self, after: int) -> None:
        """Announce a page of every unsettled delivery, from the id `after` on; the next
        take goes on."""
        page = await self.deliveries.unsettled(now_ms(), after, SWEEP)
        if page:
            log.info("announcing %d unsettled deliveries again", len(page))
            await self._push(page)
        self._all = page[-1] if len(page) == SWEEP else None

    async def _push_unsent(self) -> None:
        ids, self._unsent = list(self._unsent), set()
        try:
            await self._push(ids)
        except BaseException:
            self._keep(ids)
            raise

    async def take(self, limit: int, wait: float, busy: Collection[int]) -> list[Job]:
        with unavailable_on(_redis.ERRORS, "the delivery queue is unreachable"):
            try:
                await self._connected()
                async with self._limit:
                    return await self._take(limit, wait, busy)
            except ResponseError as exc:
                # XREADGROUP says NOGROUP; XAUTOCLAIM, on a stream that is gone too
                # (nothing announced since), "no such key".
                if "NOGROUP" not in str(exc) and "no such key" not in str(exc).lower():
                    raise
            # Redis restarted without its data: the group is gone, and the entries
            # with it. Make the group again, and announce what is unsettled in SQL.
            log.warning("the delivery queue's consumer group is gone; creating it again")
            # On the same client: a new one would leave the old one's connections open.
            async with self._limit:
                await self._create_group(self.redis)
            self._all = _ALL
            return []

    async def _take(self, limit: int, wait: float, busy: Collection[int]) -> list[Job]:
        if self._unsent:
            await self._push_unsent()
        if self._all is not None:
            await self._sweep_all(self._all)
        elif time.monotonic() - self._last_sweep > self.lease_ms / 1000:
            await self._sweep()
        await self._promote(keys=[self.delayed, self.stream], args=[now_ms(), 1000])
        # Entries a dead (or stuck) consumer held longer than a lease.
        claimed: Any = await self.redis.xautoclaim(
            self.stream, GROUP, self.consumer, self.lease_ms, "0-0", count=limit
        )
        entries = list(claimed[1])
        if not entries:
            block = max(1, min(int(wait * 1000), BLOCK_MS))
            read: Any = await self.redis.xreadgroup(
                GROUP, self.consumer, {self.stream: ">"}, count=limit, block=block
            )
            for _, stream_entries in read or []:
                entries.extend(stream_entries)
        jobs = []
        for entry_id, fields in entries:
            if fields is None:  # deleted meanwhile
                continue
            jobs.append(Job(int(fields["d"]), entry_id))
        return jobs

    async def done(self, job: Job) -> None:
        await self._connected()
        async with self._limit:
            await self._done(job)

    async def _done(self, job: Job) -> None:
        assert job.entry is not None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, job.entry)
            pipe.xdel(self.stream, job.entry)
            await pipe.execute()

    async def later(self, job: Job, due_ms: int) -> None:
        # Into the delayed set first: a crash in between leaves two pointers, never none.
        await self._connected()
        async with self._limit:
            await self.redis.zadd(self.delayed, {str(job.delivery_id): due_ms})
            await self._done(job)
