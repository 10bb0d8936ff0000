"""The marketplace-event pipeline as one part of `Runtime`: templates, ingest, delivery.

`start` checks every template (a broken one stops the start-up) and, with
`workers`, runs the delivery worker. Before each send the worker asks `still_wanted`.
"""

from __future__ import annotations

import asyncio

from tocsin import _tasks
from tocsin.delivery import Delivery, Sender, channels
from tocsin.delivery.queue import Queue, RedisQueue, SqlQueue
from tocsin.delivery.subscriptions import PushSubscriptions
from tocsin.delivery.worker import DeliveryWorker
from tocsin.marketplace.ingest import Ingest
from tocsin.marketplace.templating import Templates
from tocsin.notifications.service import NotificationService
from tocsin.settings import Settings
from tocsin.storage.stores import Stores


class Pipeline:
    def __init__(self, settings: Settings, stores: Stores, service: NotificationService) -> None:
        self.settings = settings
        self.templates = Templates(settings.templates_dir or None, settings.public_url)
        self.deliveries = stores.deliveries
        self.push = PushSubscriptions(settings, stores.push_subscriptions)
        self.queue: Queue = (
            SqlQueue(self.deliveries, settings.delivery_poll_seconds)
            if settings.embedded
            else RedisQueue(settings, self.deliveries)
        )
        self.ingest = Ingest(settings, stores, service, self.queue, self.templates, self.push)
        self.senders: dict[str, Sender] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, workers: bool) -> None:
        self.templates.check()
        await self.queue.start()
        if workers:
            self.senders = channels.senders(self.settings)
            worker = DeliveryWorker(
                self.settings,
                self.deliveries,
                self.queue,
                self.senders,
                check=self.still_wanted,
                gone=self.push.gone,
            )
            self._task = asyncio.create_task(worker.run(), name="tocsin-delivery")

    async def still_wanted(self, delivery: Delivery) -> str | None:
        """Why `delivery` should not be sent after all, or None."""
        channel = channels.BY_NAME.get(delivery.channel)
        if channel is None:
            return None
        if channel.unless_seen and delivery.notification_id is not None:
            noticed = await self.deliveries.noticed(delivery.notification_id)
            if noticed == "seen":
                return "seen in a live tab before the push was due"
            if noticed is not None:
                return f"{noticed} before the push was due"
        if channel.devices and not await self.push.exists(delivery):
            return "the push subscription was removed"
        return None

    async def stop(self) -> None:
        if self._task is not None:
            await _tasks.stop(self._task)
        for sender in self.senders.values():
            await sender.close()
        await self.queue.close()
