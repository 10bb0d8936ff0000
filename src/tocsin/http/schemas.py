"""Pydantic models of the HTTP edge: request bodies and response shapes.

`/openapi.json` is generated from these same models (see `tocsin.http.openapi`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from tocsin.fields import (
    PRIORITIES,
    VENDOR_ID,
    VENDOR_ID_PATTERN,
    Line,
    Link,
    NotificationType,
    Priority,
    Strict,
    Text,
    VendorId,
)

__all__ = ["PRIORITIES", "VENDOR_ID", "VENDOR_ID_PATTERN"]


class NotificationIn(Strict):
    type: NotificationType
    title: Annotated[Text, StringConstraints(min_length=1, max_length=200)]
    body: Annotated[Text, StringConstraints(max_length=5000)] = ""
    data: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = "normal"
    link: Link | None = None
    dedupe_key: Annotated[Line, StringConstraints(min_length=1, max_length=200)] | None = None


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
    seen_at: datetime | None
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
    seen: bool | None = None
    type: list[NotificationType] | None = None
    priority: list[Priority] | None = None
    archived: bool | None = False
    q: Annotated[Text, StringConstraints(min_length=1, max_length=200)] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None


BulkAction = Literal["mark_read", "mark_unread", "archive", "unarchive", "delete"]


class BulkIn(Strict):
    """Either `ids`, or `all: true` with an optional `filter`."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["ids"],
                    "properties": {"ids": {"type": "array"}, "all": {"const": False}},
                },
                {
                    "required": ["all"],
                    "properties": {"all": {"const": True}, "ids": {"type": "null"}},
                },
            ]
        }
    )

    action: BulkAction
    ids: (
        Annotated[list[Annotated[Line, StringConstraints(max_length=64)]], Field(max_length=1000)]
        | None
    ) = None
    all: bool = False
    filter: Filter | None = None


class SeenIn(Strict):
    """The notifications a live tab displayed."""

    ids: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=1000)]


class BulkOut(BaseModel):
    updated: int


class BulkJob(BaseModel):
    """A bulk change too large for one request, done in chunks in the background."""

    id: str
    action: BulkAction
    status: Literal["running", "done", "failed"]
    updated: int = Field(description="notifications changed so far")
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class BulkJobOut(BaseModel):
    job: BulkJob


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
