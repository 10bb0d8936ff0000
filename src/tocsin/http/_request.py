"""Request parsing shared by the handlers: bodies, query values, path ids, the runtime."""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request

from tocsin.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from tocsin.fields import VENDOR_ID, validation_failed
from tocsin.runtime import Runtime

M = TypeVar("M", bound=BaseModel)


async def read_body(request: Request, max_bytes: int) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    return bytes(body)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: Request, model: type[M], max_bytes: int) -> M:
    """The body as `model`: 415 unless JSON, 413 if too large, 400 if malformed, 422 if invalid."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType("send the body as application/json")
    body = await read_body(request, max_bytes)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not valid UTF-8 (byte {exc.start})") from None
    # RFC 8259 has no NaN or Infinity, and no lone surrogates: answers could not encode them.
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    except RecursionError:
        raise BadRequest("malformed JSON: nested too deeply") from None
    except UnicodeEncodeError:
        raise BadRequest("malformed JSON: a string holds a lone surrogate escape") from None
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def vendor_path(request: Request) -> str:
    vendor_id = str(request.path_params["vendor_id"])
    if not VENDOR_ID.match(vendor_id):
        raise ValidationFailed(
            "vendor_id must match ^[A-Za-z0-9_.-]{1,64}$",
            errors=[{"field": "vendor_id", "message": "invalid vendor id"}],
        )
    return vendor_id


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ValidationFailed(
            f"{name} must be a whole number from {low} to {high}",
            errors=[{"field": name, "message": f"must be from {low} to {high}"}],
        )
    return value


# The largest key a BIGINT (PostgreSQL) or INTEGER (SQLite) column holds.
MAX_ROW_ID = 2**63 - 1


def query_row_id(request: Request, name: str) -> int | None:
    """A keyset cursor that is a row id: ASCII digits within 64 bits (`²` is a digit to Python)."""
    raw = request.query_params.get(name) or None
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_ROW_ID):
        raise ValidationFailed(
            f"{name} is not one this API returned",
            errors=[{"field": name, "message": "invalid cursor"}],
        )
    return int(raw)


def query_float(request: Request, name: str, default: float, low: float, high: float) -> float:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise ValidationFailed(
            f"{name} must be a number from {low:g} to {high:g}",
            errors=[{"field": name, "message": f"must be from {low:g} to {high:g}"}],
        )
    return value


def runtime(conn: HTTPConnection) -> Runtime:
    """The running tocsin that serves `conn` (set by the app's lifespan)."""
    rt: Runtime = conn.app.state.tocsin
    return rt
