"""REST handlers: parse, authorise, call the service, answer. No SQL here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin._ids import NOTIFICATION_ID
from tocsin.credentials import mint
from tocsin.errors import ValidationFailed
from tocsin.fields import is_line, validation_failed
from tocsin.http import auth
from tocsin.http._request import query_int, read_json, runtime, vendor_path
from tocsin.http.schemas import BulkIn, Filter, NotificationIn, NotificationPatch, SeenIn, TokenIn
from tocsin.model import BulkJob, ListFilter
from tocsin.notifications.service import NewNotification
from tocsin.realtime.wire import iso
from tocsin.realtime.wire import notification as to_wire

IDEMPOTENCY_KEY_MAX = 200


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def to_list_filter(f: Filter) -> ListFilter:
    return ListFilter(
        unread=f.unread,
        seen=f.seen,
        types=tuple(f.type or ()),
        priorities=tuple(f.priority or ()),
        archived=f.archived,
        q=f.q,
        since_ms=_ms(f.since),
        until_ms=_ms(f.until),
    )


def filter_from_query(request: Request) -> Filter:
    params = request.query_params
    raw: dict[str, Any] = {}
    for name in ("unread", "seen", "archived", "q", "since", "until"):
        if params.get(name) not in (None, ""):
            raw[name] = params[name]
    for name in ("type", "priority"):
        values = [v for value in params.getlist(name) for v in value.split(",") if v]
        if values:
            raw[name] = values
    try:
        return Filter.model_validate(raw, strict=False)
    except ValidationError as exc:
        raise validation_failed(exc) from None


# -- publisher ------------------------------------------------------------------


async def create_token(request: Request) -> Response:
    rt = runtime(request)
    await auth.publisher(request)
    body = await read_json(request, TokenIn, rt.settings.max_body_bytes)
    if body.ttl > rt.settings.token_max_ttl:
        raise ValidationFailed(
            f"ttl must be at most {rt.settings.token_max_ttl} seconds",
            errors=[{"field": "ttl", "message": f"must be at most {rt.settings.token_max_ttl}"}],
        )
    token, expires = mint(rt.settings, body.vendor_id, body.ttl)
    return JSONResponse(
        {"token": token, "expires_at": expires.isoformat().replace("+00:00", "Z")},
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


async def create_notification(request: Request) -> Response:
    rt = runtime(request)
    await auth.publisher(request)
    vendor_id = vendor_path(request)
    body = await read_json(request, NotificationIn, rt.settings.max_body_bytes)
    key = request.headers.get("idempotency-key")
    if key is not None and not (1 <= len(key) <= IDEMPOTENCY_KEY_MAX and is_line(key)):
        raise ValidationFailed(
            f"the Idempotency-Key header must have 1 to {IDEMPOTENCY_KEY_MAX} characters, "
            "none of them a control character",
            errors=[{"field": "Idempotency-Key", "message": "invalid key"}],
        )
    new = NewNotification(
        type=body.type,
        title=body.title,
        body=body.body,
        data=body.data,
        priority=body.priority,
        link=body.link,
        dedupe_key=body.dedupe_key or key,
    )
    # Through the pipeline: email, SMS and push follow the vendor's preferences.
    n, created = await rt.ingest.direct(
        vendor_id, new, idempotent=key is not None and body.dedupe_key is None
    )
    return JSONResponse(
        to_wire(n),
        status_code=201 if created else 200,
        headers={"Location": f"/api/v1/notifications/{n.id}"},
    )


# -- vendor ---------------------------------------------------------------------


async def list_notifications(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    f = filter_from_query(request)
    limit = query_int(request, "limit", 20, 1, 100)
    cursor = request.query_params.get("cursor") or None
    if cursor is not None and not NOTIFICATION_ID.fullmatch(cursor):
        raise ValidationFailed(
            "cursor is not one this API returned",
            errors=[{"field": "cursor", "message": "invalid cursor"}],
        )
    rows, next_cursor = await rt.service.page(
        vendor.id, to_list_filter(f), cursor=cursor, limit=limit
    )
    total = await rt.service.unread_total(vendor.id)
    return JSONResponse(
        {"items": [to_wire(n) for n in rows], "next_cursor": next_cursor, "unread_count": total}
    )


async def unread_count(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    total, by_type = await rt.service.unread(vendor.id)
    return JSONResponse({"total": total, "by_type": by_type})


async def notification(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    notification_id = str(request.path_params["notification_id"])
    if request.method == "DELETE":
        await rt.service.delete(vendor.id, notification_id)
        return Response(status_code=204)
    if request.method == "PATCH":
        patch = await read_json(request, NotificationPatch, rt.settings.max_body_bytes)
        n = await rt.service.patch(
            vendor.id, notification_id, read=patch.read, archived=patch.archived
        )
    else:
        n = await rt.service.get(vendor.id, notification_id)
    return JSONResponse(to_wire(n))


async def bulk(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    body = await read_json(request, BulkIn, rt.settings.max_body_bytes)
    if (body.ids is None) == (not body.all):
        raise ValidationFailed(
            "give either ids or all: true (with an optional filter)",
            errors=[{"field": "ids", "message": "either ids or all: true"}],
        )
    if body.ids is not None:
        changed = await rt.service.change(vendor.id, body.action, ids=body.ids)
        return JSONResponse({"updated": len(changed)})
    f = to_list_filter(body.filter or Filter(archived=None))
    count, job = await rt.service.change_all(vendor.id, body.action, f)
    if job is None:
        return JSONResponse({"updated": count})
    # Too large for one request: a job does it in chunks (DESIGN.md, Wave 2).
    return JSONResponse(
        {"job": job_to_wire(job)},
        status_code=202,
        headers={"Location": f"/api/v1/notifications/bulk/{job.id}"},
    )


def job_to_wire(job: BulkJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "action": job.action,
        "status": job.status,
        "updated": job.changed,
        "error": job.error,
        "created_at": iso(job.created_at),
        "updated_at": iso(job.updated_at),
        "finished_at": iso(job.finished_at),
    }


async def bulk_job(request: Request) -> Response:
    """A bulk job's progress: `{job}`."""
    rt = runtime(request)
    vendor = await auth.vendor(request)
    job = await rt.service.job(vendor.id, str(request.path_params["job_id"]))
    return JSONResponse({"job": job_to_wire(job)}, headers={"Cache-Control": "no-store"})


async def seen(request: Request) -> Response:
    """A live tab displayed these notifications: `{ids}` → `{updated}`."""
    rt = runtime(request)
    vendor = await auth.vendor(request)
    body = await read_json(request, SeenIn, rt.settings.max_body_bytes)
    changed = await rt.service.seen(vendor.id, body.ids)
    return JSONResponse({"updated": len(changed)})


routes = [
    Route("/api/v1/tokens", create_token, methods=["POST"]),
    Route("/api/v1/vendors/{vendor_id}/notifications", create_notification, methods=["POST"]),
    Route("/api/v1/notifications", list_notifications, methods=["GET"]),
    Route("/api/v1/notifications/unread-count", unread_count, methods=["GET"]),
    Route("/api/v1/notifications/bulk", bulk, methods=["POST"]),
    Route("/api/v1/notifications/bulk/{job_id}", bulk_job, methods=["GET"]),
    Route("/api/v1/notifications/seen", seen, methods=["POST"]),
    Route(
        "/api/v1/notifications/{notification_id}",
        notification,
        methods=["GET", "PATCH", "DELETE"],
    ),
]
