"""Admin pages: sign-in, overview, one vendor, one notification's delivery audit, test
notifications and events, delivery log.

Server-rendered (jinja2, autoescaped), no script. Every form carries the
session's CSRF token; a post without it, or with a wrong one, is answered 403.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tocsin.admin.accounts import USERNAME_MAX, Throttle
from tocsin.admin.reports import COUNT_UP_TO, EXACT_UP_TO
from tocsin.delivery.audit import skip_reason
from tocsin.errors import NotFound, TocsinError
from tocsin.fields import PRIORITIES, VENDOR_ID, field_errors
from tocsin.http import adminauth
from tocsin.http._html import redirect, render
from tocsin.http._request import runtime
from tocsin.http.adminauth import Session
from tocsin.http.schemas import NotificationIn
from tocsin.marketplace import registry
from tocsin.marketplace import schemas as events
from tocsin.notifications.service import NewNotification

RATE_MINUTES = 15
VENDORS_SHOWN = 50
THROTTLE = Throttle()


def _bytes(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _page(
    request: Request,
    template: str,
    session: Session,
    context: dict[str, Any],
    *,
    status: int = 200,
    cookie: str | None = None,
) -> Response:
    response = render(
        request,
        template,
        {
            "session": session,
            "csrf_field": adminauth.CSRF_FIELD,
            "when": _when,
            "size": _bytes,
            **context,
        },
        status=status,
    )
    if cookie is not None:
        adminauth.set_cookie(response, cookie, request)
    return response


def _forbidden(request: Request) -> Response:
    return render(
        request,
        "admin/forbidden.html",
        {"reason": "The form's security token is missing or wrong. Reload the page, then retry."},
        status=403,
    )


async def _signed_in(request: Request) -> Session | None:
    rt = runtime(request)
    session = adminauth.read_session(rt.settings, request)
    if session is None or not await adminauth.still_valid(rt.admins, session):
        return None
    return session


async def _form(request: Request) -> tuple[Session, FormData] | Response:
    """A post's session and form, after its CSRF check (403 if it fails)."""
    form = await request.form()
    session = adminauth.read_session(runtime(request).settings, request)
    if not adminauth.csrf_ok(session, form.get(adminauth.CSRF_FIELD)):
        return _forbidden(request)
    assert session is not None
    return session, form


async def _post(request: Request) -> tuple[Session, FormData] | Response:
    """The form of a signed-in admin's post, after its CSRF check (403 if it fails)."""
    checked = await _form(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    if not await adminauth.still_valid(runtime(request).admins, session):
        return redirect("/admin/login")
    return session, form


# -- sign-in ---------------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    rt = runtime(request)
    session = adminauth.read_session(rt.settings, request)
    cookie = None
    if session is None:
        session, cookie = adminauth.new_session(rt.settings, None)
    elif session.signed_in and await adminauth.still_valid(rt.admins, session):
        return redirect("/admin")
    return _page(
        request, "admin/login.html", session, {"error": None, "username": ""}, cookie=cookie
    )


async def login(request: Request) -> Response:
    rt = runtime(request)
    checked = await _form(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    client = request.client.host if request.client else "unknown"
    username = str(form.get("username", ""))[:USERNAME_MAX]
    password = str(form.get("password", ""))
    if THROTTLE.blocked(client):
        error, status = "Too many failed attempts. Wait a few minutes and try again.", 429
    elif await rt.admins.check_password(username, password):
        THROTTLE.succeeded(client)
        signed_in, cookie = adminauth.new_session(rt.settings, username)
        await rt.admins.open_session(
            username, signed_in.id, signed_in.since_ms + adminauth.SESSION_TTL * 1000
        )
        response = redirect("/admin")
        adminauth.set_cookie(response, cookie, request)
        return response
    else:
        THROTTLE.failed(client)
        error, status = "Wrong username or password.", 401
    return _page(
        request, "admin/login.html", session, {"error": error, "username": username}, status=status
    )


async def logout(request: Request) -> Response:
    rt = runtime(request)
    checked = await _form(request)
    if isinstance(checked, Response):
        return checked
    session, _ = checked
    if session.id:
        await rt.admins.close_session(session.id)
    response = redirect("/admin/login")
    adminauth.clear_cookie(response)
    return response


# -- pages -------------------------------------------------------------------------------


async def overview(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return redirect("/admin/login")
    reports = runtime(request).reports
    now_minute = int(time.time() // 60)
    first = now_minute - RATE_MINUTES + 1
    counts = await reports.created_per_minute(first, now_minute)
    rate: list[dict[str, Any]] = [
        {"label": _when(m * 60000)[11:16], "count": count}
        for m, count in enumerate(counts, start=first)
    ]
    streams = reports.streams()
    start = request.query_params.get("from", "")
    if not VENDOR_ID.match(start):
        start = ""
    vendors = await reports.vendors(VENDORS_SHOWN + 1, start)
    tables = await reports.tables()
    return _page(
        request,
        "admin/overview.html",
        session,
        {
            "totals": await reports.totals(tables),
            "tables": tables,
            "last_purge": await reports.last_purge(),
            "keep_days": runtime(request).settings.keep_days,
            "keep_read_days": runtime(request).settings.keep_read_days,
            "vendors": vendors[:VENDORS_SHOWN],
            "vendors_from": start,
            "vendors_next": vendors[VENDORS_SHOWN]["id"] if len(vendors) > VENDORS_SHOWN else None,
            "vendor_count_up_to": COUNT_UP_TO,
            "exact_up_to": EXACT_UP_TO,
            "streams_total": sum(streams.values()),
            "streaming_vendors": len(streams),
            "rate": rate,
            "rate_max": max([1, *(r["count"] for r in rate)]),
            "this_minute": rate[-1]["count"],
            "per_minute": sum(r["count"] for r in rate) / RATE_MINUTES,
        },
    )


async def _vendor_page(
    request: Request,
    session: Session,
    vendor_id: str,
    *,
    form: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    report = await runtime(request).reports.vendor(vendor_id, notifications=50, deliveries=20)
    return _page(
        request,
        "admin/vendor.html",
        session,
        {
            "vendor_id": vendor_id,
            "vendor": report.vendor,
            "streams": report.streams,
            "notifications": report.notifications,
            "deliveries": report.deliveries,
            "priorities": PRIORITIES,
            "form": form
            or {"type": "test", "title": "", "body": "", "priority": "normal", "link": ""},
            "errors": errors or [],
            "sent": request.query_params.get("sent"),
        },
        status=status,
    )


def _vendor_id(request: Request) -> str | None:
    vendor_id = str(request.path_params["vendor_id"])
    return vendor_id if VENDOR_ID.match(vendor_id) else None


async def vendor(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return redirect("/admin/login")
    vendor_id = _vendor_id(request)
    if vendor_id is None:
        return render(request, "admin/forbidden.html", {"reason": "No such vendor id."}, status=404)
    return await _vendor_page(request, session, vendor_id)


async def notification(request: Request) -> Response:
    """The delivery audit of one notification: tabs, seen and read, every channel's attempts."""
    session = await _signed_in(request)
    if session is None:
        return redirect("/admin/login")
    vendor_id = _vendor_id(request)
    notification_id = str(request.path_params["notification_id"])
    try:
        if vendor_id is None:
            raise NotFound("no such vendor id")
        story = await runtime(request).audit.story(vendor_id, notification_id)
    except NotFound:
        reason = "No such notification of this vendor."
        return render(request, "admin/forbidden.html", {"reason": reason}, status=404)
    return _page(
        request,
        "admin/notification.html",
        session,
        {
            "vendor_id": vendor_id,
            "n": story.notification,
            "story": story,
            "skip_reason": skip_reason,
            "data": json.dumps(story.notification.data, indent=2, ensure_ascii=False),
        },
    )


async def send_notification(request: Request) -> Response:
    checked = await _post(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    vendor_id = _vendor_id(request)
    if vendor_id is None:
        return render(request, "admin/forbidden.html", {"reason": "No such vendor id."}, status=404)
    fields = {
        name: str(form.get(name, "")).strip()
        for name in ("type", "title", "body", "priority", "link")
    }
    try:
        body = NotificationIn.model_validate(
            {
                "type": fields["type"],
                "title": fields["title"],
                "body": fields["body"],
                "priority": fields["priority"],
                "link": fields["link"] or None,
            }
        )
    except ValidationError as exc:
        return await _vendor_page(
            request, session, vendor_id, form=fields, errors=field_errors(exc), status=422
        )
    n, _ = await runtime(request).service.create(
        vendor_id,
        NewNotification(
            type=body.type,
            title=body.title,
            body=body.body,
            priority=body.priority,
            link=body.link,
            data={"test": True},
        ),
    )
    return redirect(f"/admin/vendors/{vendor_id}?sent={n.id}")


def _sample(event_type: str) -> str:
    entry = registry.EVENTS.get(event_type)
    data = dict(entry.sample) if entry else {}
    return json.dumps(data, indent=2, ensure_ascii=False)


async def event_form(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return redirect("/admin/login")
    event_type = request.query_params.get("type", "order.created")
    if event_type not in registry.EVENTS:
        event_type = "order.created"
    return _page(
        request,
        "admin/event.html",
        session,
        {
            "types": list(registry.EVENTS),
            "event_type": event_type,
            "event_id": f"admin-{uuid.uuid4().hex[:12]}",
            "data": _sample(event_type),
            "errors": [],
            "result": None,
        },
    )


async def send_event(request: Request) -> Response:
    checked = await _post(request)
    if isinstance(checked, Response):
        return checked
    session, form = checked
    rt = runtime(request)
    event_type = str(form.get("type", ""))
    event_id = str(form.get("id", "")).strip() or f"admin-{uuid.uuid4().hex[:12]}"
    text = str(form.get("data", ""))
    errors: list[dict[str, Any]] = []
    result = None
    try:
        data = json.loads(text)
        envelope = events.Envelope.model_validate(
            {
                "id": event_id,
                "type": event_type,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": data,
            }
        )
        outcome = await rt.ingest.ingest(registry.parse(envelope))
        result = {
            "event_id": outcome.event_id,
            "notifications": outcome.notifications,
            "created": outcome.created,
        }
    except json.JSONDecodeError as exc:
        errors = [{"field": "data", "message": f"not JSON: {exc.msg} (line {exc.lineno})"}]
    except RecursionError:
        errors = [{"field": "data", "message": "not JSON: nested too deeply"}]
    except ValidationError as exc:
        errors = field_errors(exc)
    except TocsinError as exc:
        errors = exc.errors or [{"field": "event", "message": exc.detail}]
    return _page(
        request,
        "admin/event.html",
        session,
        {
            "types": list(registry.EVENTS),
            "event_type": event_type,
            "event_id": f"admin-{uuid.uuid4().hex[:12]}" if result else event_id,
            "data": text,
            "errors": errors,
            "result": result,
        },
        status=422 if errors else 200,
    )


async def deliveries(request: Request) -> Response:
    session = await _signed_in(request)
    if session is None:
        return redirect("/admin/login")
    reports = runtime(request).reports
    vendor_id = request.query_params.get("vendor") or None
    if vendor_id is not None and not VENDOR_ID.match(vendor_id):
        vendor_id = None
    return _page(
        request,
        "admin/deliveries.html",
        session,
        {"rows": await reports.deliveries(100, vendor_id), "vendor_id": vendor_id},
    )


routes = [
    Route("/admin", overview, methods=["GET"]),
    Route("/admin/login", login_form, methods=["GET"]),
    Route("/admin/login", login, methods=["POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/vendors/{vendor_id}", vendor, methods=["GET"]),
    Route("/admin/vendors/{vendor_id}/notifications", send_notification, methods=["POST"]),
    Route(
        "/admin/vendors/{vendor_id}/notifications/{notification_id}",
        notification,
        methods=["GET"],
    ),
    Route("/admin/events", event_form, methods=["GET"]),
    Route("/admin/events", send_event, methods=["POST"]),
    Route("/admin/deliveries", deliveries, methods=["GET"]),
]
