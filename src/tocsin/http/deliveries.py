"""The delivery log: `GET /api/v1/deliveries` (vendor) and `…/vendors/{vendor_id}/deliveries`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.delivery.channels import QUEUED
from tocsin.delivery.history import STATUSES
from tocsin.errors import ValidationFailed
from tocsin.http import auth
from tocsin.http._request import query_int, query_row_id, runtime, vendor_path
from tocsin.model import Row
from tocsin.realtime.wire import iso


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
        # instant | grace | escalation | digest; quiet hours moved it from `held_from`.
        "purpose": row["purpose"],
        "held_from": iso(row["held_from"]),
        "held_until": iso(row["held_until"]),
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


async def _deliveries(request: Request, vendor_id: str) -> Response:
    limit = query_int(request, "limit", 20, 1, 100)
    rows, next_cursor = await runtime(request).deliveries.page(
        vendor_id,
        cursor=query_row_id(request, "cursor"),
        limit=limit,
        status=_choice(request, "status", STATUSES),
        channel=_choice(request, "channel", tuple(c.name for c in QUEUED)),
    )
    return JSONResponse(
        {
            "items": [_delivery(r) for r in rows],
            "next_cursor": None if next_cursor is None else str(next_cursor),
        }
    )


async def vendor_deliveries(request: Request) -> Response:
    vendor = await auth.vendor(request)
    return await _deliveries(request, vendor.id)


async def publisher_deliveries(request: Request) -> Response:
    await auth.publisher(request)
    return await _deliveries(request, vendor_path(request))


routes = [
    Route("/api/v1/deliveries", vendor_deliveries, methods=["GET"]),
    Route("/api/v1/vendors/{vendor_id}/deliveries", publisher_deliveries, methods=["GET"]),
]
