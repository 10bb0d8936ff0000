"""The notification every system carries, and its SSE frame, in one place.

The baselines build the same notification object tocsin answers with and the
same `new_notification` frame, so every system moves the same bytes.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

EVENT = "new_notification"


def publish_body(seq: int, vendor: str) -> dict[str, Any]:
    """The JSON a publisher posts; `data.t` is stamped just before sending."""
    return {
        "type": "order_created",
        "title": f"New order #{100000 + seq}",
        "body": f"Vendor {vendor}: 2 items, 59.90 EUR. Pack and ship within 48 hours.",
        "data": {"t": 0, "seq": seq, "order_id": f"ord_{100000 + seq}"},
    }


def stamp(body: dict[str, Any]) -> bytes:
    """Put the send time into `data.t` and encode: the last step before the socket."""
    body["data"]["t"] = time.monotonic_ns()
    return json.dumps(body).encode()


def notification(nid: str, vendor: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": nid,
        "vendor_id": vendor,
        "type": fields.get("type", "order_created"),
        "title": fields.get("title", ""),
        "body": fields.get("body", ""),
        "data": fields.get("data", {}),
        "priority": fields.get("priority", "normal"),
        "link": fields.get("link"),
        "created_at": datetime.now(UTC).isoformat(),
        "read_at": None,
        "archived_at": None,
    }


def event_data(note: dict[str, Any], unread: int) -> bytes:
    return json.dumps(
        {"notification": note, "unread_count": unread}, separators=(",", ":")
    ).encode()


def sse_frame(event_id: str, data: bytes, event: str = EVENT) -> bytes:
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (event_id.encode(), event.encode(), data)
