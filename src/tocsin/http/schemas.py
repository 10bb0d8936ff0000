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


# -- the delivery audit (`GET /api/v1/notifications/{id}/deliveries`) ------------------


class DeliveryAttempt(BaseModel):
    attempt: int
    # sending (in flight, or its worker died) | sent | failed | skipped | interrupted
    status: str
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class AuditedDelivery(BaseModel):
    id: str
    vendor_id: str
    event_id: str | None
    notification_id: str | None
    type: str
    channel: str
    recipient: str
    status: Literal["pending", "sending", "sent", "failed", "skipped"]
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    attempt_log: list[DeliveryAttempt]
    # Why it was queued (instant, grace, escalation, digest), where the deployment records it.
    purpose: str | None
    # Quiet hours held it: due at `held_from`, it waited until `held_until`, or until
    # `released_at` where the vendor changed its quiet hours before then.
    held_from: datetime | None
    held_until: datetime | None
    released_at: datetime | None
    # Why it was settled without being sent (`status` skipped).
    skip_reason: str | None


class Streamed(BaseModel):
    """Tabs the notification reached: live streams it was written to plus polls that returned it."""

    tabs: int
    streams: int
    polls: int
    first_at: datetime | None
    last_at: datetime | None


class AuditStep(BaseModel):
    at: datetime
    # created, streamed, seen, read, archived, listed in digest; per delivery queued
    # (escalation scheduled), held, released, due, and each attempt's status (sending,
    # sent, failed, skipped, interrupted; escalation fired, escalation cancelled)
    what: str
    channel: str | None
    delivery_id: str | None
    detail: str | None


class Escalation(BaseModel):
    """A push or SMS sent only if the notification stays unseen: scheduled, then fired
    or cancelled (seen or read first)."""

    delivery_id: str
    channel: str
    state: Literal["scheduled", "firing", "fired", "cancelled", "failed"]
    due_at: datetime
    settled_at: datetime | None
    reason: str | None


class DigestListing(BaseModel):
    """A digest email that lists the notification (instead of an email of its own)."""

    digest_id: str | None
    listed_at: datetime
    status: Literal["pending", "sending", "sent", "failed", "skipped"] | None
    sent_at: datetime | None


class NotificationAudit(BaseModel):
    notification: Notification
    streamed: Streamed
    # Every delivery of the notification, the digests that list it included.
    deliveries: list[AuditedDelivery]
    escalations: list[Escalation]
    digests: list[DigestListing]
    timeline: list[AuditStep]
