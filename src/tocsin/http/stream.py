"""`GET /api/v1/stream` (Server-Sent Events) and `GET /api/v1/stream/poll`.

The seam between replay and live: the subscriber is registered with the hub
*before* the log is read, so every event appended after the read reaches its
queue; events the replay already sent are dropped by position. No gap, no
duplicate.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin import metrics
from tocsin.http import auth
from tocsin.http._request import query_float, query_int, runtime
from tocsin.realtime import wire
from tocsin.realtime.eventlog import ReadResult
from tocsin.realtime.hub import Subscriber
from tocsin.realtime.sse import EventStream
from tocsin.runtime import Runtime
from tocsin.settings import Settings

POLL_MAX_WAIT = 30.0
POLL_MAX_LIMIT = 1000
SSE_DELIVERED = metrics.EVENTS_DELIVERED.labels("sse")
POLL_DELIVERED = metrics.EVENTS_DELIVERED.labels("poll")


# The log and the hub raise `Unavailable` when the log's backend cannot be reached.
async def _read(rt: Runtime, vendor_id: str, after: str | None, limit: int) -> ReadResult:
    return await rt.log.read(vendor_id, after, limit)


async def _subscribe(rt: Runtime, vendor_id: str) -> Subscriber:
    return await rt.hub.subscribe(vendor_id)


async def _frames(
    settings: Settings, sub: Subscriber, first: ReadResult, resumed: bool
) -> AsyncIterator[bytes]:
    """The stream's bytes: `retry:`, the replay (or a reset), then live events and heartbeats."""
    yield wire.retry_frame(settings.retry_ms)
    head = wire.parse_id(first.head)
    assert head is not None
    epoch, cursor = head
    reset = first.reset
    if reset is None and len(first.events) > settings.replay_max_events:
        reset = wire.ResetReason.TOO_MANY_EVENTS
    if reset is not None:
        metrics.RESETS.labels(reset).inc()
        yield wire.reset_frame(first.head, reset)
    elif resumed:
        metrics.REPLAYS.inc()
        metrics.REPLAYED_EVENTS.inc(len(first.events))
        for event in first.events:
            yield event.frame
        if first.events:
            cursor = first.events[-1].position
            epoch = first.events[-1].epoch
    while True:
        live = await sub.get()
        if live is None:
            if sub.closed is None:
                yield wire.HEARTBEAT
                continue
            return  # closed: shutdown, too slow, or lived long enough; the client resumes
        if live.epoch != epoch:
            return  # the log was replaced: the client's resume will be answered with reset
        if live.position <= cursor:
            continue
        cursor = live.position
        SSE_DELIVERED.inc()
        yield live.frame


async def stream(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request, allow_query=True)
    after = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    slot = await rt.slots.take(vendor.id)  # 429 beyond TOCSIN_MAX_STREAMS_PER_VENDOR
    try:
        sub = await _subscribe(rt, vendor.id)
    except BaseException:
        slot.release()
        raise

    def close() -> None:
        rt.hub.unsubscribe(sub)
        slot.release()

    try:
        first = await _read(rt, vendor.id, after, rt.settings.replay_max_events + 1)
    except BaseException:
        close()
        raise
    return EventStream(
        _frames(rt.settings, sub, first, resumed=after is not None),
        sub,
        heartbeat=rt.settings.heartbeat_seconds,
        send_timeout=rt.settings.send_timeout_seconds,
        max_seconds=rt.settings.stream_max_seconds,
        on_close=close,
        headers={"Cache-Control": "no-cache"},
    )


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
        try:
            sub = await _subscribe(rt, vendor.id)
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


routes = [
    Route("/api/v1/stream", stream, methods=["GET"]),
    Route("/api/v1/stream/poll", poll, methods=["GET"]),
]
