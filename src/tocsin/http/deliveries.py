"""The delivery log and the audit of one notification, for the vendor and the publisher.

`GET /api/v1/deliveries` and `…/vendors/{vendor_id}/deliveries`: the log.
`GET /api/v1/notifications/{id}/deliveries` and
`…/vendors/{vendor_id}/notifications/{id}/deliveries`: one notification's story
(`tocsin.delivery.audit`); another vendor's notification is a 404, like an absent one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.delivery.audit import Escalation, Story, skip_reason
from tocsin.delivery.channels import QUEUED
from tocsin.delivery.history import STATUSES
from tocsin.errors import ValidationFailed
from tocsin.http import auth
from tocsin.http._request import query_int, query_row_id, runtime, vendor_path
from tocsin.model import Row
from tocsin.realtime import wire
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
        # The vendor changed its quiet hours before `held_until`: due from then.
        "released_at": iso(row["released_at"]),
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


def _audited(row: Row) -> dict[str, Any]:
    """A delivery in the audit: as in the log, with why it was skipped."""
    return {**_delivery(row), "skip_reason": skip_reason(row)}


def _escalation(e: Escalation) -> dict[str, Any]:
    return {
        "delivery_id": str(e.delivery_id),
        "channel": e.channel,
        "state": e.state,
        "due_at": iso(e.due_at),
        "settled_at": iso(e.settled_at),
        "reason": e.reason,
    }


def _listing(item: Row, by_id: dict[int, Row]) -> dict[str, Any]:
    digest = by_id.get(item["digest_id"]) if item["digest_id"] is not None else None
    sent = digest is not None and digest["status"] == "sent"
    return {
        "digest_id": None if item["digest_id"] is None else str(item["digest_id"]),
        "listed_at": iso(item["created_at"]),
        "status": None if digest is None else digest["status"],
        "sent_at": iso(digest["updated_at"]) if sent and digest is not None else None,
    }


def story_json(story: Story) -> dict[str, Any]:
    s = story.streamed
    by_id = {int(d["id"]): d for d in story.deliveries}
    return {
        "notification": wire.notification(story.notification),
        "streamed": {
            "tabs": story.tabs,
            "streams": int(s["streams"]) if s else 0,
            "polls": int(s["polls"]) if s else 0,
            "first_at": iso(s["first_at"]) if s else None,
            "last_at": iso(s["last_at"]) if s else None,
        },
        "deliveries": [_audited(d) for d in story.deliveries],
        "escalations": [_escalation(e) for e in story.escalations],
        "digests": [_listing(item, by_id) for item in story.listings],
        "timeline": [
            {
                "at": iso(step.at),
                "what": step.what,
                "channel": step.channel,
                "delivery_id": None if step.delivery_id is None else str(step.delivery_id),
                "detail": step.detail,
            }
            for step in story.timeline
        ],
    }


async def _audit(request: Request, vendor_id: str) -> Response:
    notification_id = str(request.path_params["notification_id"])
    story = await runtime(request).audit.story(vendor_id, notification_id)
    return JSONResponse(story_json(story))


async def vendor_audit(request: Request) -> Response:
    vendor = await auth.vendor(request)
    return await _audit(request, vendor.id)


async def publisher_audit(request: Request) -> Response:
    await auth.publisher(request)
    return await _audit(request, vendor_path(request))


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
    Route("/api/v1/notifications/{notification_id}/deliveries", vendor_audit, methods=["GET"]),
    Route(
        "/api/v1/vendors/{vendor_id}/notifications/{notification_id}/deliveries",
        publisher_audit,
        methods=["GET"],
    ),
]
