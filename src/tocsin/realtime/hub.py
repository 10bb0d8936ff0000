"""The local hub: vendor -> the subscribers (open streams, waiting polls) in this process.

Events enter once per process (from the event log's single reader) and the
hub hands each one to every local subscriber of its vendor from one loop, as
the same `Event` object whose SSE frame was encoded once. A stream writes the
frame to its connection right there (`tocsin.realtime.sse`): no queue, task or
wake-up per subscriber per event. A subscriber that cannot take an event now
keeps a bounded backlog; one that falls `queue_size` events behind is closed
(its client reconnects and replays from its last id), so a stalled reader can
neither grow memory without bound nor slow anyone else down.

The hub's `wheel` holds every subscriber's deadlines (heartbeats, lifetimes,
token expiry, send timeouts) behind one loop timer; its `tally` counts, per
notification, the streams that wrote it (one dict update per event, stored
in batches by `tocsin.realtime.tally.TallyFlusher`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from tocsin import metrics
from tocsin.realtime.tally import StreamTally
from tocsin.realtime.timers import TimerWheel
from tocsin.realtime.wire import CloseReason, Event

STREAM_DELIVERIES = metrics.EVENTS_DELIVERED.labels("sse")


class Subscriber(Protocol):
    vendor_id: str
    closed: CloseReason | None

    def push(self, event: Event) -> bool:
        """Take `event` now, from the hub's loop, without blocking; whether it was written now.

        A stream that queues the event instead counts it (`STREAM_DELIVERIES`, the
        hub's `tally`) when it writes it.
        """

    def close(self, reason: CloseReason) -> None:
        """End (the first reason given is kept); the subscriber unsubscribes itself."""


class Waiter:
    """A waiting long-poll: woken by the first event, which the poll then reads from the log."""

    __slots__ = ("_future", "_ready", "closed", "vendor_id")

    def __init__(self, vendor_id: str) -> None:
        self.vendor_id = vendor_id
        self.closed: CloseReason | None = None
        self._ready = False
        self._future: asyncio.Future[None] | None = None

    def push(self, event: Event) -> bool:
        self._ready = True
        self._wake()
        return False  # the poll reads it from the log (and counts it)

    def close(self, reason: CloseReason) -> None:
        if self.closed is None:
            self.closed = reason
            self._wake()

    def _wake(self) -> None:
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Until an event arrives, the waiter is closed, or `seconds` pass."""
        if self._ready or self.closed is not None:
            return
        self._future = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._future, seconds)
        except TimeoutError:
            pass
        finally:
            self._future = None


WatchHook = Callable[[str], Awaitable[None]]


class Hub:
    """Fans events out to local subscribers and tells the log which vendors to watch."""

    def __init__(self, queue_size: int, *, resolution: float = 0.1) -> None:
        self.queue_size = queue_size
        self.wheel = TimerWheel(resolution)
        self.tally = StreamTally()
        self._subs: dict[str, set[Subscriber]] = {}
        self._watching: dict[str, asyncio.Task[None]] = {}
        self.on_watch: WatchHook | None = None
        self.on_unwatch: Callable[[str], None] | None = None
        self.closed: CloseReason | None = None

    def vendors(self) -> dict[str, int]:
        return {vendor: len(subs) for vendor, subs in self._subs.items()}

    async def subscribe(self, sub: Subscriber) -> None:
        """Register `sub`; returns once the log delivers its vendor's live events.

        Everything appended after this returns reaches the subscriber, so a
        replay read afterwards, merged by position, leaves no gap.
        """
        vendor_id = sub.vendor_id
        self._subs.setdefault(vendor_id, set()).add(sub)
        metrics.SUBSCRIBERS.inc()
        if self.closed is not None:
            sub.close(self.closed)  # a request that got here during shutdown ends at once
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
        delivered = 0
        for event in events:
            written = 0
            # A copy: a subscriber never unsubscribes inside `push`, but a hook might.
            for sub in tuple(subs):
                if sub.push(event):
                    written += 1
            if written:
                delivered += written
                self.tally.published(vendor_id, event, written)
        if delivered:
            STREAM_DELIVERIES.inc(delivered)

    def close_all(self, reason: CloseReason) -> None:
        """Close every subscriber, and any that subscribes from now on."""
        self.closed = reason
        for subs in tuple(self._subs.values()):
            for sub in tuple(subs):
                sub.close(reason)
