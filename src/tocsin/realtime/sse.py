"""A lean Server-Sent Events response for the hot path.

sse-starlette's `EventSourceResponse` runs four tasks per connection (stream,
ping, exit watcher, disconnect listener) under an anyio task group, and wraps
every send in a cancel scope. With thousands of open streams that is most of
the memory and much of the CPU of a broadcast (docs/benchmarks.md). This
response keeps sse-starlette's headers and HEAD handling, and does the rest
with one extra task and one timer per stream:

- the handler's own task writes the frames the subscriber hands it;
- a small task waits for `http.disconnect` and closes the subscriber (uvicorn's
  `send` returns silently once the client is gone, so this is how a vanished
  client is noticed);
- one timer per stream ticks every `min(heartbeat, send_timeout, max_seconds)`: it
  queues a heartbeat when one is due, ends the stream at its maximum lifetime,
  and cancels a send that has waited longer than `send_timeout` on a client
  that stopped reading (a slow consumer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

from sse_starlette import EventSourceResponse
from starlette.types import Message, Receive, Scope, Send

from tocsin import metrics
from tocsin.realtime.hub import Subscriber
from tocsin.realtime.wire import CloseReason


async def _watch_disconnect(receive: Receive, sub: Subscriber) -> None:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            sub.close(CloseReason.DISCONNECTED)
            return


class EventStream(EventSourceResponse):
    """Streams `frames` (already encoded) for `sub`; see the module docstring."""

    def __init__(
        self,
        frames: AsyncIterator[bytes],
        sub: Subscriber,
        *,
        heartbeat: float,
        send_timeout: float,
        max_seconds: float,
        on_close: Callable[[], None],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(frames, headers=headers, ping=0, sep="\n")
        self.sub = sub
        self._on_close = on_close
        self._heartbeat = heartbeat
        self._send_limit = send_timeout
        self._max_seconds = max_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream, and call `on_close` however it ends (a HEAD request never starts one)."""
        try:
            if scope["method"].upper() == "HEAD":
                await super().__call__(scope, receive, send)
                return
            metrics.OPEN_STREAMS.inc()
            try:
                await self._stream(receive, send)
            finally:
                metrics.OPEN_STREAMS.dec()
        finally:
            self._on_close()

    async def _stream(self, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        sub = self.sub
        started = last_beat = loop.time()
        sending_since = 0.0
        timed_out = False
        interval = min(self._heartbeat, self._send_limit, self._max_seconds)
        timer: asyncio.TimerHandle | None = None

        def tick() -> None:
            nonlocal timer, last_beat, timed_out
            now = loop.time()
            if sending_since and now - sending_since >= self._send_limit:
                timed_out = True
                task.cancel()
                return
            if now - started >= self._max_seconds:
                sub.close(CloseReason.MAX_LIFETIME)
            elif now - last_beat >= self._heartbeat - 0.01:
                last_beat = now
                sub.request_heartbeat()
            timer = loop.call_later(interval, tick)

        timer = loop.call_later(interval, tick)
        watcher = loop.create_task(_watch_disconnect(receive, sub))
        iterator = self.body_iterator
        assert isinstance(iterator, AsyncIterator)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in iterator:
                sending_since = loop.time()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sending_since = 0.0
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not timed_out:
                raise
            task.uncancel()
            metrics.SLOW_CONSUMERS.inc()
        finally:
            timer.cancel()
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await iterator.aclose()  # type: ignore[attr-defined]
