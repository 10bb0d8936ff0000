from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


class VendorOrdersConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One per open socket: joins the vendor's group, forwards each message."""

    async def connect(self) -> None:
        vendor_id = self.scope["url_route"]["kwargs"]["vendor_id"]
        self.group_name = f"vendor_orders_{vendor_id}"
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def order_notification(self, event: dict[str, Any]) -> None:
        message = {
            "type": "new_notification",
            "notification": event["notification"],
            "unread_count": event["unread_count"],
        }
        await self.send(text_data=json.dumps(message))
