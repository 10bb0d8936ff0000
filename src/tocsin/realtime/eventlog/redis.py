"""The event log on Redis Streams: one stream per vendor, one reader per process.

Appends run as a Lua script that checks the vendor's last relayed sequence
number and does the `XADD` in the same step, so a relay that retries after a
crash or a timeout never adds an event twice (a re-sent `XADD` would get a new
id that no client could recognise).

The reader is a single `XREAD BLOCK` over the streams of the vendors that have
subscribers in this process, on a connection of its own; Redis connections are
O(1) in the number of open streams. A new vendor joins the read by setting its
start position and writing to the process's private wake stream, which the
blocking `XREAD` also watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Sequence
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError, ResponseError

from tocsin import keys, metrics
from tocsin._ids import new_epoch, now_ms
from tocsin.errors import Unavailable, unavailable_on
from tocsin.model import OutboxRecord
from tocsin.realtime.eventlog import AppendResult, ReadResult
from tocsin.realtime.eventlog._liveness import PROBE_TIMEOUT, Trouble, redis_answers
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import Event, Position, ResetReason, format_id, parse_id
from tocsin.settings import Settings
from tocsin.storage.meta import MetaStore

log = logging.getLogger(__name__)

BLOCK_MS = 5000
READ_COUNT = 1000

# What a Redis that is down, restarting or loading raises; callers see `Unavailable`.
DOWN = (RedisError, OSError)
DETAIL = "the event log is unreachable; retry shortly"


def _down() -> contextlib.AbstractContextManager[None]:
    return unavailable_on(DOWN, DETAIL)


# KEYS: stream, meta. ARGV: seq, event, data, maxlen, min_ms, ttl_ms, new_epoch, force, source.
# `source` names the SQL database the sequence numbers come from: appends from
# another one (a restored backup, a recreated file) start a new epoch instead
# of being taken for duplicates of what the old database appended.
# The meta hash records `seq` (the last appended sequence number), `last` (the
# newest entry id) and `trimmed` (the newest entry id removed by retention), so
# a reader can tell a resumable id from one whose successors are gone.
APPEND = """
local seq = tonumber(ARGV[1])
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local source = redis.call('HGET', KEYS[2], 'src')
if ARGV[8] == '1' or (source and source ~= ARGV[9]) then
  epoch = ARGV[7]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
else
  local last = redis.call('HGET', KEYS[2], 'seq')
  if last then
    last = tonumber(last)
    if seq <= last then return {'dup'} end
    if seq > last + 1 then return {'gap', tostring(last)} end
  end
end
if not epoch then
  epoch = ARGV[7]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[2], 'd', ARGV[3], 'p', epoch)
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'last', id, 'src', ARGV[9])
-- Retention: the oldest entries past the count, and those older than min_ms.
local cut = nil
local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then
  local gone = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  cut = gone[#gone][1]
end
local aged = redis.call('XRANGE', KEYS[1], '-', '(' .. ARGV[5], 'COUNT', 1000)
if #aged > 0 then
  local candidate = aged[#aged][1]
  if not cut then
    cut = candidate
  else
    local cm, cs = string.match(cut, '(%d+)-(%d+)')
    local am, as = string.match(candidate, '(%d+)-(%d+)')
    if tonumber(am) > tonumber(cm) or (am == cm and tonumber(as) > tonumber(cs)) then
      cut = candidate
    end
  end
end
if cut then
  local ms, n = string.match(cut, '(%d+)-(%d+)')
  redis.call('XTRIM', KEYS[1], 'MINID', ms .. '-' .. (tonumber(n) + 1))
  redis.call('HSET', KEYS[2], 'trimmed', cut)
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PEXPIRE', KEYS[2], ARGV[6])
return {'ok', id, epoch}
"""

# KEYS: stream, meta. ARGV: new_epoch, after ('' for none), count.
# Returns the epoch, the newest id, the newest trimmed id, and the entries after `after`.
READ = """
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[2], 'epoch', epoch)
end
local last = redis.call('HGET', KEYS[2], 'last') or '0-0'
local trimmed = redis.call('HGET', KEYS[2], 'trimmed') or '0-0'
local entries = {}
if ARGV[2] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])
end
return {epoch, last, trimmed, entries}
"""


def _position(stream_id: str) -> Position:
    ms, _, n = stream_id.partition("-")
    return int(ms), int(n or 0)


def _event(fields: Any, stream_id: str) -> Event:
    if isinstance(fields, list):  # a Lua reply: a flat list of field, value
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    position = _position(stream_id)
    epoch = fields["p"]
    return Event(
        id=format_id(epoch, position, redis=True),
        epoch=epoch,
        position=position,
        name=fields["e"],
        data=fields["d"],
    )


class RedisLog:
    def __init__(self, settings: Settings, meta: MetaStore) -> None:
        assert settings.redis_url
        self.settings = settings
        self.meta = meta
        self.prefix = settings.redis_prefix
        # Named connections: `CLIENT LIST` shows which process holds which.
        name = f"tocsin-{os.getpid()}"
        self.redis = Redis(
            connection_pool=BlockingConnectionPool.from_url(
                settings.redis_url,
                max_connections=settings.redis_pool_size,
                timeout=5,
                decode_responses=True,
                socket_timeout=5,
                socket_connect_timeout=2,
                client_name=name,
            )
        )
        # The blocking reader has a connection of its own, whose timeout exceeds BLOCK.
        self._reader_conn = Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            single_connection_client=True,
            socket_timeout=BLOCK_MS / 1000 + 5,
            socket_connect_timeout=2,
            client_name=name + "-reader",
        )
        self._append = self.redis.register_script(APPEND)
        self._read = self.redis.register_script(READ)
        self._process = uuid.uuid4().hex[:12]
        self._wake_key = keys.wake(self.prefix, self._process)
        self._wake_pos = "0-0"
        self._positions: dict[str, str] = {}
        self._hub: Hub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._reader_trouble = Trouble()
        self._pool_trouble = Trouble()
        # The SQL database's identity (`tocsin_meta.db_id`), read at start.
        self.source = ""

    async def start(self, hub: Hub) -> None:
        self.source = await self.meta.get_or_set("db_id", new_epoch())
        self._hub = hub
        hub.on_watch = self.watch
        hub.on_unwatch = self.unwatch
        self._reader = asyncio.create_task(self._read_forever(), name="tocsin-redis-reader")

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._reader_conn.aclose()
        # The pool was handed in, so `aclose` alone would leave its connections open.
        await self.redis.aclose(close_connection_pool=True)

    @property
    def healthy(self) -> bool:
        """Whether the live reader's last read of Redis succeeded."""
        return self._reader_trouble.since is None

    async def ping(self) -> None:
        if self._reader is not None and self._reader.done():
            raise RuntimeError("the event log reader has stopped")
        if not self.healthy:
            raise Unavailable(
                f"the event log reader cannot read Redis ({self._reader_trouble.error})"
            )
        with _down():
            await self.redis.ping()

    async def alive(self) -> str | None:
        if self._reader is not None and self._reader.done():
            return "the event log reader has stopped"
        try:
            await asyncio.wait_for(self.redis.ping(), PROBE_TIMEOUT)
        except (TimeoutError, *DOWN) as exc:
            self._pool_trouble.failed(exc)
        else:
            self._pool_trouble.ok()
        grace = self.settings.liveness_seconds
        stuck = [
            (part, trouble)
            for part, trouble in (("reader", self._reader_trouble), ("pool", self._pool_trouble))
            if trouble.since is not None and trouble.seconds() > grace
        ]
        if not stuck:
            return None
        assert self.settings.redis_url
        if not await redis_answers(self.settings.redis_url):
            return None  # Redis is down: waiting, not stuck
        part, trouble = stuck[0]
        return (
            f"the event log's {part} has failed for {trouble.seconds():.0f} s while Redis "
            f"answers ({trouble.error})"
        )

    # -- appending ---------------------------------------------------------------

    async def append(self, records: Sequence[OutboxRecord], *, force: bool = False) -> AppendResult:
        with _down():
            return await self._append_all(records, force)

    async def _append_all(self, records: Sequence[OutboxRecord], force: bool) -> AppendResult:
        result = AppendResult()
        if not records:
            return result
        maxlen = str(self.settings.retention_events)
        retention_ms = int(self.settings.retention_seconds * 1000)
        min_ms = str(max(now_ms() - retention_ms, 1))
        ttl = str(retention_ms)
        # `async with`: the pipeline gives its connection back to the pool on every
        # path, also when `execute` fails in `load_scripts` before sending anything.
        async with self.redis.pipeline(transaction=False) as pipe:
            for rec in records:
                await self._append(
                    keys=[
                        keys.stream(self.prefix, rec.vendor_id),
                        keys.stream_meta(self.prefix, rec.vendor_id),
                    ],
                    args=[
                        rec.seq,
                        rec.event,
                        rec.payload,
                        maxlen,
                        min_ms,
                        ttl,
                        new_epoch(),
                        "1" if force else "0",
                        self.source,
                    ],
                    client=pipe,
                )
            replies = await pipe.execute()
        for rec, reply in zip(records, replies, strict=True):
            status = reply[0]
            if status == "gap":
                result.gaps.setdefault(rec.vendor_id, int(reply[1]))
                continue
            result.done.append(rec.id)
            if status == "ok":
                metrics.EVENTS_PUBLISHED.labels(rec.event).inc()
        return result

    # -- reading -----------------------------------------------------------------

    async def read(self, vendor_id: str, after: str | None, limit: int) -> ReadResult:
        with _down():
            return await self._read_after(vendor_id, after, limit)

    async def _read_after(self, vendor_id: str, after: str | None, limit: int) -> ReadResult:
        parsed = parse_id(after) if after is not None else None
        after_arg = ""
        # Redis positions are `<ms>-<n>`; an embedded log's id (no `-n`) is malformed here.
        if parsed is not None and after is not None and "-" in after.partition("_")[2]:
            after_arg = f"{parsed[1][0]}-{parsed[1][1]}"
        script_keys = [
            keys.stream(self.prefix, vendor_id),
            keys.stream_meta(self.prefix, vendor_id),
        ]
        try:
            epoch, last, trimmed, entries = await self._read(
                keys=script_keys, args=[new_epoch(), after_arg, limit]
            )
        except ResponseError:
            # An id past anything Redis can hold (XRANGE refuses to start after it).
            epoch, last, trimmed, entries = await self._read(
                keys=script_keys, args=[new_epoch(), "", limit]
            )
            return ReadResult(
                head=format_id(epoch, _position(last), redis=True), reset=ResetReason.UNKNOWN_ID
            )
        result = ReadResult(head=format_id(epoch, _position(last), redis=True))
        if after is None:
            return result
        if parsed is None or not after_arg:
            result.reset = ResetReason.MALFORMED_ID
        elif parsed[0] != epoch:
            result.reset = ResetReason.LOG_CHANGED
        elif parsed[1] > _position(last):
            result.reset = ResetReason.UNKNOWN_ID
        elif parsed[1] < _position(trimmed):
            result.reset = ResetReason.EXPIRED
        else:
            result.events = [_event(fields, sid) for sid, fields in entries]
        return result

    # -- the live reader -----------------------------------------------------------

    async def watch(self, vendor_id: str) -> None:
        """Start delivering `vendor_id`'s events to the hub from its current last entry."""
        with _down():
            await self._watch(vendor_id)

    async def _watch(self, vendor_id: str) -> None:
        key = keys.stream(self.prefix, vendor_id)
        newest: Any = await self.redis.xrevrange(key, count=1)
        self._positions[key] = newest[0][0] if newest else "0-0"
        # Only now, with the position set, wake the reader so its next XREAD includes `key`.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(self._wake_key, {"w": "1"}, maxlen=10, approximate=True)
            pipe.pexpire(self._wake_key, 60_000)
            await pipe.execute()

    def unwatch(self, vendor_id: str) -> None:
        self._positions.pop(keys.stream(self.prefix, vendor_id), None)

    @staticmethod
    def _decode(key: str, entries: list[Any]) -> list[Event]:
        events = []
        for sid, fields in entries:
            try:
                events.append(_event(fields, sid))
            except (KeyError, ValueError, TypeError):
                log.error("skipping a malformed entry %s in %s", sid, key)
        return events

    async def _read_forever(self) -> None:
        backoff = 0.05
        while True:
            streams: dict[Any, Any] = {self._wake_key: self._wake_pos, **self._positions}
            try:
                reply: Any = await self._reader_conn.xread(
                    streams, count=READ_COUNT, block=BLOCK_MS
                )
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.healthy:
                    log.warning("event log reader lost Redis (%s); retrying", exc)
                self._reader_trouble.failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            except Exception as exc:
                # Never let the one reader of this process die: streams would go quiet.
                log.exception("event log reader failed; retrying")
                self._reader_trouble.failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if not self.healthy:
                log.info("event log reader is back on Redis")
            self._reader_trouble.ok()
            backoff = 0.05
            for key, entries in reply or []:
                if not entries:
                    continue
                if key == self._wake_key:
                    self._wake_pos = entries[-1][0]
                    continue
                if key not in self._positions:
                    continue  # nobody here listens to this vendor any more
                self._positions[key] = entries[-1][0]
                if self._hub is not None:
                    vendor_id = keys.vendor_of(self.prefix, key)
                    self._hub.publish(vendor_id, self._decode(key, entries))
