"""The Server-Sent Events response, written to by the hub.

An `EventStream` is both the hub's subscriber and the ASGI response. Per
stream there is no queue, no generator and no task of its own beyond the
request's: the hub's loop calls `push`, which steps the ASGI `send` coroutine
once by hand. With uvicorn that one step writes the frame to the transport
and finishes, so a broadcast is one loop over the vendor's streams, in the
task that read the event (STACK.md: per-stream wake-ups are the cost).

A send that cannot finish at once (uvicorn waits for a paused transport: the
client stopped reading) moves its stream to the slow path: a task of its own
completes that send and writes what queued meanwhile, then hands the stream
back to the hub. A slow stream never delays the others; one whose backlog
reaches the hub's `queue_size`, or whose send waits `send_timeout` seconds,
is cut off (a slow consumer; it resumes from its last id).

The request's own task waits for `http.disconnect`, so a vanished client is
noticed at once. Heartbeats, the maximum lifetime, the token's expiry and
send timeouts are deadlines in the hub's timer wheel (`tocsin.realtime.timers`);
ending a stream cancels the request's wait.

The seam between replay and live: the stream subscribes before the log is
read, so events published meanwhile queue in its backlog; `prepare` puts the
replay (or a reset) in front of them, and every event is written only if its
position is past the last one written. No gap, no duplicate.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Generator
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from tocsin import metrics
from tocsin.realtime import wire
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import CloseReason, Event, Position

# Shared by every stream whose response adds none (no CORS): a list per stream costs ~0.5 KB.
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]
_HEARTBEAT: Message = {"type": "http.response.body", "body": wire.HEARTBEAT, "more_body": True}
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}

_STARTING, _LIVE, _SLOW, _DONE = range(4)

Step = Generator[Any, None, None]


class _Messages:
    """The ASGI message of the event being broadcast, built once for all its streams."""

    __slots__ = ("event", "message")

    def __init__(self) -> None:
        self.event: Event | None = None
        self.message: Message = {}

    def of(self, event: Event) -> Message:
        if event is not self.event:
            self.event = event
            self.message = {"type": "http.response.body", "body": event.frame, "more_body": True}
        return self.message


_messages = _Messages()


async def _settle(yielded: Any) -> None:
    """Until what a suspended send yielded is done: an asyncio future, or `None` (a bare yield)."""
    if yielded is None:
        await asyncio.sleep(0)
    else:
        await asyncio.wait((yielded,))


class EventStream:
    """One open stream of `vendor_id`, an ASGI app; see the module docstring.

    `expires_at` (seconds since the epoch) is when the credential that opened
    it expires: the stream ends then, or after `max_seconds`, whichever is first.
    `headers` are the response's, when they differ from `HEADERS`.
    """

    __slots__ = (
        "_backlog",
        "_cursor",
        "_end_reason",
        "_ending",
        "_ends_at",
        "_epoch",
        "_expires_at",
        "_headers",
        "_heartbeat",
        "_hub",
        "_max_seconds",
        "_next_beat",
        "_on_close",
        "_send",
        "_send_timeout",
        "_slow_since",
        "_slow_task",
        "_state",
        "_task",
        "closed",
        "due",
        "vendor_id",
    )

    def __init__(
        self,
        hub: Hub,
        vendor_id: str,
        *,
        heartbeat: float,
        send_timeout: float,
        max_seconds: float,
        expires_at: float | None = None,
        on_close: Callable[[], None] | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.vendor_id = vendor_id
        self._headers = headers
        self._on_close = on_close
        self.closed: CloseReason | None = None
        self.due = 0
        self._hub = hub
        self._heartbeat = heartbeat
        self._send_timeout = send_timeout
        self._max_seconds = max_seconds
        self._expires_at = expires_at
        self._ends_at = self._next_beat = self._slow_since = 0.0
        self._end_reason = CloseReason.MAX_LIFETIME
        self._state = _STARTING
        self._backlog: collections.deque[Event | bytes] | None = collections.deque()
        self._epoch = ""
        self._cursor: Position = (0, 0)
        self._send: Send | None = None
        self._task: asyncio.Task[Any] | None = None
        self._slow_task: asyncio.Task[None] | None = None
        self._ending = False

    def prepare(self, head: list[bytes], epoch: str, cursor: Position) -> None:
        """Frames to send first (`retry:`, the replay or a reset), and the position they reach."""
        self._epoch = epoch
        self._cursor = cursor
        if self._backlog is not None:
            self._backlog.extendleft(reversed(head))

    # -- from the hub's loop -------------------------------------------------

    def push(self, event: Event) -> bool:
        state = self._state
        if state == _LIVE:
            if event.epoch != self._epoch:
                self.close(CloseReason.LOG_CHANGED)
                return False
            if event.position <= self._cursor:
                return False  # the replay sent it already
            self._cursor = event.position
            self._write(_messages.of(event))
            return True
        backlog = self._backlog
        if backlog is None or self.closed is not None:
            return False
        if len(backlog) >= self._hub.queue_size:
            metrics.SLOW_CONSUMERS.inc()
            self.close(CloseReason.SLOW_CONSUMER)
            return False
        backlog.append(event)
        return True

    def close(self, reason: CloseReason) -> None:
        if self.closed is not None:
            return
        self.closed = reason
        task = self._task
        if task is not None and task is not asyncio.current_task():
            self._ending = True
            task.cancel()  # the request's task is waiting for a disconnect: end it now

    def on_timer(self, now: float) -> float | None:
        """Heartbeat, lifetime, token expiry and send timeout, from the hub's wheel."""
        if self.closed is not None or self._state == _DONE:
            return None
        if self._slow_since and now - self._slow_since >= self._send_timeout:
            metrics.SLOW_CONSUMERS.inc()
            self.close(CloseReason.SLOW_CONSUMER)
            return None
        if now >= self._ends_at:
            self.close(self._end_reason)
            return None
        if now >= self._next_beat:
            self._next_beat = now + self._heartbeat
            if self._state == _LIVE:  # a slow stream has bytes on the way already
                self._write(_HEARTBEAT)
        deadline = min(self._next_beat, self._ends_at)
        if self._slow_since:
            deadline = min(deadline, self._slow_since + self._send_timeout)
        return deadline

    # -- writing ---------------------------------------------------------------

    def _accept(self, item: Event | bytes) -> Message | None:
        """The message for a queued item, or `None` to skip it (already sent, or closed)."""
        if self.closed is not None:
            return None
        if isinstance(item, bytes):
            return {"type": "http.response.body", "body": item, "more_body": True}
        if item.epoch != self._epoch:
            self.close(CloseReason.LOG_CHANGED)
            return None
        if item.position <= self._cursor:
            return None
        self._cursor = item.position
        return _messages.of(item)

    def _step(self, message: Message) -> Step | None:
        """Start sending `message`: `None` once sent, else the suspended send."""
        assert self._send is not None
        step = self._send(message).__await__()
        try:
            yielded = step.send(None)
        except StopIteration:
            return None
        except Exception:
            self.close(CloseReason.DISCONNECTED)  # the connection cannot be written to
            return None
        self._go_slow(step, yielded)
        return step

    def _write(self, message: Message) -> None:
        self._step(message)

    def _flush(self) -> None:
        """Send the backlog while the transport takes it; then live, or slow."""
        backlog = self._backlog
        while backlog:
            message = self._accept(backlog.popleft())
            if message is not None and self._step(message) is not None:
                return
        self._backlog = None
        self._state = _LIVE

    def _go_slow(self, step: Step, yielded: Any) -> None:
        loop = asyncio.get_running_loop()
        self._state = _SLOW
        if self._backlog is None:
            self._backlog = collections.deque()
        self._slow_since = loop.time()
        self._hub.wheel.schedule(self, self._slow_since + self._send_timeout)
        self._slow_task = loop.create_task(self._drain(step, yielded))

    async def _drain(self, step: Step | None, yielded: Any) -> None:
        """The slow path: finish the pending send, then the backlog; back to live."""
        loop = asyncio.get_running_loop()
        try:
            while step is not None:
                await _settle(yielded)
                try:
                    yielded = step.send(None)
                    continue  # waiting again, on the same send
                except StopIteration:
                    step = None
                backlog = self._backlog
                while backlog and step is None:
                    message = self._accept(backlog.popleft())
                    if message is None:
                        continue
                    assert self._send is not None
                    step = self._send(message).__await__()
                    try:
                        yielded = step.send(None)
                    except StopIteration:
                        step = None
                if step is not None:
                    self._slow_since = loop.time()
                    self._hub.wheel.schedule(self, self._slow_since + self._send_timeout)
        except asyncio.CancelledError:
            if step is not None:
                step.close()
            raise
        except Exception:
            self.close(CloseReason.DISCONNECTED)
            return
        if self._state == _SLOW and self.closed is None:
            self._backlog = None
            self._slow_since = 0.0
            self._state = _LIVE
        self._slow_task = None

    # -- the request -------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream until closed; unsubscribes however it ends (a HEAD request never starts one).

        One coroutine for the whole stream: each frame on a stream's call stack
        lives as long as the stream.
        """
        try:
            if scope["method"].upper() == "HEAD":
                await send(self._start())
                await send(_END)
                return
            metrics.OPEN_STREAMS.inc()
            try:
                task = self._begin()
                try:
                    await send(self._start())
                    self._send = send
                    self._flush()
                    while self.closed is None:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            self.close(CloseReason.DISCONNECTED)
                except asyncio.CancelledError:
                    if not self._ending:
                        raise
                    task.uncancel()
                finally:
                    slow = self._stop()
                self._end(slow, send)
            finally:
                metrics.OPEN_STREAMS.dec()
        finally:
            self._state = _DONE
            self._hub.unsubscribe(self)
            if self._on_close is not None:
                self._on_close()

    def _start(self) -> Message:
        # A copy: middleware may add headers to the message in place.
        headers = list(HEADERS) if self._headers is None else self._headers
        return {"type": "http.response.start", "status": 200, "headers": headers}

    def _begin(self) -> asyncio.Task[Any]:
        """The request's task, now ours to cancel; deadlines in the hub's wheel."""
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        now = asyncio.get_running_loop().time()
        self._next_beat = now + self._heartbeat
        self._ends_at = now + self._max_seconds
        if self._expires_at is not None:
            expiry = now + (self._expires_at - time.time())
            if expiry < self._ends_at:
                self._ends_at, self._end_reason = expiry, CloseReason.EXPIRED
        self._hub.wheel.schedule(self, min(self._next_beat, self._ends_at))
        return task

    def _stop(self) -> asyncio.Task[None] | None:
        """Out of the wheel, no more writes; the slow path's task, if one runs."""
        self._hub.wheel.cancel(self)
        slow, self._slow_task = self._slow_task, None
        self._state = _DONE
        self._backlog = None
        self._task = None
        return slow

    def _end(self, slow: asyncio.Task[None] | None, send: Send) -> None:
        """End the response, unless the client is gone or stopped reading."""
        if slow is not None and not slow.done():
            slow.cancel()  # a client that stopped reading: uvicorn drops the connection
            return
        if self.closed is not CloseReason.DISCONNECTED:
            step = send(_END).__await__()
            try:
                step.send(None)
            except Exception:  # StopIteration: sent
                return
            step.close()  # the transport is paused after all: uvicorn drops the connection
