"""The core's typed values, shared by every layer from storage up.

They live below storage because the stores return them and `tocsin.realtime.wire`
encodes them; times are integer milliseconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# A row of a report or a log (admin pages, delivery history), as the store found it.
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    vendor_id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    priority: str
    link: str | None
    created_at: int
    read_at: int | None
    # A live tab displayed it (`POST /api/v1/notifications/seen`); read is the vendor's act.
    seen_at: int | None
    archived_at: int | None
    dedupe_key: str | None


@dataclass(frozen=True, slots=True)
class ListFilter:
    """Which of a vendor's notifications a list or a bulk change covers."""

    unread: bool | None = None
    seen: bool | None = None
    types: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    archived: bool | None = False
    q: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """A committed stream event waiting for the relay to append it to the event log."""

    id: int
    vendor_id: str
    seq: int
    event: str
    payload: str
    created_at: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed delivery: what to send, to whom, and which attempt this is."""

    id: int
    key: str
    vendor_id: str
    type: str
    channel: str
    recipient: str
    message: dict[str, Any]
    attempt: int
    notification_id: str | None = None
    # `instant`, `grace`, `escalation` or `digest` (see `storage.schema.deliveries`).
    purpose: str = "instant"


@dataclass(frozen=True, slots=True)
class VendorSettings:
    """A vendor's language and clock (`GET`/`PUT /api/v1/settings`); the defaults until set.

    `quiet_hours` is `(start, end)` as vendor-local `"HH:MM"` (the window may span
    midnight, `("22:00", "07:00")`); `digest_hour` is the vendor-local hour a daily
    digest leaves at.
    """

    locale: str = "en"
    timezone: str = "UTC"
    quiet_hours: tuple[str, str] | None = None
    digest_hour: int = 8


@dataclass(frozen=True, slots=True)
class BulkJob:
    """A bulk change too large for one request, done in chunks (`notifications.bulk`)."""

    id: str
    vendor_id: str
    action: str
    filter: ListFilter
    status: str
    # The next chunk takes ids below this one (newest first).
    cursor: str
    changed: int
    error: str | None
    created_at: int
    updated_at: int
    finished_at: int | None
