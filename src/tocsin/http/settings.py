"""`GET` and (partial) `PUT /api/v1/settings`: a vendor's language, clock, quiet hours, digests."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.http import auth
from tocsin.http._request import read_json, runtime
from tocsin.marketplace.vendors import SettingsPatch, settings_wire


async def settings(request: Request) -> Response:
    rt = runtime(request)
    vendor = await auth.vendor(request)
    if request.method == "PUT":
        patch = await read_json(request, SettingsPatch, rt.settings.max_body_bytes)
        return JSONResponse(
            settings_wire(await rt.vendor_settings.update_settings(vendor.id, patch))
        )
    return JSONResponse(settings_wire(await rt.vendor_settings.get_settings(vendor.id)))


routes = [
    Route("/api/v1/settings", settings, methods=["GET", "PUT"]),
]
