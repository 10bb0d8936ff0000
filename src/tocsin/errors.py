"""The error hierarchy: every failure tocsin reports to a client is a `TocsinError`.

`tocsin.http.problems` maps them to `application/problem+json` (RFC 9457) in one place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any


class TocsinError(Exception):
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, *, errors: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class ConfigError(TocsinError):
    title = "Invalid configuration"


class BadRequest(TocsinError):
    status = 400
    title = "Bad request"


class Unauthorized(TocsinError):
    status = 401
    title = "Unauthorized"


class Forbidden(TocsinError):
    status = 403
    title = "Forbidden"


class NotFound(TocsinError):
    status = 404
    title = "Not found"


class Conflict(TocsinError):
    status = 409
    title = "Conflict"


class PayloadTooLarge(TocsinError):
    status = 413
    title = "Payload too large"


class UnsupportedMediaType(TocsinError):
    status = 415
    title = "Unsupported media type"


class ValidationFailed(TocsinError):
    status = 422
    title = "Validation failed"


class TooManyRequests(TocsinError):
    """A limit was reached; `retry_after` (seconds) says when trying again makes sense."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class Unavailable(TocsinError):
    """A backend (the database, Redis) cannot be reached now; the client retries."""

    status = 503
    title = "Service unavailable"


@contextlib.contextmanager
def unavailable_on(errors: tuple[type[BaseException], ...], detail: str) -> Iterator[None]:
    """Turn a backend's own failures (`errors`) into `Unavailable` at its boundary."""
    try:
        yield
    except errors as exc:
        raise Unavailable(detail) from exc
