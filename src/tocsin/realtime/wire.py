"""The stream's wire format: event names, ids, frames, the poll body, and reasons.

One module for the stream endpoint, the poll endpoint and the docs of the JS
client (`tests/test_js_contract.py` holds `static/tocsin.js` to `EVENT_NAMES`).
An event is encoded once, when it enters the process, and every subscriber is
handed the same bytes.

Event ids are opaque to clients: `<epoch>_<position>`. The epoch names one
incarnation of the event log (a flushed or replaced Redis gets a new one), so a
`Last-Event-ID` from a lost history is answered with `reset` instead of a
replay of the wrong events. The position is backend-specific and ordered
within an epoch: the vendor's sequence number in the embedded log, the stream
entry id (`<ms>-<n>`) in Redis.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from tocsin.model import Notification

NEW_NOTIFICATION: Final = "new_notification"
NOTIFICATION_UPDATE: Final = "notification_update"
ORDER_STATUS_UPDATE: Final = "order_status_update"
RESET: Final = "reset"
EVENT_NAMES: Final = frozenset({NEW_NOTIFICATION, NOTIFICATION_UPDATE, ORDER_STATUS_UPDATE, RESET})

# Matched whole and ASCII only: `$` would let a trailing newline through, `\d` any script's digits.
_ID = re.compile(r"([0-9a-z]{8})_([0-9]{1,20})(?:-([0-9]{1,20}))?")
_MAX64 = 2**64 - 1

Position = tuple[int, int]


class ResetReason(StrEnum):
    """The `reason` of a `reset`: why the client's cursor cannot be resumed from."""

    MALFORMED_ID = "malformed_id"
    UNKNOWN_ID = "unknown_id"
    EXPIRED = "expired"  # older than the log's retention
    LOG_CHANGED = "log_changed"  # from another epoch of the log
    TOO_MANY_EVENTS = "too_many_events"  # more to replay than a stream replays


class CloseReason(StrEnum):
    """Why the server ended a stream or a waiting poll (the client resumes from its last id)."""

    SLOW_CONSUMER = "slow_consumer"  # its backlog reached the hub's bound
    SHUTDOWN = "shutdown"
    MAX_LIFETIME = "max_lifetime"  # open for `stream_max_seconds`
    EXPIRED = "expired"  # the token that opened the stream reached its `exp`
    LOG_CHANGED = "log_changed"  # a live event of another epoch: the resume answers reset
    DISCONNECTED = "disconnected"  # the client went away


def dumps(value: Any) -> str:
    """Compact JSON on one line (an SSE `data:` line must not contain a newline)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def format_id(epoch: str, position: Position, *, redis: bool) -> str:
    major, minor = position
    return f"{epoch}_{major}-{minor}" if redis else f"{epoch}_{major}"


def parse_id(raw: str) -> tuple[str, Position] | None:
    """`(epoch, position)` of a well-formed event id, else `None`."""
    match = _ID.fullmatch(raw)
    if match is None:
        return None
    major = int(match.group(2))
    minor = int(match.group(3) or 0)
    if major > _MAX64 or minor > _MAX64:
        return None
    return match.group(1), (major, minor)


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a vendor's log; `data` is its JSON text, encoded once."""

    id: str
    epoch: str
    position: Position
    name: str
    data: str
    frame: bytes = field(init=False, repr=False, compare=False)
    poll_json: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        frame = f"id: {self.id}\nevent: {self.name}\ndata: {self.data}\n\n".encode()
        object.__setattr__(self, "frame", frame)
        poll = f'{{"id":{dumps(self.id)},"event":{dumps(self.name)},"data":{self.data}}}'
        object.__setattr__(self, "poll_json", poll)


def reset_frame(event_id: str, reason: ResetReason) -> bytes:
    return f"id: {event_id}\nevent: {RESET}\ndata: {dumps({'reason': reason})}\n\n".encode()


def retry_frame(retry_ms: int) -> bytes:
    return f"retry: {retry_ms}\n\n".encode()


HEARTBEAT: Final = b": heartbeat\n\n"


def poll_body(events: Sequence[Event], last_id: str, reset: ResetReason | None) -> str:
    """The poll endpoint's JSON: `{events, last_id, reset}` (and `reason` with a reset).

    Built from each event's `poll_json`, so the data is not decoded and encoded again.
    """
    body = (
        '{"events":['
        + ",".join(e.poll_json for e in events)
        + f'],"last_id":{dumps(last_id)},"reset":{"true" if reset else "false"}'
    )
    if reset is not None:
        body += f',"reason":{dumps(reset)}'
    return body + "}"


_NEW_HEAD = '{"notification":{"id":"'
_CREATED_AT = '"created_at":"'


def notification_ref(event: Event) -> tuple[str, int] | None:
    """The id and `created_at` (ms) of the notification a `new_notification` event carries.

    None for any other event, or one whose data is not a notification's. Read
    without decoding the JSON where it is ours (once per event, on the hub's
    path): `notification` puts `id` first, and `created_at` is the last key of
    that name (keys inside `data` come before it; string values after it are
    escaped, so they cannot contain it).
    """
    if event.name != NEW_NOTIFICATION:
        return None
    data = event.data
    try:
        if data.startswith(_NEW_HEAD):
            start = len(_NEW_HEAD)
            at = data.rfind(_CREATED_AT) + len(_CREATED_AT)
            notification_id = data[start : data.index('"', start)]
            created = data[at : data.index('"', at)]
        else:
            n = json.loads(data)["notification"]
            notification_id, created = str(n["id"]), n["created_at"]
        return notification_id, int(datetime.fromisoformat(created).timestamp() * 1000)
    except (ValueError, KeyError, TypeError):
        return None


def iso(ms: int | None) -> str | None:
    """A time (ms since the epoch) as clients see it: ISO 8601, UTC, milliseconds."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def notification(n: Notification) -> dict[str, Any]:
    """A notification as clients see it, in REST answers and stream events alike."""
    return {
        "id": n.id,
        "vendor_id": n.vendor_id,
        "type": n.type,
        "title": n.title,
        "body": n.body,
        "data": n.data,
        "priority": n.priority,
        "link": n.link,
        "created_at": iso(n.created_at),
        "read_at": iso(n.read_at),
        "seen_at": iso(n.seen_at),
        "archived_at": iso(n.archived_at),
        "dedupe_key": n.dedupe_key,
    }
