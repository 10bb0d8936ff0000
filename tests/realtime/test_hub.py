"""The hub and its subscribers, without a server or an event log."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from tocsin.realtime import wire
from tocsin.realtime.hub import Hub, Waiter
from tocsin.realtime.wire import CloseReason

EPOCH = "0a1b2c3d"


def _event(seq: int, title: str = "") -> wire.Event:
    return wire.Event(
        wire.format_id(EPOCH, (seq, 0), redis=False),
        EPOCH,
        (seq, 0),
        wire.NEW_NOTIFICATION,
        wire.dumps({"notification": {"title": title or f"n{seq}"}, "unread_count": seq}),
    )


def _metric(name: str, labels: dict[str, str] | None = None) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


class Recorder:
    """A subscriber that keeps what it is handed, or refuses once closed."""

    def __init__(self, vendor_id: str) -> None:
        self.vendor_id = vendor_id
        self.closed: CloseReason | None = None
        self.events: list[int] = []

    def push(self, event: wire.Event) -> bool:
        if self.closed is not None:
            return False
        self.events.append(event.position[0])
        return True

    def close(self, reason: CloseReason) -> None:
        if self.closed is None:
            self.closed = reason


async def _subscribed(hub: Hub, vendor_id: str) -> Recorder:
    sub = Recorder(vendor_id)
    await hub.subscribe(sub)
    return sub


async def test_events_reach_the_subscribers_of_their_vendor_only_in_one_call() -> None:
    hub = Hub(queue_size=10)
    a1, a2 = await _subscribed(hub, "a"), await _subscribed(hub, "a")
    b = await _subscribed(hub, "b")
    delivered = _metric("tocsin_events_delivered_total", {"transport": "sse"})
    hub.publish("a", [_event(1)])
    # Handed over within `publish`: no task or wake-up per subscriber.
    assert (a1.events, a2.events, b.events) == ([1], [1], [])
    hub.publish("b", [_event(2), _event(3)])
    assert b.events == [2, 3]
    assert _metric("tocsin_events_delivered_total", {"transport": "sse"}) == delivered + 4


async def test_publishing_to_a_vendor_nobody_watches_is_a_no_op() -> None:
    hub = Hub(queue_size=10)
    sub = await _subscribed(hub, "a")
    hub.publish("nobody", [_event(1)])
    assert hub.vendors() == {"a": 1}
    assert sub.events == []


async def test_a_waiting_poll_wakes_on_publish() -> None:
    hub = Hub(queue_size=10)
    waiter = Waiter("a")
    await hub.subscribe(waiter)
    waiting = asyncio.create_task(waiter.wait(30))
    await asyncio.sleep(0)
    assert not waiting.done()
    hub.publish("a", [_event(5)])
    await asyncio.wait_for(waiting, 1)
    hub.unsubscribe(waiter)


async def test_unsubscribe_stops_delivery_and_forgets_the_vendor() -> None:
    hub = Hub(queue_size=10)
    unwatched: list[str] = []
    hub.on_unwatch = unwatched.append
    before = _metric("tocsin_subscribers")
    gone, stays = await _subscribed(hub, "a"), await _subscribed(hub, "a")
    assert hub.vendors() == {"a": 2}
    assert _metric("tocsin_subscribers") == before + 2
    hub.unsubscribe(gone)
    hub.unsubscribe(gone)  # twice is harmless
    assert hub.vendors() == {"a": 1}
    assert _metric("tocsin_subscribers") == before + 1
    assert unwatched == []
    hub.publish("a", [_event(1)])
    assert (gone.events, stays.events) == ([], [1])
    hub.unsubscribe(stays)
    assert hub.vendors() == {}
    assert unwatched == ["a"]
    assert _metric("tocsin_subscribers") == before


async def test_close_all_closes_every_subscriber_with_the_reason() -> None:
    hub = Hub(queue_size=10)
    subs = [await _subscribed(hub, v) for v in ("a", "a", "b")]
    waiter = Waiter("a")
    await hub.subscribe(waiter)
    waiting = asyncio.create_task(waiter.wait(30))
    await asyncio.sleep(0)
    hub.close_all(CloseReason.SHUTDOWN)
    await asyncio.wait_for(waiting, 1)
    assert [sub.closed for sub in subs] == [CloseReason.SHUTDOWN] * 3
    assert waiter.closed is CloseReason.SHUTDOWN
    hub.publish("a", [_event(1)])  # nothing reaches a closed subscriber
    assert [sub.events for sub in subs] == [[], [], []]
    # A request that subscribes once shutdown has begun is closed at once.
    late = await _subscribed(hub, "c")
    assert late.closed is CloseReason.SHUTDOWN


async def test_wait_returns_on_an_event_or_after_the_time() -> None:
    waiter = Waiter("a")
    loop = asyncio.get_running_loop()
    began = loop.time()
    await waiter.wait(0.05)
    assert loop.time() - began >= 0.04
    waiting = asyncio.create_task(waiter.wait(30))
    await asyncio.sleep(0)
    waiter.push(_event(1))
    await asyncio.wait_for(waiting, 1)
    began = loop.time()
    await waiter.wait(30)  # an event came: no wait at all
    assert loop.time() - began < 1


async def test_subscribe_returns_once_the_vendor_is_watched() -> None:
    hub = Hub(queue_size=10)
    watched = asyncio.Event()
    calls: list[str] = []

    async def on_watch(vendor_id: str) -> None:
        calls.append(vendor_id)
        await watched.wait()

    hub.on_watch = on_watch
    first = asyncio.create_task(hub.subscribe(Recorder("a")))
    second = asyncio.create_task(hub.subscribe(Recorder("a")))
    await asyncio.sleep(0.01)
    assert not first.done()
    assert not second.done()
    watched.set()
    await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert calls == ["a"]  # one watch per vendor, however many subscribe
    assert hub.vendors() == {"a": 2}


async def test_a_failed_watch_unsubscribes_and_the_next_subscribe_retries() -> None:
    hub = Hub(queue_size=10)
    attempts: list[str] = []

    async def on_watch(vendor_id: str) -> None:
        attempts.append(vendor_id)
        if len(attempts) == 1:
            raise ConnectionError("log down")

    hub.on_watch = on_watch
    before = _metric("tocsin_subscribers")
    with pytest.raises(ConnectionError):
        await hub.subscribe(Recorder("a"))
    assert hub.vendors() == {}
    assert _metric("tocsin_subscribers") == before
    sub = await _subscribed(hub, "a")
    assert attempts == ["a", "a"]
    assert hub.vendors() == {"a": 1}
    hub.unsubscribe(sub)
