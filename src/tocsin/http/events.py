"""`POST /api/v1/events`: a marketplace event, applied once."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.http import auth
from tocsin.http._request import read_json, runtime
from tocsin.marketplace import registry
from tocsin.marketplace import schemas as events


async def post_event(request: Request) -> Response:
    rt = runtime(request)
    await auth.publisher(request)
    envelope = await read_json(request, events.Envelope, rt.settings.max_body_bytes)
    result = await rt.ingest.ingest(registry.parse(envelope))
    return JSONResponse(
        {"event_id": result.event_id, "notifications": result.notifications},
        status_code=202 if result.created else 200,
    )


routes = [
    Route("/api/v1/events", post_event, methods=["POST"]),
]
