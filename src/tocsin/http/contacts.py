"""`PUT`/`GET /api/v1/vendors/{vendor_id}/contact`: where a vendor's email and SMS go, and
its language and time zone (publisher)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.http import auth
from tocsin.http._request import read_json, runtime, vendor_path
from tocsin.marketplace.vendors import ContactBody


async def contact(request: Request) -> Response:
    rt = runtime(request)
    await auth.publisher(request)
    vendor_id = vendor_path(request)
    if request.method == "PUT":
        body = await read_json(request, ContactBody, rt.settings.max_body_bytes)
        return JSONResponse((await rt.contacts.set(vendor_id, body)).to_wire())
    return JSONResponse((await rt.contacts.get(vendor_id)).to_wire())


routes = [
    Route("/api/v1/vendors/{vendor_id}/contact", contact, methods=["GET", "PUT"]),
]
