"""Pydantic models of the HTTP edge: request bodies and response shapes.

`/openapi.json` is generated from these same models (see `tocsin.http.openapi`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

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


def _http_url(value: str) -> str:
    # `//host` and `/\host` are not paths: browsers read them as links to another host.
    if not re.fullmatch(r"https?://[^\s]+|/(?![/\\])[^\s]*", value):
        raise ValueError("must be an http(s) URL or a path starting with a single /")
    return value


Text = Annotated[str, AfterValidator(_no_control_chars)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class NotificationIn(Strict):
    type: NotificationType
    title: Annotated[Text, StringConstraints(min_length=1, max_length=200)]
    body: Annotated[Text, StringConstraints(max_length=5000)] = ""
    data: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = "normal"
    link: Annotated[str, StringConstraints(max_length=2048), AfterValidator(_http_url)] | None = (
        None
    )
    dedupe_key: Annotated[Text, StringConstraints(min_length=1, max_length=200)] | None = None


class Notification(BaseModel):
    id: str
    vendor_id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    priority: Priority
    link: str | None
    created_at: datetime
    read_at: datetime | None
    archived_at: datetime | None
    dedupe_key: str | None


class NotificationPage(BaseModel):
    items: list[Notification]
    next_cursor: str | None
    unread_count: int


class NotificationPatch(Strict):
    read: bool | None = None
    archived: bool | None = None


class Filter(Strict):
    """The list filters; also the `filter` of a bulk action on `all`."""

    unread: bool | None = None
    type: list[NotificationType] | None = None
    priority: list[Priority] | None = None
    archived: bool | None = False
    q: Annotated[Text, StringConstraints(min_length=1, max_length=200)] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


BulkAction = Literal["mark_read", "mark_unread", "archive", "unarchive", "delete"]


class BulkIn(Strict):
    action: BulkAction
    ids: (
        Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=1000)]
        | None
    ) = None
    all: bool = False
    filter: Filter | None = None


class BulkOut(BaseModel):
    updated: int


class UnreadCount(BaseModel):
    total: int
    by_type: dict[str, int]


class TokenIn(Strict):
    vendor_id: VendorId
    ttl: Annotated[int, Field(ge=60)] = 3600


class TokenOut(BaseModel):
    token: str
    expires_at: datetime


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


class PollEvent(BaseModel):
    id: str
    event: str
    data: dict[str, Any]


class PollOut(BaseModel):
    events: list[PollEvent]
    last_id: str
    reset: bool
    reason: str | None = None
