"""Live delivery from Redis: a channel per vendor announces its entries; gaps are read by id.

The append script publishes each entry on the vendor's channel (`SPUBLISH` on a
cluster, `PUBLISH` on one node) in the same step as its `XADD`, together with
the id of the vendor's previous entry. A process subscribes to the channels of
the vendors it watches, on one connection per master (the channels carry the
partition's hash tag, so they live on the master of the vendor's stream).

An announced entry that follows the last one handed to the hub goes to the hub
as it is. Anything else (an entry announced before the watch knew its start, a
message lost with a connection, the new master after a failover) is read from
the stream after the last id handed on: the same replay by id a resuming
client gets, so nothing is skipped and nothing is handed on twice. A lost
connection costs one such read per vendor it carried, once its channels are
subscribed again (on the slot's new master after a failover). A node that
gives up a slot while it stays up (a planned failover, a slot moved) tells its
subscribers so (`sunsubscribe`): that counts as a lost connection. So does a
connection idle for `IDLE_READ` seconds that does not answer a PING within
`PONG_TIMEOUT`: one a NAT or a load balancer dropped without a word.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from tocsin import _redis
from tocsin.errors import Unavailable
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import Event, Position, format_id

log = logging.getLogger(__name__)

# Seconds: how long a subscription may take to be confirmed; the longest idle read,
# after which the connection is pinged; how long the PONG may take (a Redis busy with a
# long script or a fork is not a lost one).
SUBSCRIBE_TIMEOUT = 5.0
IDLE_READ = 5.0
PONG_TIMEOUT = 10.0
FAILURES: tuple[type[BaseException], ...] = (*_redis.ERRORS, TimeoutError, Unavailable)


def position(stream_id: str) -> Position:
    ms, _, n = stream_id.partition("-")
    return int(ms), int(n or 0)


class Source(Protocol):
    """What the live reader needs from the log: channels, routes, and reads by id."""

    sharded: bool
    read_count: int

    def channel(self, vendor_id: str) -> str: ...

    async def node(self, channel: str) -> str:
        """The name of the master that serves `channel`."""

    def connect(self, node: str) -> Redis:
        """A new client of the master `node` (for pub/sub)."""

    async def refresh(self) -> None:
        """Learn the cluster's slot map again (after a connection to a master was lost)."""

    async def head(self, vendor_id: str) -> tuple[str, str]:
        """The vendor's epoch and newest entry id."""

    async def after(self, vendor_id: str, after: str) -> tuple[str, str, list[Event]]:
        """The epoch, the newest entry id, and up to `read_count` events after `after`."""


@dataclass(slots=True)
class _Watch:
    position: str | None = None  # the last entry id handed to the hub; None while starting
    epoch: str = ""
    reading: bool = False  # a read by id is running
    again: bool = False  # something was announced that the running read may not have seen


@dataclass(eq=False, slots=True)
class _Node:
    """One subscribing connection, to one master."""

    name: str
    client: Redis
    pubsub: PubSub
    channels: set[str] = field(default_factory=set)
    sent: dict[str, int] = field(default_factory=dict)
    confirmed: dict[str, int] = field(default_factory=dict)
    waiters: list[tuple[str, int, asyncio.Future[None]]] = field(default_factory=list)
    leaving: dict[str, int] = field(default_factory=dict)  # our unsubscribes unconfirmed
    task: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Live:
    def __init__(self, source: Source, hub: Hub) -> None:
        self.source = source
        self.hub = hub
        self._watches: dict[str, _Watch] = {}
        self._vendor_of: dict[str, str] = {}  # channel -> vendor
        self._nodes: dict[str, _Node] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lost = 0  # connections being replaced

    @property
    def healthy(self) -> bool:
        return self._lost == 0

    def connections(self) -> int:
        return len(self._nodes)

    async def close(self) -> None:
        tasks = list(self._tasks)
        tasks += [n.task for n in self._nodes.values() if n.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        for node in list(self._nodes.values()):
            await self._close_node(node)
        self._nodes.clear()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- watching ------------------------------------------------------------------

    async def watch(self, vendor_id: str) -> None:
        """Hand `vendor_id`'s entries to the hub from its current newest one on."""
        w = _Watch()
        self._watches[vendor_id] = w
        channel = self.source.channel(vendor_id)
        self._vendor_of[channel] = vendor_id
        try:
            await self._subscribe(channel)
            epoch, head = await self.source.head(vendor_id)
        except BaseException:
            if self._watches.get(vendor_id) is w:
                self.unwatch(vendor_id)
            raise
        if self._watches.get(vendor_id) is not w:
            return
        w.epoch, w.position = epoch, head
        if w.again:  # announced while the head was read: it may be past the head
            self._catch_up(vendor_id, w)

    def unwatch(self, vendor_id: str) -> None:
        if self._watches.pop(vendor_id, None) is None:
            return
        channel = self.source.channel(vendor_id)
        self._vendor_of.pop(channel, None)
        for node in self._nodes.values():
            if channel in node.channels:
                node.channels.discard(channel)
                if node.sent.get(channel) == node.confirmed.get(channel):
                    node.sent.pop(channel, None)
                    node.confirmed.pop(channel, None)
                self._spawn(self._unsubscribe(node, channel))

    async def _unsubscribe(self, node: _Node, channel: str) -> None:
        async with node.lock:
            if channel in node.channels or self._nodes.get(node.name) is not node:
                return  # watched again meanwhile, or the connection is gone already
            node.leaving[channel] = node.leaving.get(channel, 0) + 1
            try:
                await self._send_unsubscribe(node, channel)
            except FAILURES:
                self._left(node, channel)  # never sent, or the connection goes anyway
            except BaseException:
                self._left(node, channel)
                raise

    @staticmethod
    def _left(node: _Node, channel: str) -> bool:
        """Count one of our unsubscribes from `channel` confirmed; False if none was sent."""
        count = node.leaving.get(channel, 0)
        if count == 0:
            return False
        if count == 1:
            del node.leaving[channel]
        else:
            node.leaving[channel] = count - 1
        return True

    async def _send_unsubscribe(self, node: _Node, channel: str) -> None:
        if self.source.sharded:
            await node.pubsub.sunsubscribe(channel)
        else:
            await node.pubsub.unsubscribe(channel)

    # -- subscribing ---------------------------------------------------------------

    async def _subscribe(self, channel: str) -> None:
        """Subscribe on the channel's master; returns once Redis has confirmed it."""
        name = await self.source.node(channel)
        node = self._nodes.get(name)
        if node is None:
            client = self.source.connect(name)
            node = self._nodes[name] = _Node(name, client, client.pubsub())
        node.channels.add(channel)
        count = node.sent[channel] = node.sent.get(channel, 0) + 1
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        node.waiters.append((channel, count, waiter))
        async with node.lock:  # the first command opens the connection: once
            if self.source.sharded:
                await node.pubsub.ssubscribe(channel)
            else:
                await node.pubsub.subscribe(channel)
            if node.task is None:
                node.task = asyncio.create_task(self._read(node), name=f"tocsin-live-{name}")
        await asyncio.wait_for(asyncio.shield(waiter), SUBSCRIBE_TIMEOUT)

    async def _close_node(self, node: _Node) -> None:
        with contextlib.suppress(Exception):
            await node.pubsub.aclose()  # type: ignore[no-untyped-call]
        with contextlib.suppress(Exception):
            await node.client.aclose()

    def _confirm(self, node: _Node, channel: str) -> None:
        done = node.confirmed[channel] = node.confirmed.get(channel, 0) + 1
        if channel not in node.channels and done == node.sent.get(channel):
            del node.sent[channel], node.confirmed[channel]  # unwatched: nothing in flight
        still = []
        for ch, count, waiter in node.waiters:
            if ch == channel and count <= done:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                still.append((ch, count, waiter))
        node.waiters = still

    # -- reading -------------------------------------------------------------------

    async def _read(self, node: _Node) -> None:
        try:
            pinged: float | None = None  # when, if unanswered
            while True:
                wait = IDLE_READ
                if pinged is not None:
                    wait = max(0.0, min(wait, pinged + PONG_TIMEOUT - time.monotonic()))
                message = await node.pubsub.get_message(timeout=wait)
                if message is not None:
                    pinged = None  # a pong, or anything else: the connection works
                    self._on_message(node, message)
                elif pinged is None:
                    async with node.lock:
                        await node.pubsub.ping()
                    pinged = time.monotonic()
                elif time.monotonic() - pinged >= PONG_TIMEOUT:
                    # Dropped without a word (a NAT or load balancer forgot an idle
                    # connection): no error would ever come, nor any message.
                    raise TimeoutError(f"no answer to a PING within {PONG_TIMEOUT} s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("live reader lost Redis node %s (%s); resubscribing", node.name, exc)
        self._replace(node)

    def _on_message(self, node: _Node, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = message["channel"]
        if kind in ("ssubscribe", "subscribe"):
            self._confirm(node, channel)
            return
        if kind in ("sunsubscribe", "unsubscribe"):
            if not self._left(node, channel) and channel in node.channels:
                # Not asked for: the node gave up the channel's slot (a planned failover
                # left it a replica, or the slot moved). Its connection is replaced, as
                # if lost, for the slot's new master.
                raise ConnectionError(f"Redis node {node.name} dropped the subscription {channel}")
            return
        if kind not in ("smessage", "message"):
            return
        vendor_id = self._vendor_of.get(channel)
        w = self._watches.get(vendor_id) if vendor_id is not None else None
        if w is None or vendor_id is None:
            return
        if w.position is None or w.reading:
            w.again = True
            return
        prev, sid, epoch, name, data = message["data"].split("\n", 4)
        if prev == w.position and epoch == w.epoch:
            pos = position(sid)
            event = Event(format_id(epoch, pos, redis=True), epoch, pos, name, data)
            w.position = sid
            self.hub.publish(vendor_id, (event,))
        elif epoch != w.epoch or position(sid) > position(w.position):
            self._catch_up(vendor_id, w)
        # else: an entry a read by id has already handed on

    def _catch_up(self, vendor_id: str, w: _Watch) -> None:
        if w.position is None or w.reading:
            w.again = True
            return
        w.reading = True
        self._spawn(self._read_after(vendor_id, w))

    async def _read_after(self, vendor_id: str, w: _Watch) -> None:
        backoff = 0.05
        try:
            while self._watches.get(vendor_id) is w and w.position is not None:
                w.again = False
                try:
                    epoch, head, events = await self.source.after(vendor_id, w.position)
                except FAILURES as exc:
                    log.info("reading %s's log failed (%s); retrying", vendor_id, exc)
                    w.again = True
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                if self._watches.get(vendor_id) is not w:
                    return
                if events:
                    w.position = f"{events[-1].position[0]}-{events[-1].position[1]}"
                    self.hub.publish(vendor_id, events)
                if epoch != w.epoch:
                    # A new epoch (a failover, a replaced database): streams of the old
                    # one end at its first event; its entries all come after `head`.
                    w.epoch = epoch
                    w.position = head
                elif position(head) < position(w.position):
                    w.position = head  # the log lost entries; the epoch changes with them
                if len(events) < self.source.read_count and not w.again:
                    return
        finally:
            w.reading = False

    # -- a lost connection ---------------------------------------------------------

    def _replace(self, node: _Node) -> None:
        if self._nodes.get(node.name) is node:
            del self._nodes[node.name]
        for _, _, waiter in node.waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionError(f"lost Redis node {node.name}"))
        node.waiters.clear()
        self._lost += 1
        self._spawn(self._resubscribe(node))

    async def _resubscribe(self, node: _Node) -> None:
        """Subscribe `node`'s channels again, wherever they are now, then read what was missed."""
        await self._close_node(node)
        backoff = 0.05
        try:
            while True:
                channels = [c for c in node.channels if c in self._vendor_of]
                try:
                    await self.source.refresh()
                    for channel in channels:
                        if channel in self._vendor_of:
                            await self._subscribe(channel)
                    break
                except FAILURES as exc:
                    log.info("resubscribing failed (%s); retrying", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
            log.info("live reader resubscribed %d channels of %s", len(channels), node.name)
            for channel in channels:
                vendor_id = self._vendor_of.get(channel)
                w = self._watches.get(vendor_id) if vendor_id is not None else None
                if w is not None and vendor_id is not None:
                    self._catch_up(vendor_id, w)
        finally:
            self._lost -= 1
