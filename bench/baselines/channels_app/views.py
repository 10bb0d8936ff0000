from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from channels.layers import get_channel_layer
from django.http import HttpRequest, JsonResponse

from bench import payload

_unread: defaultdict[str, int] = defaultdict(int)


async def publish(request: HttpRequest, vendor_id: str) -> JsonResponse:
    """The old publish path: build the notification, `group_send` it to the vendor's group."""
    note = payload.notification(os.urandom(8).hex(), vendor_id, json.loads(request.body))
    _unread[vendor_id] += 1
    layer = get_channel_layer()
    await layer.group_send(
        f"vendor_orders_{vendor_id}",
        {"type": "order.notification", "notification": note, "unread_count": _unread[vendor_id]},
    )
    return JsonResponse(note, status=201)


async def token(request: HttpRequest) -> JsonResponse:
    """No auth in this baseline: the token is the vendor id."""
    req = json.loads(request.body)
    expires = datetime.now(UTC) + timedelta(seconds=int(req.get("ttl", 3600)))
    return JsonResponse({"token": req["vendor_id"], "expires_at": expires.isoformat()}, status=201)


async def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
