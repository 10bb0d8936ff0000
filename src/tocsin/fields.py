"""Field types shared by every edge that validates input (HTTP bodies, marketplace
events, preferences), and pydantic's errors as `ValidationFailed` naming each field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from tocsin.errors import ValidationFailed

VENDOR_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# In Python's `re`, `$` also matches before a trailing newline; `\Z` does not.
VENDOR_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")

VendorId = Annotated[str, StringConstraints(pattern=VENDOR_ID_PATTERN)]
NotificationType = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]


def _no_control_chars(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def http_url(value: str) -> str:
    # `//host` and `/\host` are not paths: browsers read them as links to another host.
    if not re.fullmatch(r"https?://[^\s]+|/(?![/\\])[^\s]*", value):
        raise ValueError("must be an http(s) URL or a path starting with a single /")
    return value


Text = Annotated[str, AfterValidator(_no_control_chars)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def field_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Pydantic errors as `{field, message}`, the field a dotted path (`items.0.sku`)."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        path = ".".join(str(part) for part in err["loc"])
        out.append(
            {
                "field": prefix + path if path else prefix.rstrip(".") or "body",
                "message": err["msg"],
            }
        )
    return out


def validation_failed(exc: ValidationError, prefix: str = "") -> ValidationFailed:
    errors = field_errors(exc, prefix)
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return ValidationFailed(f"invalid fields: {fields}", errors=errors)
