"""The SSE response over a fake ASGI connection, written to by the hub."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from prometheus_client import REGISTRY
from starlette.types import Message, Scope

from tocsin.realtime import wire
from tocsin.realtime.hub import Hub
from tocsin.realtime.sse import EventStream
from tocsin.realtime.wire import CloseReason

EPOCH = "0a1b2c3d"
LONG = 3600.0
RETRY = wire.retry_frame(1000)


def _event(seq: int, epoch: str = EPOCH) -> wire.Event:
    return wire.Event(
        wire.format_id(epoch, (seq, 0), redis=False),
        epoch,
        (seq, 0),
        wire.NEW_NOTIFICATION,
        wire.dumps({"seq": seq}),
    )


def _metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


class Connection:
    """One fake ASGI connection: what the response sent, a way to hang up, and to stall."""

    def __init__(self, method: str = "GET") -> None:
        self.scope: Scope = {"type": "http", "method": method, "path": "/api/v1/stream"}
        self.sent: list[Message] = []
        self._hangup = asyncio.Event()
        self.writable = asyncio.Event()
        self.writable.set()

    async def receive(self) -> Message:
        await self._hangup.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        # Like uvicorn: wait while the transport is paused, then write.
        await self.writable.wait()
        self.sent.append(message)

    def hang_up(self) -> None:
        self._hangup.set()

    @property
    def headers(self) -> dict[str, str]:
        start = self.sent[0]
        assert start["type"] == "http.response.start"
        return {k.decode().lower(): v.decode() for k, v in start["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    @property
    def finished(self) -> bool:
        last = self.sent[-1] if self.sent else {}
        return last.get("type") == "http.response.body" and not last.get("more_body", False)


async def _open(
    hub: Hub,
    conn: Connection,
    *,
    head: list[bytes] | None = None,
    cursor: int = 0,
    heartbeat: float = LONG,
    send_timeout: float = LONG,
    max_seconds: float = LONG,
    expires_at: float | None = None,
) -> tuple[EventStream, asyncio.Task[None]]:
    stream = EventStream(
        hub,
        "a",
        heartbeat=heartbeat,
        send_timeout=send_timeout,
        max_seconds=max_seconds,
        expires_at=expires_at,
    )
    await hub.subscribe(stream)
    stream.prepare(head if head is not None else [RETRY], EPOCH, (cursor, 0))
    task = asyncio.create_task(stream(conn.scope, conn.receive, conn.send))
    await _until(lambda: len(conn.sent) >= 2 or task.done())
    return stream, task


async def _until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def _frames(*seqs: int) -> bytes:
    return b"".join(_event(n).frame for n in seqs)


async def test_the_hub_writes_each_frame_within_publish_until_the_client_hangs_up() -> None:
    hub = Hub(queue_size=10)
    conn = Connection()
    open_before = _metric("tocsin_open_streams")
    stream, task = await _open(hub, conn)
    assert _metric("tocsin_open_streams") == open_before + 1
    assert conn.headers["content-type"].startswith("text/event-stream")
    assert conn.headers["cache-control"] == "no-cache"
    assert conn.headers["x-accel-buffering"] == "no"
    for seq in (1, 2, 3):
        hub.publish("a", [_event(seq)])
        # Written by `publish` itself: the stream's task has not run since.
        assert conn.body.endswith(_event(seq).frame)
    conn.hang_up()
    await asyncio.wait_for(task, 2)
    assert stream.closed is CloseReason.DISCONNECTED
    assert conn.body == RETRY + _frames(1, 2, 3)
    assert hub.vendors() == {}
    assert _metric("tocsin_open_streams") == open_before


async def test_a_broadcast_needs_no_task_per_stream() -> None:
    hub = Hub(queue_size=10)
    conns = [Connection() for _ in range(50)]
    opened = [await _open(hub, conn) for conn in conns]
    tasks_before = len(asyncio.all_tasks())
    hub.publish("a", [_event(1), _event(2)])
    assert len(asyncio.all_tasks()) == tasks_before
    assert all(conn.body == RETRY + _frames(1, 2) for conn in conns)
    hub.close_all(CloseReason.SHUTDOWN)
    await asyncio.wait_for(asyncio.gather(*(task for _, task in opened)), 2)
    assert all(conn.finished for conn in conns)


async def test_the_seam_sends_the_head_first_and_drops_what_it_already_holds() -> None:
    hub = Hub(queue_size=10)
    conn = Connection()
    stream = EventStream(hub, "a", heartbeat=LONG, send_timeout=LONG, max_seconds=LONG)
    await hub.subscribe(stream)
    # Published between the subscription and the log read: 2 and 3 are in the replay too.
    hub.publish("a", [_event(2), _event(3), _event(4)])
    stream.prepare([RETRY, _event(2).frame, _event(3).frame], EPOCH, (3, 0))
    hub.publish("a", [_event(5)])  # before the response starts: queued behind
    task = asyncio.create_task(stream(conn.scope, conn.receive, conn.send))
    await _until(lambda: conn.body.endswith(_event(5).frame))
    hub.publish("a", [_event(5), _event(6)])  # live; 5 again (a late copy) is dropped
    assert conn.body == RETRY + _frames(2, 3, 4, 5, 6)
    conn.hang_up()
    await asyncio.wait_for(task, 2)


async def test_a_live_event_of_another_epoch_ends_the_stream() -> None:
    hub = Hub(queue_size=10)
    conn = Connection()
    stream, task = await _open(hub, conn)
    hub.publish("a", [_event(1, epoch="zzzzzzzz")])
    await asyncio.wait_for(task, 2)
    assert stream.closed is CloseReason.LOG_CHANGED
    assert conn.body == RETRY
    assert conn.finished


async def test_an_idle_stream_sends_heartbeats_from_the_wheel() -> None:
    hub = Hub(queue_size=10, resolution=0.01)
    conn = Connection()
    stream, task = await _open(hub, conn, heartbeat=0.05)
    await _until(lambda: conn.body.count(wire.HEARTBEAT) >= 2)
    assert stream.closed is None
    hub.close_all(CloseReason.SHUTDOWN)
    await asyncio.wait_for(task, 2)
    assert conn.finished


async def test_a_stream_ends_at_its_maximum_lifetime() -> None:
    hub = Hub(queue_size=10, resolution=0.01)
    conn = Connection()
    loop = asyncio.get_running_loop()
    began = loop.time()
    stream, task = await _open(hub, conn, max_seconds=0.1)
    await asyncio.wait_for(task, 2)
    assert loop.time() - began >= 0.09
    assert stream.closed is CloseReason.MAX_LIFETIME
    assert conn.finished


async def test_a_stream_ends_when_its_token_expires() -> None:
    hub = Hub(queue_size=10, resolution=0.01)
    conn = Connection()
    loop = asyncio.get_running_loop()
    began = loop.time()
    stream, task = await _open(hub, conn, expires_at=time.time() + 0.15)
    await asyncio.wait_for(task, 2)
    assert loop.time() - began >= 0.14
    assert stream.closed is CloseReason.EXPIRED
    assert conn.finished


async def test_a_stalled_stream_queues_then_catches_up_without_delaying_others() -> None:
    hub = Hub(queue_size=10)
    stalled, healthy = Connection(), Connection()
    stream, stalled_task = await _open(hub, stalled)
    _, healthy_task = await _open(hub, healthy)
    stalled.writable.clear()  # its transport is paused
    for seq in (1, 2, 3):
        hub.publish("a", [_event(seq)])
    assert healthy.body == RETRY + _frames(1, 2, 3)
    assert stalled.body == RETRY
    stalled.writable.set()
    await _until(lambda: stalled.body == RETRY + _frames(1, 2, 3))
    hub.publish("a", [_event(4)])  # live again: written within publish
    assert stalled.body.endswith(_event(4).frame)
    assert stream.closed is None
    stalled.hang_up()
    healthy.hang_up()
    await asyncio.wait_for(asyncio.gather(stalled_task, healthy_task), 2)


async def test_a_client_that_stops_reading_is_cut_off_after_the_send_timeout() -> None:
    hub = Hub(queue_size=10, resolution=0.01)
    stalled, healthy = Connection(), Connection()
    stream, stalled_task = await _open(hub, stalled, send_timeout=0.05)
    _, healthy_task = await _open(hub, healthy, send_timeout=0.05)
    slow_before = _metric("tocsin_slow_consumer_disconnects_total")
    stalled.writable.clear()
    hub.publish("a", [_event(1)])
    await asyncio.wait_for(stalled_task, 2)  # returns, not cancelled
    assert stream.closed is CloseReason.SLOW_CONSUMER
    assert _metric("tocsin_slow_consumer_disconnects_total") == slow_before + 1
    assert hub.vendors() == {"a": 1}
    hub.publish("a", [_event(2)])
    assert healthy.body == RETRY + _frames(1, 2)
    healthy.hang_up()
    await asyncio.wait_for(healthy_task, 2)


async def test_a_backlog_beyond_the_bound_cuts_off_only_that_stream() -> None:
    hub = Hub(queue_size=2)
    stalled, healthy = Connection(), Connection()
    stream, stalled_task = await _open(hub, stalled)
    _, healthy_task = await _open(hub, healthy)
    stalled.writable.clear()
    hub.publish("a", [_event(n) for n in range(1, 6)])
    await asyncio.wait_for(stalled_task, 2)
    assert stream.closed is CloseReason.SLOW_CONSUMER
    assert healthy.body == RETRY + _frames(1, 2, 3, 4, 5)
    healthy.hang_up()
    await asyncio.wait_for(healthy_task, 2)


async def test_shutdown_ends_every_stream_at_once() -> None:
    hub = Hub(queue_size=10)
    conns = [Connection() for _ in range(3)]
    opened = [await _open(hub, conn) for conn in conns]
    hub.close_all(CloseReason.SHUTDOWN)
    await asyncio.wait_for(asyncio.gather(*(task for _, task in opened)), 1)
    assert all(stream.closed is CloseReason.SHUTDOWN for stream, _ in opened)
    assert all(conn.finished for conn in conns)
    assert hub.vendors() == {}
    assert len(hub.wheel) == 0 or all(stream.due == 0 for stream, _ in opened)


async def test_head_answers_headers_and_never_opens_a_stream() -> None:
    hub = Hub(queue_size=10)
    conn = Connection("HEAD")
    stream = EventStream(hub, "a", heartbeat=LONG, send_timeout=LONG, max_seconds=LONG)
    await hub.subscribe(stream)
    stream.prepare([RETRY], EPOCH, (0, 0))
    open_before = _metric("tocsin_open_streams")
    await asyncio.wait_for(stream(conn.scope, conn.receive, conn.send), 2)
    assert conn.headers["content-type"].startswith("text/event-stream")
    assert conn.body == b""
    assert conn.finished
    assert hub.vendors() == {}  # unsubscribed all the same
    assert _metric("tocsin_open_streams") == open_before
