"""Ingest: a marketplace event becomes notifications, stream events and queued deliveries.

All of one event's writes commit in one transaction that starts by inserting
its id into `processed_events`. A retry finds the id and gets the first
answer back; a concurrent retry blocks on that insert (PostgreSQL) or on the
write lock (SQLite) until the first commits, then does the same. The
notifications still go through `NotificationService.create`, with a
`dedupe_key` of `evt:<event id>:<vendor>`, so there is one path that creates
a notification and emits its stream event.

A channel that sends to devices (push) gets one delivery per subscription of
the vendor, keyed `…:push:<subscription id>`, carrying the subscription's
endpoint and keys; one that waits to be seen (push) is due after the grace.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tocsin import metrics
from tocsin._ids import now_ms
from tocsin.delivery.channels import IN_APP, QUEUED
from tocsin.delivery.queue import Queue
from tocsin.delivery.subscriptions import PushSubscriptions
from tocsin.errors import Conflict
from tocsin.marketplace.preferences import merged
from tocsin.marketplace.registry import recipients, stream_payload
from tocsin.marketplace.schemas import MarketplaceEvent
from tocsin.marketplace.templating import Templates
from tocsin.model import Row
from tocsin.notifications.service import NewNotification, NotificationService
from tocsin.settings import Settings
from tocsin.storage.deliveries import NewDelivery
from tocsin.storage.stores import Stores

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    event_id: str
    notifications: list[str]
    created: bool


class _Seen(Exception):
    """Raised inside the transaction when the event id is already taken."""


class Ingest:
    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        service: NotificationService,
        queue: Queue,
        templates: Templates,
        push: PushSubscriptions,
    ) -> None:
        self.settings = settings
        self.stores = stores
        self.events = stores.processed_events
        self.deliveries = stores.deliveries
        self.service = service
        self.queue = queue
        self.templates = templates
        self.push = push

    def _again(self, row: Row, event: MarketplaceEvent) -> IngestResult:
        if row["digest"] != event.digest:
            raise Conflict(
                f"event {event.id!r} was already received with a different body: "
                "give a new event a new id"
            )
        metrics.EVENTS_INGESTED.labels(event.type, "duplicate").inc()
        return IngestResult(event.id, list(row["notifications"]), created=False)

    async def ingest(self, event: MarketplaceEvent) -> IngestResult:
        """Apply `event` once; `created=False` when its id was seen before."""
        seen = await self.events.get(event.id)
        if seen is not None:
            return self._again(seen, event)
        plan = recipients(event)
        vendor_ids = [r.vendor_id for r in plan]
        # Each vendor's notification in its own language, its times on its own clock.
        clocks = await self.stores.vendors.settings(vendor_ids)
        texts = [
            self.templates.render(r, clocks[r.vendor_id].locale, clocks[r.vendor_id].timezone)
            for r in plan
        ]
        stored = await self.stores.preferences.get(vendor_ids)
        prefs = {v: merged(o) for v, o in stored.items()}
        contacts = await self.stores.vendors.contacts(vendor_ids)
        queued_channels = [c for c in QUEUED if c.configured(self.settings)]
        devices = (
            await self.push.for_vendors(vendor_ids)
            if any(c.devices for c in queued_channels)
            else {}
        )
        grace_ms = int(self.settings.push_grace_seconds * 1000)
        ids: list[str] = []
        queued: list[int] = []

        async def apply() -> None:
            if not await self.events.claim(event.id, event.type, event.digest):
                raise _Seen
            for recipient, text in zip(plan, texts, strict=True):
                vendor_id, kind = recipient.vendor_id, recipient.notification_type
                wants = prefs[vendor_id][kind]
                notification_id = None
                if wants[IN_APP.name]:
                    notice = IN_APP.build(text)
                    n, _ = await self.service.create(
                        vendor_id,
                        NewNotification(
                            type=kind,
                            title=notice.title,
                            body=notice.body,
                            data=recipient.context,
                            priority=recipient.priority,
                            link=notice.link,
                            dedupe_key=f"evt:{event.id}:{vendor_id}",
                        ),
                    )
                    notification_id = n.id
                    ids.append(n.id)
                email, phone = contacts.get(vendor_id, (None, None))
                contact = {"email": email, "phone": phone}
                for channel in queued_channels:
                    if not wants[channel.name]:
                        continue
                    key = f"evt:{event.id}:{vendor_id}:{channel.name}"
                    message: dict[str, str] = channel.build(text).to_json()
                    due = now_ms() + grace_ms if channel.unless_seen else None
                    targets: list[tuple[str, str, dict[str, str]]] = []
                    if channel.devices:
                        message["priority"] = recipient.priority
                        targets = [
                            (
                                f"{key}:{s.id}",
                                str(s.id),
                                {"endpoint": s.endpoint, "p256dh": s.p256dh, "auth": s.auth},
                            )
                            for s in devices.get(vendor_id, [])
                        ]
                    elif channel.contact and contact.get(channel.contact.field):
                        targets = [(key, str(contact[channel.contact.field]), {})]
                    for delivery_key, address, extra in targets:
                        delivery_id = await self.deliveries.add(
                            NewDelivery(
                                key=delivery_key,
                                vendor_id=vendor_id,
                                event_id=event.id,
                                notification_id=notification_id,
                                type=kind,
                                channel=channel.name,
                                recipient=address,
                                message={**message, **extra},
                                due_at=due,
                            )
                        )
                        if delivery_id is not None:
                            queued.append(delivery_id)
            stream = stream_payload(event)
            if stream is not None:
                await self.service.emit(*stream)
            await self.events.finish(event.id, ids)

        try:
            # One transaction for the whole event; shared with concurrent writes where
            # the database has one writer (see `GroupCommit.run`).
            await self.stores.writer.run(None, apply)
        except _Seen:
            first = await self.events.get(event.id)
            assert first is not None
            return self._again(first, event)
        # The notifications were created in savepoints: wake the relay now they are committed.
        self.service.on_commit()
        metrics.EVENTS_INGESTED.labels(event.type, "created").inc()
        if queued:
            try:
                await self.queue.push(queued)
            except Exception as exc:
                # Committed in SQL: the queue's sweep finds them (see `RedisQueue`).
                log.warning("could not queue %d deliveries now (%s)", len(queued), exc)
        return IngestResult(event.id, ids, created=True)
