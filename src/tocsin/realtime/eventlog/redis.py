"""The event log on Redis Streams: one stream per vendor, on one node or a Redis Cluster.

Appends run as a Lua script that checks the vendor's last relayed sequence
number and does the `XADD` in the same step, so a relay that retries after a
crash or a timeout never adds an event twice (a re-sent `XADD` would get a new
id that no client could recognise). The same script announces the entry on the
vendor's channel; `_live.Live` turns announcements into hub deliveries, on one
subscribing connection per master (see there).

`TOCSIN_REDIS_URL` may name one node or any node of a cluster (`tocsin._redis`).
A vendor's keys carry its partition's hash tag (`tocsin.keys`), so on a
cluster its stream, its meta hash and its channel share a slot. Replication to
replicas is asynchronous, so a promoted replica may lack the last entries: the
scripts record the node (`CLUSTER MYID`) that wrote a vendor's meta, and the
first script to run on another node starts a new epoch. Clients of the old one
get `reset` rather than a gap; a failover that lost nothing costs the same
reset, which a failover is rare enough to afford.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, ResponseError

from tocsin import _redis, keys, metrics
from tocsin._ids import new_epoch, now_ms
from tocsin.errors import Unavailable, unavailable_on
from tocsin.model import OutboxRecord
from tocsin.realtime.eventlog import AppendResult, ReadResult
from tocsin.realtime.eventlog._live import Live, position
from tocsin.realtime.eventlog._liveness import PROBE_TIMEOUT, Trouble, redis_answers
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import Event, ResetReason, format_id, parse_id
from tocsin.settings import Settings
from tocsin.storage.meta import MetaStore

log = logging.getLogger(__name__)

READ_COUNT = 1000

# What a Redis that is down, restarting or loading raises; callers see `Unavailable`.
DOWN = _redis.ERRORS
# What `ping` raises for a pool (or a reader) that is not working.
_PROBE_FAILURES: tuple[type[BaseException], ...] = (TimeoutError, Unavailable, RuntimeError, *DOWN)
DETAIL = "the event log is unreachable; retry shortly"


def _down() -> contextlib.AbstractContextManager[None]:
    return unavailable_on(DOWN, DETAIL)


# On a cluster, the node that last wrote a vendor's meta; another one (a promoted
# replica, or a slot moved by resharding) may lack entries, so the log starts a
# new epoch there. `moved` is true only for a vendor the log already knew.
_NODE_CHECK = """
local moved = false
if ARGV[{flag}] == '1' then
  local node = redis.call('CLUSTER', 'MYID')
  moved = epoch ~= false and redis.call('HGET', KEYS[2], 'node') ~= node
  redis.call('HSET', KEYS[2], 'node', node)
end
"""

# KEYS: stream, meta, channel. ARGV: seq, event, data, maxlen, min_ms, ttl_ms, new_epoch,
# force, source, publish command (SPUBLISH on a cluster, else PUBLISH), cluster ('1'/'0').
# `source` names the SQL database the sequence numbers come from: appends from
# another one (a restored backup, a recreated file) start a new epoch instead
# of being taken for duplicates of what the old database appended.
# The meta hash records `seq` (the last appended sequence number), `last` (the
# newest entry id) and `trimmed` (the newest entry id removed by retention), so
# a reader can tell a resumable id from one whose successors are gone.
APPEND = (
    """
local seq = tonumber(ARGV[1])
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local source = redis.call('HGET', KEYS[2], 'src')
"""
    + _NODE_CHECK.format(flag=11)
    + """
if ARGV[8] == '1' or moved or (source and source ~= ARGV[9]) then
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
local prev = redis.call('HGET', KEYS[2], 'last') or '0-0'
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
local nl = '\\n'
redis.call(ARGV[10], KEYS[3], prev .. nl .. id .. nl .. epoch .. nl .. ARGV[2] .. nl .. ARGV[3])
return {'ok', id, epoch}
"""
)

# KEYS: stream, meta. ARGV: new_epoch, after ('' for none), count, cluster ('1'/'0').
# Returns the epoch, the newest id, the newest trimmed id, and the entries after `after`.
READ = (
    """
local epoch = redis.call('HGET', KEYS[2], 'epoch')
"""
    + _NODE_CHECK.format(flag=4)
    + """
if not epoch or moved then
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
)


def _event(stream_id: str, fields: Any) -> Event:
    if isinstance(fields, list):  # a Lua reply: a flat list of field, value
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    pos = position(stream_id)
    epoch = fields["p"]
    return Event(
        id=format_id(epoch, pos, redis=True),
        epoch=epoch,
        position=pos,
        name=fields["e"],
        data=fields["d"],
    )


class RedisLog:
    """The log on one Redis node or a Redis Cluster, found out at the first command."""

    read_count = READ_COUNT

    def __init__(self, settings: Settings, meta: MetaStore) -> None:
        assert settings.redis_url
        self.settings = settings
        self.url = settings.redis_url
        self.meta = meta
        self.prefix = settings.redis_prefix
        self.partitions = settings.redis_partitions
        # Named connections: `CLIENT LIST` shows which process holds which.
        self.name = f"tocsin-{os.getpid()}"
        self._client: _redis.Client | None = None
        self._connecting = asyncio.Lock()
        # A cluster client fails (and drops its connections) past its cap, where a
        # single node's pool waits: callers wait here instead.
        self._limit = asyncio.Semaphore(settings.redis_pool_size)
        self.cluster = False
        self.sharded = False
        self._live: Live | None = None
        self._reader_trouble = Trouble()
        self._pool_trouble = Trouble()
        # The SQL database's identity (`tocsin_meta.db_id`), read at start.
        self.source = ""

    @property
    def healthy(self) -> bool:
        return self._live is None or self._live.healthy

    async def start(self, hub: Hub) -> None:
        self.source = await self.meta.get_or_set("db_id", new_epoch())
        self._live = Live(self, hub)
        hub.on_watch = self.watch
        hub.on_unwatch = self._live.unwatch

    async def close(self) -> None:
        if self._live is not None:
            await self._live.close()
        if self._client is not None:
            await _redis.aclose(self._client)

    async def _connected(self) -> _redis.Client:
        """The client, once `INFO cluster` has said which kind it must be."""
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    cluster = await _redis.is_cluster(self.url)
                    self.cluster = self.sharded = cluster
                    self._client = _redis.connect(
                        self.url,
                        cluster,
                        size=self.settings.redis_pool_size,
                        socket_timeout=5,
                        name=self.name,
                    )
        return self._client

    async def ping(self) -> None:
        if self._live is not None and not self._live.healthy:
            raise RuntimeError("the event log's live reader is resubscribing")
        with _down():
            client = await self._connected()
            async with self._limit:
                if isinstance(client, RedisCluster):
                    # Every master must answer: one down means some vendors' logs are.
                    await client.ping(target_nodes=RedisCluster.PRIMARIES)
                else:
                    await client.ping()

    async def alive(self) -> str | None:
        if self._live is not None and not self._live.healthy:
            self._reader_trouble.failed(ConnectionError("resubscribing to Redis"))
        else:
            self._reader_trouble.ok()
        try:
            await asyncio.wait_for(self.ping(), PROBE_TIMEOUT)
        except _PROBE_FAILURES as exc:
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
        if not await self._redis_answers():
            return None  # Redis is down: waiting, not stuck
        part, trouble = stuck[0]
        return (
            f"the event log's {part} has failed for {trouble.seconds():.0f} s while Redis "
            f"answers ({trouble.error})"
        )

    async def _redis_answers(self) -> bool:
        """Whether Redis answers a new connection; on a cluster, every master must
        (one that is down, or failing over, is an outage to wait out, not a stuck log)."""
        client = self._client
        if not isinstance(client, RedisCluster):
            return await redis_answers(self.url)
        for node in client.get_primaries():
            probe = _redis.node_client(
                self.url, node, socket_timeout=PROBE_TIMEOUT, name=f"{self.name}-probe"
            )
            try:
                await probe.ping()
            except ResponseError:
                pass  # a refusal is an answer
            except _redis.ERRORS:
                return False
            finally:
                await probe.aclose()
        return True

    def _keys(self, vendor_id: str) -> tuple[str, str, str]:
        part = keys.partition(vendor_id, self.partitions)
        return (
            keys.stream(self.prefix, vendor_id, part),
            keys.stream_meta(self.prefix, vendor_id, part),
            keys.live(self.prefix, vendor_id, part),
        )

    # -- appending ---------------------------------------------------------------

    async def append(self, records: Sequence[OutboxRecord], *, force: bool = False) -> AppendResult:
        with _down():
            return await self._append_all(records, force)

    async def _append_all(self, records: Sequence[OutboxRecord], force: bool) -> AppendResult:
        result = AppendResult()
        if not records:
            return result
        client = await self._connected()
        maxlen = str(self.settings.retention_events)
        retention_ms = int(self.settings.retention_seconds * 1000)
        min_ms = str(max(now_ms() - retention_ms, 1))
        ttl = str(retention_ms)
        publish = "SPUBLISH" if self.sharded else "PUBLISH"
        cluster = "1" if self.cluster else "0"
        calls = []
        for rec in records:
            stream, meta, channel = self._keys(rec.vendor_id)
            calls.append(
                (
                    stream,
                    meta,
                    channel,
                    rec.seq,
                    rec.event,
                    rec.payload,
                    maxlen,
                    min_ms,
                    ttl,
                    new_epoch(),
                    "1" if force else "0",
                    self.source,
                    publish,
                    cluster,
                )
            )
        replies = await self._evalsha_all(client, APPEND, 3, calls)
        for rec, reply in zip(records, replies, strict=True):
            status = reply[0]
            if status == "gap":
                result.gaps.setdefault(rec.vendor_id, int(reply[1]))
                continue
            result.done.append(rec.id)
            if status == "ok":
                metrics.EVENTS_PUBLISHED.labels(rec.event).inc()
        return result

    async def run(self, script: str, numkeys: int, calls: list[tuple[Any, ...]]) -> list[Any]:
        """`script` once per call (its keys, then its arguments), for this process's other
        Redis users (stream slots); `Unavailable` when Redis cannot be reached."""
        with _down():
            client = await self._connected()
            return await self._evalsha_all(client, script, numkeys, calls)

    async def _evalsha_all(
        self, client: _redis.Client, script: str, numkeys: int, calls: list[tuple[Any, ...]]
    ) -> list[Any]:
        """Run `script` once per call in one pipeline; load it where a node lacks it.

        A promoted replica has an empty script cache; a retry is safe, since the
        append script is idempotent.
        """
        sha = _sha(script)
        async with self._limit:
            return await self._evalsha_pipeline(client, script, sha, numkeys, calls)

    async def _evalsha_pipeline(
        self,
        client: _redis.Client,
        script: str,
        sha: str,
        numkeys: int,
        calls: list[tuple[Any, ...]],
    ) -> list[Any]:
        for attempt in (1, 2):
            async with client.pipeline(transaction=False) as pipe:
                for args in calls:
                    # `execute_command`: a cluster pipeline refuses `evalsha` by name, not by slot.
                    pipe.execute_command("EVALSHA", sha, numkeys, *args)
                replies: list[Any] = await pipe.execute(raise_on_error=False)
            if attempt == 1 and any(isinstance(r, NoScriptError) for r in replies):
                await client.script_load(script)
                continue
            for reply in replies:
                if isinstance(reply, Exception):
                    raise reply
            return replies
        raise AssertionError("unreachable")

    # -- reading -----------------------------------------------------------------

    async def read(self, vendor_id: str, after: str | None, limit: int) -> ReadResult:
        with _down():
            return await self._read_after(vendor_id, after, limit)

    async def _run_read(self, vendor_id: str, after: str, count: int) -> Any:
        client = await self._connected()
        stream, meta, _ = self._keys(vendor_id)
        args = [new_epoch(), after, count, "1" if self.cluster else "0"]
        reply: Any = await self._evalsha_all(client, READ, 2, [(stream, meta, *args)])
        return reply[0]

    async def _read_after(self, vendor_id: str, after: str | None, limit: int) -> ReadResult:
        parsed = parse_id(after) if after is not None else None
        after_arg = ""
        # Redis positions are `<ms>-<n>`; an embedded log's id (no `-n`) is malformed here.
        if parsed is not None and after is not None and "-" in after.partition("_")[2]:
            after_arg = f"{parsed[1][0]}-{parsed[1][1]}"
        try:
            epoch, last, trimmed, entries = await self._run_read(vendor_id, after_arg, limit)
        except ResponseError:
            # An id past anything Redis can hold (XRANGE refuses to start after it).
            epoch, last, trimmed, entries = await self._run_read(vendor_id, "", limit)
            return ReadResult(
                head=format_id(epoch, position(last), redis=True), reset=ResetReason.UNKNOWN_ID
            )
        result = ReadResult(head=format_id(epoch, position(last), redis=True))
        if after is None:
            return result
        if parsed is None or not after_arg:
            result.reset = ResetReason.MALFORMED_ID
        elif parsed[0] != epoch:
            result.reset = ResetReason.LOG_CHANGED
        elif parsed[1] > position(last):
            result.reset = ResetReason.UNKNOWN_ID
        elif parsed[1] < position(trimmed):
            result.reset = ResetReason.EXPIRED
        else:
            result.events = [_event(sid, fields) for sid, fields in entries]
        return result

    # -- what the live reader needs (`_live.Source`) -------------------------------

    async def watch(self, vendor_id: str) -> None:
        """Start delivering `vendor_id`'s events to the hub from its current last entry."""
        assert self._live is not None
        with _down():
            await self._live.watch(vendor_id)

    def channel(self, vendor_id: str) -> str:
        return self._keys(vendor_id)[2]

    async def node(self, channel: str) -> str:
        client = await self._connected()
        if isinstance(client, RedisCluster):
            await client.initialize()
            node = client.get_node_from_key(channel)
            if node is None:
                raise ConnectionError(f"no Redis node serves {channel}")
            return str(node.name)
        return ""

    def connect(self, node: str) -> Redis:
        address = None
        if self.cluster:
            assert isinstance(self._client, RedisCluster)
            address = self._client.get_node(node_name=node)
            if address is None:
                raise ConnectionError(f"Redis node {node} left the cluster")
        return _redis.node_client(self.url, address, socket_timeout=None, name=self.name + "-live")

    async def refresh(self) -> None:
        client = await self._connected()
        if isinstance(client, RedisCluster):
            await client.nodes_manager.initialize()

    async def head(self, vendor_id: str) -> tuple[str, str]:
        epoch, last, _, _ = await self._run_read(vendor_id, "", 0)
        return epoch, last

    async def after(self, vendor_id: str, after: str) -> tuple[str, str, list[Event]]:
        epoch, last, _, entries = await self._run_read(vendor_id, after, READ_COUNT)
        return epoch, last, _events(entries)


def _sha(script: str) -> str:
    """The script's name for `EVALSHA` (SHA-1 is what Redis uses, not a security choice)."""
    return hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()


def _events(entries: list[Any]) -> list[Event]:
    events = []
    for sid, fields in entries:
        try:
            events.append(_event(sid, fields))
        except (KeyError, ValueError, TypeError):
            log.error("skipping a malformed log entry %s", sid)
    return events
