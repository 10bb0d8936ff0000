"""Field types shared by every edge that validates input (HTTP bodies, marketplace
events, preferences), and pydantic's errors as `ValidationFailed` naming each field.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from tocsin.errors import ValidationFailed

VENDOR_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# In Python's `re`, `$` also matches before a trailing newline; `\Z` does not.
VENDOR_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}\Z")
Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
# The languages notifications and the dashboard are written in; the first is the default.
LOCALES: tuple[str, ...] = ("en", "ka")

VendorId = Annotated[str, StringConstraints(pattern=VENDOR_ID_PATTERN)]
NOTIFICATION_TYPE_PATTERN = r"^[a-z][a-z0-9_.]{0,63}$"
NotificationType = Annotated[str, StringConstraints(pattern=NOTIFICATION_TYPE_PATTERN)]


# PostgreSQL cannot store NUL in text, and a mail header cannot hold CR or LF:
# text may span lines (tab, CR, LF); a line holds no control character at all.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
LINE_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f]*$"


def _no_control_chars(value: str) -> str:
    if _CONTROL_IN_TEXT.search(value):
        raise ValueError("must not contain control characters")
    return value


def _one_line(value: str) -> str:
    if _CONTROL_IN_LINE.search(value):
        raise ValueError("must be one line without control characters")
    return value


def is_line(value: str) -> bool:
    """Whether `value` may be stored and sent as a `Line` (one line, no control character)."""
    return not _CONTROL_IN_LINE.search(value)


# An absolute http(s) URL or a path; `//host` and `/\host` are not paths: browsers
# read them as links to another host.
LINK_PATTERN = r"^(?:https?://[^\s\x00-\x1f\x7f-\x9f]+|/(?![/\\])[^\s\x00-\x1f\x7f-\x9f]*)$"
_LINK = re.compile(LINK_PATTERN)


def http_url(value: str) -> str:
    if not _LINK.fullmatch(value):
        raise ValueError("must be an http(s) URL or a path starting with a single /")
    return value


@dataclass(frozen=True, slots=True)
class _Documented:
    """Puts a `pattern` in the JSON schema of a type checked by a validator of its own."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["pattern"] = self.pattern
        return out


# Text that may span lines: titles, bodies, notes.
Text = Annotated[str, AfterValidator(_no_control_chars), _Documented(TEXT_PATTERN)]
# One line: keys, ids, names, addresses.
Line = Annotated[str, AfterValidator(_one_line), _Documented(LINE_PATTERN)]
Link = Annotated[
    Line,
    StringConstraints(max_length=2048),
    AfterValidator(http_url),
    _Documented(LINK_PATTERN),
]


def _time_zone(value: str) -> str:
    # `ZoneInfo` also reads a path-like key from the file system: keep to IANA names.
    if not _ZONE.fullmatch(value):
        raise ValueError("must be an IANA time zone name, such as Europe/Berlin")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone name, such as Europe/Berlin") from None
    return value


_ZONE = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}\Z")
ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+){0,2}$"
CLOCK_PATTERN = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$"

Locale = Literal["en", "ka"]
# An IANA time zone name that this machine's zone database knows.
TimeZone = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(_time_zone),
    _Documented(ZONE_PATTERN),
]
# A wall-clock time, `"HH:MM"` (24 hours).
ClockTime = Annotated[str, StringConstraints(pattern=CLOCK_PATTERN)]


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
