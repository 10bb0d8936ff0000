"""Web Push subscriptions of the signed-in vendor: list, subscribe, unsubscribe."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.delivery.subscriptions import Subscription, SubscriptionIn
from tocsin.http import auth
from tocsin.http._request import read_json, runtime
from tocsin.realtime.wire import iso


def _subscription(s: Subscription) -> dict[str, Any]:
    return {
        "id": str(s.id),
        "endpoint": s.endpoint,
        "device": s.device,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
    }


async def subscriptions(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    if request.method == "POST":
        body = await read_json(request, SubscriptionIn, rt.settings.max_body_bytes)
        saved = await rt.push.subscribe(vendor.id, body)
        return JSONResponse(
            _subscription(saved),
            status_code=201,
            headers={"Location": f"/api/v1/push/subscriptions/{saved.id}"},
        )
    items = await rt.push.list(vendor.id)
    return JSONResponse(
        {
            "public_key": rt.push.public_key or None,
            "items": [_subscription(s) for s in items],
        }
    )


async def subscription(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    await rt.push.unsubscribe(vendor.id, str(request.path_params["subscription_id"]))
    return Response(status_code=204)


routes = [
    Route("/api/v1/push/subscriptions", subscriptions, methods=["GET", "POST"]),
    Route("/api/v1/push/subscriptions/{subscription_id}", subscription, methods=["DELETE"]),
]
