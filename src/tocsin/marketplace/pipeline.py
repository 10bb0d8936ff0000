"""The marketplace-event pipeline as one part of `Runtime`: templates, ingest, delivery.

`start` checks every template (a broken one stops the start-up) and, with
`workers`, runs the delivery worker. Before each send the worker asks
`still_wanted`: a grace push or an escalation is cancelled once its
notification was seen or read (on any tab, through any process: the SQL row is
the truth), and a digest without items is not sent. `hold` gives one back
that the vendor's quiet hours hold now (set after it was planned, or changed
to ones that still cover it after they released it), due at their end, in the
transaction that reads those hours (a change racing it releases it). Then
`prepare` renders a digest from the items listed in it by then.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime

from tocsin import _tasks, i18n
from tocsin._ids import now_ms
from tocsin.delivery import Delivery, Sender, channels, clock
from tocsin.delivery.queue import Queue, RedisQueue, SqlQueue
from tocsin.delivery.subscriptions import PushSubscriptions
from tocsin.delivery.worker import DeliveryWorker
from tocsin.marketplace.ingest import Ingest
from tocsin.marketplace.templating import Templates
from tocsin.notifications.service import NotificationService
from tocsin.settings import Settings
from tocsin.storage.deliveries import CANCELLED, DIGEST, ESCALATION, GRACE
from tocsin.storage.stores import Stores


class Pipeline:
    def __init__(self, settings: Settings, stores: Stores, service: NotificationService) -> None:
        self.settings = settings
        self.stores = stores
        self.templates = Templates(settings.templates_dir or None, settings.public_url)
        self.deliveries = stores.deliveries
        self.vendors = stores.vendors
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
                hold=self.hold,
                prepare=self.prepare,
                gone=self.push.gone,
            )
            self._task = asyncio.create_task(worker.run(), name="tocsin-delivery")

    async def still_wanted(self, delivery: Delivery) -> str | None:
        """Why `delivery` should not be sent after all, or None."""
        channel = channels.BY_NAME.get(delivery.channel)
        if channel is None:
            return None
        if delivery.purpose == DIGEST:
            if not await self.deliveries.digest_items(delivery.key):
                return "nothing to send: the digest lists no notification"
            return None
        waits = channel.unless_seen or delivery.purpose in (GRACE, ESCALATION)
        if waits and delivery.notification_id is not None:
            noticed = await self.deliveries.noticed(delivery.notification_id)
            if noticed is not None:
                return CANCELLED[noticed]
        if channel.devices and not await self.push.exists(delivery):
            return "the push subscription was removed"
        return None

    async def hold(self, delivery: Delivery) -> int | None:
        """If the vendor's quiet hours hold the claimed `delivery` now, give it back due at
        their end, and return that end; else None.

        The settings are read, and the delivery given back, in one transaction with the
        vendor's row share-locked: a change of quiet hours committed meanwhile is either
        seen here or comes after, and then releases what this held (`release`).
        """
        vendor = delivery.vendor_id
        if (await self.vendors.settings([vendor]))[vendor].quiet_hours is None:
            return None  # most vendors: no transaction (hours set meanwhile hold the next)
        priority = delivery.message.get("priority")
        if priority is None and delivery.notification_id is not None:
            priority = await self.deliveries.priority(delivery.notification_id)
        async with self.stores.transaction():
            settings = await self.vendors.settings_locked(vendor)
            if settings.quiet_hours is None:
                return None
            until = clock.hold(now_ms(), settings, priority)
            if until is not None:
                await self.deliveries.postpone(delivery, until)
            return until

    async def prepare(self, delivery: Delivery) -> Delivery:
        """A digest's email, rendered from its items (and stored with it); others as they are."""
        if delivery.purpose != DIGEST:
            return delivery
        items = await self.deliveries.digest_items(delivery.key)
        settings = (await self.vendors.settings([delivery.vendor_id]))[delivery.vendor_id]
        listed = [
            {
                "line": item["line"],
                "link": item["link"] or "",
                # The time of day as the vendor's language writes it, on its clock.
                "at": i18n.clock(
                    datetime.fromtimestamp(item["created_at"] / 1000, UTC),
                    settings.locale,
                    settings.timezone,
                ),
            }
            for item in items
        ]
        rendered = self.templates.render_digest(
            delivery.vendor_id, listed, settings.locale, settings.timezone
        )
        message = channels.EMAIL.build(rendered).to_json()
        await self.deliveries.set_message(delivery.id, message)
        return dataclasses.replace(delivery, message=message)

    async def stop(self) -> None:
        if self._task is not None:
            await _tasks.stop(self._task)
        for sender in self.senders.values():
            await sender.close()
        await self.queue.close()
