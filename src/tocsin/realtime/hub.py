"""The local hub: vendor -> the subscribers (open streams, waiting polls) in this process.

Events enter once per process (from the event log's single reader) and are
handed to each subscriber as the same `Event` object, whose SSE frame was
encoded once. A subscriber's backlog is bounded: one that falls
`queue_size` events behind is closed (its client reconnects and replays from
its last id), so a stalled reader can neither grow memory without bound nor
slow anyone else down.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Iterable

from tocsin import metrics
from tocsin.realtime.wire import CloseReason, Event


class Subscriber:
    """A bounded queue of events for one stream or poll, with a single waiter."""

    __slots__ = ("_beat", "_items", "_limit", "_waiter", "closed", "vendor_id")

    def __init__(self, vendor_id: str, limit: int) -> None:
        self.vendor_id = vendor_id
        self._items: collections.deque[Event] = collections.deque()
        self._limit = limit
        self._waiter: asyncio.Future[None] | None = None
        self._beat = False
        self.closed: CloseReason | None = None

    def push(self, event: Event) -> None:
        if self.closed is not None:
            return
        if len(self._items) >= self._limit:
            metrics.SLOW_CONSUMERS.inc()
            self.close(CloseReason.SLOW_CONSUMER)
            return
        self._items.append(event)
        self._wake()

    def request_heartbeat(self) -> None:
        """Make an idle `get` return `None` (with `closed` still `None`): time for a heartbeat."""
        self._beat = True
        self._wake()

    def close(self, reason: CloseReason) -> None:
        if self.closed is None:
            self.closed = reason
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Event | None:
        """The next event; `None` once closed (`closed` says why) or when a heartbeat is due."""
        while not self._items:
            if self.closed is not None:
                return None
            if self._beat:
                self._beat = False
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    async def wait(self, seconds: float) -> None:
        """Until an event is queued, the subscriber is closed, or `seconds` pass."""
        if self._items or self.closed is not None:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, seconds)
        except TimeoutError:
            pass
        finally:
            self._waiter = None


WatchHook = Callable[[str], Awaitable[None]]


class Hub:
    """Fans events out to local subscribers and tells the log which vendors to watch."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._subs: dict[str, set[Subscriber]] = {}
        self._watching: dict[str, asyncio.Task[None]] = {}
        self.on_watch: WatchHook | None = None
        self.on_unwatch: Callable[[str], None] | None = None

    def vendors(self) -> dict[str, int]:
        return {vendor: len(subs) for vendor, subs in self._subs.items()}

    async def subscribe(self, vendor_id: str) -> Subscriber:
        """Register a subscriber; returns once the log delivers this vendor's live events.

        Everything appended after this returns reaches the subscriber, so a
        replay read afterwards, merged by position, leaves no gap.
        """
        sub = Subscriber(vendor_id, self.queue_size)
        subs = self._subs.setdefault(vendor_id, set())
        subs.add(sub)
        metrics.SUBSCRIBERS.inc()
        watch = self._watching.get(vendor_id)
        if watch is not None and watch.done() and (watch.cancelled() or watch.exception()):
            watch = None  # the last attempt failed (the log was down): try again
        if watch is None and self.on_watch is not None:
            watch = asyncio.ensure_future(self.on_watch(vendor_id))
            self._watching[vendor_id] = watch
        if watch is not None:
            try:
                await asyncio.shield(watch)
            except BaseException:
                self.unsubscribe(sub)
                raise
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subs.get(sub.vendor_id)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        metrics.SUBSCRIBERS.dec()
        if not subs:
            del self._subs[sub.vendor_id]
            watch = self._watching.pop(sub.vendor_id, None)
            if watch is not None and not watch.done():
                watch.cancel()
            if self.on_unwatch is not None:
                self.on_unwatch(sub.vendor_id)

    def publish(self, vendor_id: str, events: Iterable[Event]) -> None:
        subs = self._subs.get(vendor_id)
        if not subs:
            return
        for event in events:
            for sub in tuple(subs):
                sub.push(event)

    def close_all(self, reason: CloseReason) -> None:
        for subs in tuple(self._subs.values()):
            for sub in tuple(subs):
                sub.close(reason)
