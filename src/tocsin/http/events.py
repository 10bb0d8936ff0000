"""HTTP handlers of marketplace events: ingest, preferences, contacts, the delivery log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.delivery.channels import QUEUED, ContactIn
from tocsin.errors import ValidationFailed
from tocsin.http._request import query_int, read_json, vendor_path
from tocsin.marketplace import registry
from tocsin.marketplace import schemas as events
from tocsin.marketplace.preferences import PreferencesPatch, changes, merged
from tocsin.notifications.service import iso
from tocsin.runtime import Runtime, runtime
from tocsin.storage.store import Row


async def post_event(request: Request) -> Response:
    rt = runtime(request)
    await rt.auth.publisher(request)
    envelope = await read_json(request, events.Envelope, rt.settings.max_body_bytes)
    result = await rt.pipeline.ingest.ingest(registry.parse(envelope))
    return JSONResponse(
        {"event_id": result.event_id, "notifications": result.notifications},
        status_code=202 if result.created else 200,
    )


async def preferences(request: Request) -> Response:
    rt = runtime(request)
    vendor = await rt.auth.vendor(request)
    store = rt.pipeline.events
    if request.method == "PUT":
        patch = await read_json(request, PreferencesPatch, rt.settings.max_body_bytes)
        await store.set_preferences(vendor.id, changes(patch))
    stored = await store.preferences([vendor.id])
    return JSONResponse(merged(stored[vendor.id]))


async def set_contact(request: Request) -> Response:
    rt = runtime(request)
    await rt.auth.publisher(request)
    vendor_id = vendor_path(request)
    body = await read_json(request, ContactIn, rt.settings.max_body_bytes)
    contact = body.model_dump()
    await rt.store.set_contact(vendor_id, **contact)
    return JSONResponse({"vendor_id": vendor_id, **contact})


def _delivery(row: Row) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "vendor_id": row["vendor_id"],
        "event_id": row["event_id"],
        "notification_id": row["notification_id"],
        "type": row["type"],
        "channel": row["channel"],
        "recipient": row["recipient"],
        "status": row["status"],
        "attempts": row["attempts"],
        "next_attempt_at": iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "last_error": row["last_error"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "attempt_log": [
            {
                "attempt": a["attempt"],
                "status": a["status"],
                "error": a["error"],
                "started_at": iso(a["started_at"]),
                "finished_at": iso(a["finished_at"]),
            }
            for a in row["attempt_log"]
        ],
    }


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise ValidationFailed(
            f"{name} must be one of: {', '.join(allowed)}",
            errors=[{"field": name, "message": f"must be one of: {', '.join(allowed)}"}],
        )
    return value


async def _deliveries(rt: Runtime, vendor_id: str, request: Request) -> Response:
    limit = query_int(request, "limit", 20, 1, 100)
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and not cursor.isdigit():
        raise ValidationFailed(
            "cursor is not one this API returned",
            errors=[{"field": "cursor", "message": "invalid cursor"}],
        )
    rows = await rt.pipeline.deliveries.page(
        vendor_id,
        before_id=int(cursor) if cursor else None,
        limit=limit + 1,
        status=_choice(request, "status", ("pending", "sending", "sent", "failed")),
        channel=_choice(request, "channel", tuple(c.name for c in QUEUED)),
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return JSONResponse(
        {
            "items": [_delivery(r) for r in rows],
            "next_cursor": str(rows[-1]["id"]) if more else None,
        }
    )


async def vendor_deliveries(request: Request) -> Response:
    rt = runtime(request)
    vendor = await rt.auth.vendor(request)
    return await _deliveries(rt, vendor.id, request)


async def publisher_deliveries(request: Request) -> Response:
    rt = runtime(request)
    await rt.auth.publisher(request)
    return await _deliveries(rt, vendor_path(request), request)


routes = [
    Route("/api/v1/events", post_event, methods=["POST"]),
    Route("/api/v1/preferences", preferences, methods=["GET", "PUT"]),
    Route("/api/v1/vendors/{vendor_id}/contact", set_contact, methods=["PUT"]),
    Route("/api/v1/deliveries", vendor_deliveries, methods=["GET"]),
    Route("/api/v1/vendors/{vendor_id}/deliveries", publisher_deliveries, methods=["GET"]),
]
