"""`PUT /api/v1/vendors/{vendor_id}/contact`: where a vendor's email and SMS go (publisher)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tocsin.fields import Strict
from tocsin.http import auth
from tocsin.http._request import read_json, runtime, vendor_path

_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be an email address")
    return value


def _phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError("must be a phone number in E.164 form, e.g. +4915112345678")
    return value


class ContactIn(Strict):
    email: Annotated[str, StringConstraints(max_length=320), AfterValidator(_email)] | None = None
    phone: Annotated[str, AfterValidator(_phone)] | None = None


async def set_contact(request: Request) -> Response:
    rt = runtime(request)
    await auth.publisher(request)
    vendor_id = vendor_path(request)
    body = await read_json(request, ContactIn, rt.settings.max_body_bytes)
    contact = await rt.contacts.set(vendor_id, body.email, body.phone)
    return JSONResponse(
        {"vendor_id": contact.vendor_id, "email": contact.email, "phone": contact.phone}
    )


routes = [
    Route("/api/v1/vendors/{vendor_id}/contact", set_contact, methods=["PUT"]),
]
