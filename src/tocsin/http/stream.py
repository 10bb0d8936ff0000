"""`GET /api/v1/stream` (Server-Sent Events) and `GET /api/v1/stream/poll`.

The seam between replay and live: the subscriber is registered with the hub
*before* the log is read, so every event appended after the read reaches it;
events the replay already sent are dropped by position. No gap, no
duplicate. A stream ends when the token that opened it expires.
"""

from __future__ import annotations

import functools

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from tocsin import metrics
from tocsin.errors import TocsinError
from tocsin.http import auth, problems
from tocsin.http._request import query_float, query_int, runtime
from tocsin.realtime import wire
from tocsin.realtime.eventlog import ReadResult
from tocsin.realtime.hub import Subscriber, Waiter
from tocsin.realtime.sse import HEADERS, EventStream
from tocsin.realtime.wire import Position
from tocsin.runtime import Runtime
from tocsin.settings import Settings

POLL_MAX_WAIT = 30.0
POLL_MAX_LIMIT = 1000
POLL_DELIVERED = metrics.EVENTS_DELIVERED.labels("poll")


# The log and the hub raise `Unavailable` when the log's backend cannot be reached.
async def _read(rt: Runtime, vendor_id: str, after: str | None, limit: int) -> ReadResult:
    return await rt.log.read(vendor_id, after, limit)


def _head(
    settings: Settings, first: ReadResult, resumed: bool
) -> tuple[list[bytes], str, Position]:
    """What a stream sends before live events: `retry:`, then the replay or a reset.

    Also the epoch and position it reaches, from which live events go on.
    """
    frames = [wire.retry_frame(settings.retry_ms)]
    head = wire.parse_id(first.head)
    assert head is not None
    epoch, cursor = head
    reset = first.reset
    if reset is None and len(first.events) > settings.replay_max_events:
        reset = wire.ResetReason.TOO_MANY_EVENTS
    if reset is not None:
        metrics.RESETS.labels(reset).inc()
        frames.append(wire.reset_frame(first.head, reset))
    elif resumed:
        metrics.REPLAYS.inc()
        metrics.REPLAYED_EVENTS.inc(len(first.events))
        frames += (event.frame for event in first.events)
        if first.events:
            cursor = first.events[-1].position
            epoch = first.events[-1].epoch
    return frames, epoch, cursor


async def _subscribe(rt: Runtime, sub: Subscriber) -> None:
    await rt.hub.subscribe(sub)


async def _open(request: Request, headers: list[tuple[bytes, bytes]] | None) -> EventStream:
    """An open stream, subscribed, its head (the replay or a reset) ready to send."""
    rt = runtime(request)
    vendor = await auth.vendor(request, allow_query=True)
    after = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    slot = await rt.slots.take(vendor.id)  # 429 beyond TOCSIN_MAX_STREAMS_PER_VENDOR
    sub = EventStream(
        rt.hub,
        vendor.id,
        heartbeat=rt.settings.heartbeat_seconds,
        send_timeout=rt.settings.send_timeout_seconds,
        max_seconds=rt.settings.stream_max_seconds,
        expires_at=vendor.expires_at,
        on_close=slot.release,
        headers=headers,
    )
    try:
        # Subscribed before the read: see the module docstring.
        await _subscribe(rt, sub)
        first = await _read(rt, vendor.id, after, rt.settings.replay_max_events + 1)
        sub.prepare(*_head(rt.settings, first, resumed=after is not None))
    except BaseException:
        rt.hub.unsubscribe(sub)
        slot.release()
        raise
    return sub


class StreamEndpoint:
    """`GET /api/v1/stream` as a bare ASGI app, served in front of Starlette's stack.

    A stream lives for hours; everything on its call stack lives as long. Through
    Starlette's routing, middleware and exception layers that is a coroutine
    frame and a `send` wrapper per layer, about 5.5 KB a stream, and every frame
    the hub writes goes through each wrapper. `tocsin.app.App` hands this path
    straight to `open`, which does what those layers would: the credential and
    the stream cap (errors as problem+json, 429 with `Retry-After`) and the
    CORS headers of the app's policy; the stream then runs in `App.__call__`'s
    frame with uvicorn's own `send`. The `Request` used to authenticate is
    dropped before the stream runs.
    """

    def __init__(self, cors: CORSMiddleware | None = None) -> None:
        self.cors = cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = await self.open(scope, receive, send)
        if stream is not None:
            await stream(scope, receive, send)

    async def open(self, scope: Scope, receive: Receive, send: Send) -> EventStream | None:
        """The stream to run; `None` once an error has been answered instead."""
        request = Request(scope, receive)
        try:
            return await _open(request, await self._headers(request))
        except TocsinError as exc:
            response = await problems.tocsin_error(request, exc)
        except Exception as exc:
            response = await problems.unexpected_error(request, exc)
        if self.cors is not None:
            send = functools.partial(self.cors.send, send=send, request_headers=request.headers)
        await response(scope, receive, send)
        return None

    async def _headers(self, request: Request) -> list[tuple[bytes, bytes]] | None:
        """The stream's response headers with the CORS policy's, or `None` for the shared ones."""
        if self.cors is None:
            return None
        start: list[Message] = []

        async def keep(message: Message) -> None:
            start.append(message)

        message = {"type": "http.response.start", "status": 200, "headers": list(HEADERS)}
        await self.cors.send(message, keep, request.headers)
        headers: list[tuple[bytes, bytes]] = start[0]["headers"]
        return headers


def _poll_body(events: list[wire.Event], last_id: str, reset: wire.ResetReason | None) -> Response:
    body = wire.poll_body(events, last_id, reset)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


async def poll(request: Request) -> Response:
    """Events after `after`, waiting up to `wait` seconds for the first one."""
    rt = runtime(request)
    vendor = await auth.vendor(request, allow_query=True)
    after = request.query_params.get("after") or request.headers.get("last-event-id") or None
    wait = query_float(request, "wait", 0.0, 0.0, POLL_MAX_WAIT)
    limit = query_int(request, "limit", 100, 1, POLL_MAX_LIMIT)
    metrics.POLL_REQUESTS.inc()
    result = await _read(rt, vendor.id, after, limit)
    if after is None:
        return _poll_body([], result.head, None)
    if not result.events and result.reset is None and wait > 0:
        slot = await rt.slots.take(vendor.id)  # a waiting poll counts as a stream
        sub = Waiter(vendor.id)
        try:
            await _subscribe(rt, sub)
        except BaseException:
            slot.release()
            raise
        try:
            # Read again now that live events reach `sub`: nothing slips between.
            result = await _read(rt, vendor.id, after, limit)
            if not result.events and result.reset is None:
                await sub.wait(wait)
                result = await _read(rt, vendor.id, after, limit)
        finally:
            rt.hub.unsubscribe(sub)
            slot.release()
    if result.reset is not None:
        metrics.RESETS.labels(result.reset).inc()
        return _poll_body([], result.head, result.reset)
    POLL_DELIVERED.inc(len(result.events))
    last_id = result.events[-1].id if result.events else after
    return _poll_body(result.events, last_id, None)


PATH = "/api/v1/stream"


def routes(endpoint: StreamEndpoint) -> list[Route]:
    # `App` serves GET and HEAD on PATH before routing; the route answers the rest (405).
    return [
        Route(PATH, endpoint, methods=["GET"]),
        Route("/api/v1/stream/poll", poll, methods=["GET"]),
    ]
