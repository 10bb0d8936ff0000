"""The vendor dashboard: server-rendered shells that `static/dashboard.js` brings to life.

The dashboard authenticates with the `tocsin_token` cookie (HttpOnly,
SameSite=Lax). `/dashboard/login?token=…` shows whose dashboard the link opens;
its "Continue" button posts back (with a CSRF token, see `tocsin.http.dashauth`),
which sets the cookie and redirects, so the token leaves the address bar and
the history. The stream then needs no token in its URL.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
from datetime import UTC, datetime
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin import i18n
from tocsin.credentials import Vendor, verify
from tocsin.delivery.channels import CHANNELS
from tocsin.errors import NotFound, Unauthorized, UnsupportedMediaType
from tocsin.fields import PRIORITIES
from tocsin.http import auth, dashauth
from tocsin.http._html import clear_cookie, redirect, render, set_cookie
from tocsin.http._request import read_body, runtime
from tocsin.marketplace.registry import NOTIFICATION_TYPES
from tocsin.notifications import samples as sample_notifications
from tocsin.notifications.service import NewNotification
from tocsin.realtime import wire
from tocsin.runtime import Runtime

DEMO_SPACING_SECONDS = 0.8


async def _vendor(request: Request) -> Vendor | None:
    try:
        return await auth.vendor(request)
    except Unauthorized:
        return None


def _demo_enabled(rt: Runtime) -> bool:
    return not rt.settings.production


async def _clock(rt: Runtime, vendor_id: str) -> tuple[str, str]:
    """The vendor's locale and timezone, as its settings say."""
    settings = await rt.vendor_settings.get_settings(vendor_id)
    return settings.locale, settings.timezone


async def _page(request: Request, template: str, page: str, **extra: Any) -> Response:
    vendor = await _vendor(request)
    if vendor is None:
        return redirect("/dashboard/signin")
    rt = runtime(request)
    locale, timezone = await _clock(rt, vendor.id)
    context = {
        "timezone": timezone,
        "now": datetime.now(UTC),
        "vendor": vendor.id,
        "page": page,
        "heartbeat": f"{rt.settings.heartbeat_seconds:g}",
        "demo": _demo_enabled(rt),
        "csrf_field": dashauth.CSRF_FIELD,
        "logout_csrf": dashauth.logout_csrf(rt.settings, request),
        "vapid_key": rt.settings.vapid_public_key,
        **extra,
    }
    return render(request, template, context, locale=locale)


async def home(request: Request) -> Response:
    return await _page(request, "dashboard/home.html", "home")


async def notifications(request: Request) -> Response:
    params = request.query_params
    return await _page(
        request,
        "dashboard/notifications.html",
        "notifications",
        types=NOTIFICATION_TYPES,
        priorities=PRIORITIES,
        f={
            name: params.get(name, "")
            for name in ("q", "type", "read", "priority", "since", "until", "archived")
        },
    )


async def preferences(request: Request) -> Response:
    return await _page(
        request,
        "dashboard/preferences.html",
        "preferences",
        types=NOTIFICATION_TYPES,
        channels=CHANNELS,
        locales=i18n.LOCALES,
        timezones=i18n.timezones(),
    )


async def signin(request: Request) -> Response:
    return render(request, "dashboard/signin.html", {"error": None}, status=401)


NO_REFERRER = {"Referrer-Policy": "no-referrer"}


def _refused(request: Request, reason: str) -> Response:
    return render(request, "dashboard/refused.html", {"reason": reason}, status=403)


async def login(request: Request) -> Response:
    """The sign-in link's page: whose dashboard it opens, and a button that signs in.

    The link alone signs nobody in (another site could send a browser to it).
    """
    rt = runtime(request)
    token = request.query_params.get("token", "")
    try:
        vendor, _ = verify(rt.settings, token)
    except Unauthorized as exc:
        return render(
            request, "dashboard/signin.html", {"error": exc.detail}, status=401, headers=NO_REFERRER
        )
    nonce, new = dashauth.login_nonce(request)
    locale, _ = await _clock(rt, vendor.id)
    response = render(
        request,
        "dashboard/login.html",
        {
            "vendor": vendor.id,
            "token": token,
            "csrf_field": dashauth.CSRF_FIELD,
            "csrf": dashauth.login_csrf(rt.settings, nonce, token),
        },
        headers=NO_REFERRER,
        locale=locale,
    )
    if new:
        dashauth.set_login_cookie(response, nonce, request)
    return response


async def confirm_login(request: Request) -> Response:
    """The confirmation page's post: trade the token for the cookie, then open the dashboard."""
    rt = runtime(request)
    form = await request.form()
    token = form.get("token")
    if not isinstance(token, str) or not dashauth.login_ok(
        rt.settings, request, token, form.get(dashauth.CSRF_FIELD)
    ):
        return _refused(
            request,
            "This sign-in did not come from tocsin's own page, or it waited too long. "
            "Open the sign-in link again.",
        )
    try:
        _, expires = verify(rt.settings, token)
    except Unauthorized as exc:
        return render(
            request, "dashboard/signin.html", {"error": exc.detail}, status=401, headers=NO_REFERRER
        )
    response = redirect("/dashboard", headers=NO_REFERRER)
    # Lax: the sign-in link may be followed from another site (an email, the marketplace).
    set_cookie(
        response,
        request,
        auth.COOKIE,
        token,
        max_age=max(0, expires - int(time.time())),
        path="/",
        samesite="lax",
    )
    dashauth.clear_login_cookie(response)
    return response


async def logout(request: Request) -> Response:
    rt = runtime(request)
    form = await request.form()
    if not dashauth.logout_ok(rt.settings, request, form.get(dashauth.CSRF_FIELD)):
        return _refused(
            request, "This sign-out did not come from the dashboard. Sign out from its menu."
        )
    response = redirect("/dashboard/signin")
    clear_cookie(response, auth.COOKIE, path="/", samesite="lax")
    return response


async def _fire_samples(rt: Runtime, vendor_id: str, samples: list[NewNotification]) -> None:
    for n, new in enumerate(samples):
        if n:
            await asyncio.sleep(DEMO_SPACING_SECONDS)
        created, _ = await rt.service.create(vendor_id, new)
        order_id = str(created.data.get("order_id", ""))
        if new.type == "order_created" and order_id:
            await rt.service.emit(
                vendor_id,
                wire.ORDER_STATUS_UPDATE,
                {"order_id": order_id, "status": "confirmed", "previous_status": "placed"},
            )


async def fire_demo(request: Request) -> Response:
    """Sample notifications for the signed-in vendor (not in production): the bell rings."""
    rt = runtime(request)
    if not _demo_enabled(rt):
        raise NotFound("the demo is off in production")
    vendor = await auth.vendor(request)
    # A JSON body makes a cross-site form post impossible without a CORS preflight.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    await read_body(request, 1024)
    rng = random.Random()
    pool = sample_notifications.samples(vendor.id, rng)
    picks = [pool[0], pool[1], pool[-1]] if rng.random() < 0.3 else rng.sample(pool[:-1], 3)
    samples = [dataclasses.replace(new, dedupe_key=None) for new in picks]
    return JSONResponse(
        {"scheduled": len(samples)},
        status_code=202,
        background=BackgroundTask(_fire_samples, rt, vendor.id, samples),
    )


routes = [
    Route("/dashboard", home, methods=["GET"]),
    Route("/dashboard/notifications", notifications, methods=["GET"]),
    Route("/dashboard/preferences", preferences, methods=["GET"]),
    Route("/dashboard/signin", signin, methods=["GET"]),
    Route("/dashboard/login", login, methods=["GET"]),
    Route("/dashboard/login", confirm_login, methods=["POST"]),
    Route("/dashboard/logout", logout, methods=["POST"]),
    Route("/dashboard/demo", fire_demo, methods=["POST"]),
]
