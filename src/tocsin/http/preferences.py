"""`GET` and (partial) `PUT /api/v1/preferences`: the vendor's channels per notification type."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.http import auth
from tocsin.http._request import read_json, runtime
from tocsin.marketplace.preferences import PreferencesPatch


async def preferences(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    if request.method == "PUT":
        patch = await read_json(request, PreferencesPatch, rt.settings.max_body_bytes)
        return JSONResponse(await rt.preferences.patch(vendor.id, patch))
    return JSONResponse(await rt.preferences.get(vendor.id))


routes = [
    Route("/api/v1/preferences", preferences, methods=["GET", "PUT"]),
]
