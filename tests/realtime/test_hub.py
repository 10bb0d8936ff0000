"""The hub and its subscribers, without a server or an event log."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from tocsin.realtime import wire
from tocsin.realtime.hub import Hub, Subscriber
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


def _metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


async def _drain(sub: Subscriber) -> list[int]:
    """Every event queued for `sub`, by sequence number (the subscriber must be closed)."""
    assert sub.closed is not None
    seqs = []
    while (event := await asyncio.wait_for(sub.get(), 1)) is not None:
        seqs.append(event.position[0])
    return seqs


async def test_events_reach_the_subscribers_of_their_vendor_only() -> None:
    hub = Hub(queue_size=10)
    a1, a2 = await hub.subscribe("a"), await hub.subscribe("a")
    b = await hub.subscribe("b")
    event = _event(1)
    hub.publish("a", [event])
    assert await asyncio.wait_for(a1.get(), 1) is event  # the same object: encoded once
    assert await asyncio.wait_for(a2.get(), 1) is event
    hub.publish("b", [_event(2), _event(3)])
    hub.close_all(CloseReason.SHUTDOWN)
    assert await _drain(b) == [2, 3]
    assert await _drain(a1) == []
    assert await _drain(a2) == []


async def test_publishing_to_a_vendor_nobody_watches_is_a_no_op() -> None:
    hub = Hub(queue_size=10)
    sub = await hub.subscribe("a")
    hub.publish("nobody", [_event(1)])
    assert hub.vendors() == {"a": 1}
    sub.close(CloseReason.SHUTDOWN)
    assert await _drain(sub) == []


async def test_a_waiting_get_wakes_on_publish() -> None:
    hub = Hub(queue_size=10)
    sub = await hub.subscribe("a")
    getting = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    assert not getting.done()
    hub.publish("a", [_event(5)])
    event = await asyncio.wait_for(getting, 1)
    assert event is not None
    assert event.position == (5, 0)


async def test_unsubscribe_stops_delivery_and_forgets_the_vendor() -> None:
    hub = Hub(queue_size=10)
    unwatched: list[str] = []
    hub.on_unwatch = unwatched.append
    before = _metric("tocsin_subscribers")
    gone, stays = await hub.subscribe("a"), await hub.subscribe("a")
    assert hub.vendors() == {"a": 2}
    assert _metric("tocsin_subscribers") == before + 2
    hub.unsubscribe(gone)
    hub.unsubscribe(gone)  # twice is harmless
    assert hub.vendors() == {"a": 1}
    assert _metric("tocsin_subscribers") == before + 1
    assert unwatched == []
    hub.publish("a", [_event(1)])
    gone.close(CloseReason.DISCONNECTED)
    assert await _drain(gone) == []
    hub.unsubscribe(stays)
    assert hub.vendors() == {}
    assert unwatched == ["a"]
    assert _metric("tocsin_subscribers") == before


async def test_a_slow_subscriber_is_closed_and_the_others_still_receive() -> None:
    hub = Hub(queue_size=3)
    slow = await hub.subscribe("a")
    fast = await hub.subscribe("a")
    before = _metric("tocsin_slow_consumer_disconnects_total")
    received: list[int] = []
    for seq in range(1, 8):
        hub.publish("a", [_event(seq)])
        event = await asyncio.wait_for(fast.get(), 1)
        assert event is not None
        received.append(event.position[0])
    assert received == list(range(1, 8))
    assert fast.closed is None
    assert slow.closed is CloseReason.SLOW_CONSUMER
    assert _metric("tocsin_slow_consumer_disconnects_total") == before + 1
    # What it had queued it still gets (its client then resumes from the last of them).
    assert await _drain(slow) == [1, 2, 3]


async def test_a_burst_beyond_the_bound_closes_only_the_one_that_does_not_read() -> None:
    hub = Hub(queue_size=2)
    idle = await hub.subscribe("a")
    other_vendor = await hub.subscribe("b")
    hub.publish("a", [_event(1), _event(2), _event(3), _event(4)])
    assert idle.closed is CloseReason.SLOW_CONSUMER
    assert other_vendor.closed is None
    assert await _drain(idle) == [1, 2]


async def test_close_all_closes_every_subscriber_with_the_reason() -> None:
    hub = Hub(queue_size=10)
    subs = [await hub.subscribe(v) for v in ("a", "a", "b")]
    waiting = [asyncio.create_task(sub.get()) for sub in subs]
    await asyncio.sleep(0)
    hub.close_all(CloseReason.SHUTDOWN)
    assert await asyncio.wait_for(asyncio.gather(*waiting), 1) == [None, None, None]
    assert [sub.closed for sub in subs] == [CloseReason.SHUTDOWN] * 3
    hub.publish("a", [_event(1)])  # nothing reaches a closed subscriber
    assert [await _drain(sub) for sub in subs] == [[], [], []]


async def test_the_first_reason_to_close_is_the_one_kept() -> None:
    sub = Subscriber("a", limit=10)
    sub.close(CloseReason.MAX_LIFETIME)
    sub.close(CloseReason.SHUTDOWN)
    assert sub.closed is CloseReason.MAX_LIFETIME


async def test_a_heartbeat_request_makes_an_idle_get_return_none_while_open() -> None:
    sub = Subscriber("a", limit=10)
    getting = asyncio.create_task(sub.get())
    await asyncio.sleep(0)
    sub.request_heartbeat()
    assert await asyncio.wait_for(getting, 1) is None
    assert sub.closed is None
    # A heartbeat never jumps the queue: queued events come first.
    sub.push(_event(1))
    sub.request_heartbeat()
    first = await asyncio.wait_for(sub.get(), 1)
    assert first is not None
    assert first.position == (1, 0)
    assert await asyncio.wait_for(sub.get(), 1) is None


async def test_wait_returns_on_an_event_or_after_the_time() -> None:
    sub = Subscriber("a", limit=10)
    loop = asyncio.get_running_loop()
    began = loop.time()
    await sub.wait(0.05)
    assert loop.time() - began >= 0.04
    waiting = asyncio.create_task(sub.wait(30))
    await asyncio.sleep(0)
    sub.push(_event(1))
    await asyncio.wait_for(waiting, 1)
    began = loop.time()
    await sub.wait(30)  # an event is queued: no wait at all
    assert loop.time() - began < 1


async def test_subscribe_returns_once_the_vendor_is_watched() -> None:
    hub = Hub(queue_size=10)
    watched = asyncio.Event()
    calls: list[str] = []

    async def on_watch(vendor_id: str) -> None:
        calls.append(vendor_id)
        await watched.wait()

    hub.on_watch = on_watch
    first = asyncio.create_task(hub.subscribe("a"))
    second = asyncio.create_task(hub.subscribe("a"))
    await asyncio.sleep(0.01)
    assert not first.done()
    assert not second.done()
    watched.set()
    subs = await asyncio.wait_for(asyncio.gather(first, second), 1)
    assert calls == ["a"]  # one watch per vendor, however many subscribe
    assert hub.vendors() == {"a": 2}
    assert all(isinstance(sub, Subscriber) for sub in subs)


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
        await hub.subscribe("a")
    assert hub.vendors() == {}
    assert _metric("tocsin_subscribers") == before
    sub = await hub.subscribe("a")
    assert attempts == ["a", "a"]
    assert hub.vendors() == {"a": 1}
    hub.unsubscribe(sub)
