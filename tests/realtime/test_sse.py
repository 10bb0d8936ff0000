"""The SSE response over a fake ASGI connection: frames, heartbeats, lifetime, disconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from prometheus_client import REGISTRY
from starlette.types import Message, Scope

from tocsin.realtime import wire
from tocsin.realtime.hub import Subscriber
from tocsin.realtime.sse import EventStream
from tocsin.realtime.wire import CloseReason

EPOCH = "0a1b2c3d"
LONG = 3600.0


def _event(seq: int) -> wire.Event:
    return wire.Event(
        wire.format_id(EPOCH, (seq, 0), redis=False),
        EPOCH,
        (seq, 0),
        wire.NEW_NOTIFICATION,
        wire.dumps({"seq": seq}),
    )


def _metric(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    return 0.0 if value is None else value


async def _frames(sub: Subscriber) -> AsyncIterator[bytes]:
    """What the stream endpoint yields, reduced to its loop: events and heartbeats until closed."""
    yield wire.retry_frame(1000)
    while True:
        event = await sub.get()
        if event is None:
            if sub.closed is not None:
                return
            yield wire.HEARTBEAT
            continue
        yield event.frame


class Connection:
    """One fake ASGI connection: what the response sent, and a way to hang up."""

    def __init__(self, method: str = "GET") -> None:
        self.scope: Scope = {"type": "http", "method": method, "path": "/api/v1/stream"}
        self.sent: list[Message] = []
        self._hangup = asyncio.Event()
        self.closes = 0

    async def receive(self) -> Message:
        await self._hangup.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    def hang_up(self) -> None:
        self._hangup.set()

    def on_close(self) -> None:
        self.closes += 1

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


def _response(
    sub: Subscriber,
    conn: Connection,
    *,
    heartbeat: float = LONG,
    send_timeout: float = LONG,
    max_seconds: float = LONG,
) -> EventStream:
    return EventStream(
        _frames(sub),
        sub,
        heartbeat=heartbeat,
        send_timeout=send_timeout,
        max_seconds=max_seconds,
        on_close=conn.on_close,
        headers={"Cache-Control": "no-cache"},
    )


async def _until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_frames_are_written_in_order_until_the_client_hangs_up() -> None:
    sub = Subscriber("a", limit=10)
    conn = Connection()
    open_before = _metric("tocsin_open_streams")
    task = asyncio.create_task(_response(sub, conn)(conn.scope, conn.receive, conn.send))
    await _until(lambda: len(conn.sent) >= 2)
    assert _metric("tocsin_open_streams") == open_before + 1
    assert conn.headers["content-type"].startswith("text/event-stream")
    assert conn.headers["cache-control"] == "no-cache"
    assert conn.headers["x-accel-buffering"] == "no"
    for seq in (1, 2, 3):
        sub.push(_event(seq))
    await _until(lambda: conn.body.count(b"\n\n") >= 4)
    conn.hang_up()
    await asyncio.wait_for(task, 2)
    assert sub.closed is CloseReason.DISCONNECTED
    assert conn.body == wire.retry_frame(1000) + b"".join(_event(n).frame for n in (1, 2, 3))
    assert conn.finished
    assert conn.closes == 1
    assert _metric("tocsin_open_streams") == open_before


async def test_an_idle_stream_sends_heartbeats() -> None:
    sub = Subscriber("a", limit=10)
    conn = Connection()
    task = asyncio.create_task(
        _response(sub, conn, heartbeat=0.05)(conn.scope, conn.receive, conn.send)
    )
    await _until(lambda: conn.body.count(wire.HEARTBEAT) >= 2)
    assert sub.closed is None
    sub.close(CloseReason.SHUTDOWN)
    await asyncio.wait_for(task, 2)
    assert conn.finished
    assert conn.closes == 1


async def test_a_stream_ends_at_its_maximum_lifetime() -> None:
    sub = Subscriber("a", limit=10)
    conn = Connection()
    loop = asyncio.get_running_loop()
    began = loop.time()
    await asyncio.wait_for(
        _response(sub, conn, max_seconds=0.1)(conn.scope, conn.receive, conn.send), 2
    )
    assert loop.time() - began >= 0.09
    assert sub.closed is CloseReason.MAX_LIFETIME
    assert conn.finished
    assert conn.closes == 1


async def test_a_client_that_stops_reading_is_cut_off_after_the_send_timeout() -> None:
    sub = Subscriber("a", limit=10)
    conn = Connection()
    stuck = asyncio.Event()

    async def send(message: Message) -> None:
        conn.sent.append(message)
        if message.get("body") == _event(1).frame:
            await stuck.wait()  # a full socket buffer: never returns

    slow_before = _metric("tocsin_slow_consumer_disconnects_total")
    task = asyncio.create_task(
        _response(sub, conn, send_timeout=0.05)(conn.scope, conn.receive, send)
    )
    sub.push(_event(1))
    await asyncio.wait_for(task, 2)  # returns, not cancelled
    assert _metric("tocsin_slow_consumer_disconnects_total") == slow_before + 1
    assert conn.closes == 1
    assert not stuck.is_set()


async def test_head_answers_headers_and_never_opens_a_stream() -> None:
    sub = Subscriber("a", limit=10)
    conn = Connection("HEAD")
    open_before = _metric("tocsin_open_streams")
    await asyncio.wait_for(_response(sub, conn)(conn.scope, conn.receive, conn.send), 2)
    assert conn.headers["content-type"].startswith("text/event-stream")
    assert conn.body == b""
    assert conn.finished
    assert conn.closes == 1  # the caller still unsubscribes
    assert _metric("tocsin_open_streams") == open_before
