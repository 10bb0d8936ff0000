"""`PUT /api/v1/vendors/{vendor_id}/contact`: where a vendor's email and SMS go (publisher)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.delivery.channels import ContactIn
from tocsin.http import auth
from tocsin.http._request import read_json, runtime, vendor_path


async def set_contact(request: Request) -> Response:
    rt = runtime(request)
    await auth.publisher(request)
    vendor_id = vendor_path(request)
    body = await read_json(request, ContactIn, rt.settings.max_body_bytes)
    contact = body.model_dump()
    await rt.contacts.set(vendor_id, **contact)
    return JSONResponse({"vendor_id": vendor_id, **contact})


routes = [
    Route("/api/v1/vendors/{vendor_id}/contact", set_contact, methods=["PUT"]),
]
