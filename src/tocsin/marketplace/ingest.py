"""Ingest: a marketplace event becomes notifications, stream events and queued deliveries.

All of one event's writes commit in one transaction that starts by inserting
its id into `processed_events`. A retry finds the id and gets the first
answer back; a concurrent retry blocks on that insert (PostgreSQL) or on the
write lock (SQLite) until the first commits, then does the same. The
notifications still go through `NotificationService.create`, with a
`dedupe_key` of `evt:<event id>:<vendor>`, so there is one path that creates
a notification and emits its stream event.

Which deliveries each notification gets, and when, is `tocsin.marketplace.plan`'s
business: the vendor's preferences (channels, email digests, escalation) on its
clock (quiet hours). A publisher's own notification (`direct`) is planned the
same way, in the transaction that creates it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tocsin import metrics
from tocsin._ids import now_ms
from tocsin.delivery import Rendered
from tocsin.delivery.channels import IN_APP
from tocsin.delivery.queue import Queue, announce
from tocsin.delivery.subscriptions import PushSubscriptions
from tocsin.errors import Conflict
from tocsin.marketplace.plan import Planner, Subject
from tocsin.marketplace.registry import recipients, stream_payload
from tocsin.marketplace.schemas import MarketplaceEvent
from tocsin.marketplace.templating import Templates
from tocsin.model import Notification, Row
from tocsin.notifications.service import NewNotification, NotificationService
from tocsin.settings import Settings
from tocsin.storage.stores import Stores


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
        self.planner = Planner(settings, stores, push)

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
        started = now_ms()
        seen = await self.events.get(event.id)
        if seen is not None:
            return self._again(seen, event)
        plan = recipients(event)
        audiences = await self.planner.audiences([r.vendor_id for r in plan])
        # Each vendor's notification in its own language, its times on its own clock.
        texts = [self.templates.render(r, *audiences[r.vendor_id].clock) for r in plan]
        ids: list[str] = []
        queued: list[int] = []

        async def apply() -> None:
            ids.clear()  # a batch may run more than once (see `GroupCommit.run`)
            queued.clear()
            if not await self.events.claim(event.id, event.type, event.digest):
                raise _Seen
            for recipient, text in zip(plan, texts, strict=True):
                vendor_id, kind = recipient.vendor_id, recipient.notification_type
                audience = audiences[vendor_id]
                notice = IN_APP.build(text)
                notification_id = None
                if audience.wants(kind)[IN_APP.name]:
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
                subject = Subject(
                    vendor_id=vendor_id,
                    type=kind,
                    priority=recipient.priority,
                    notification_id=notification_id,
                    key=f"evt:{event.id}:{vendor_id}",
                    event_id=event.id,
                    render=functools.partial(_given, text),
                    title=notice.title,
                    link=self.templates.absolute(notice.link),
                )
                queued.extend(await self.planner.plan(subject, audience))
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
        # The notifications were created in savepoints: count them, and wake the relay, now
        # they are committed.
        self.service.created(len(ids), since=started)
        metrics.EVENTS_INGESTED.labels(event.type, "created").inc()
        await self._announce(queued)
        return IngestResult(event.id, ids, created=True)

    async def direct(
        self, vendor_id: str, new: NewNotification, *, idempotent: bool = False
    ) -> tuple[Notification, bool]:
        """A publisher's own notification, with its email, SMS and push as the vendor's
        preferences for its type say (as for an event's); `(notification, created)`.

        The notification itself is always made (it is what the request asked for),
        whatever `in_app` says. A repeat (its dedupe key known) queues nothing.
        """
        started = now_ms()
        audience = (await self.planner.audiences([vendor_id], in_app=False))[vendor_id]
        queued: list[int] = []

        async def apply() -> tuple[Notification, bool]:
            queued.clear()  # a batch may run more than once (see `GroupCommit.run`)
            n, created = await self.service.create(vendor_id, new, idempotent=idempotent)
            if created:
                subject = Subject(
                    vendor_id=vendor_id,
                    type=n.type,
                    priority=n.priority,
                    notification_id=n.id,
                    key=f"ntf:{n.id}",
                    event_id=None,
                    render=functools.cache(
                        lambda: self.templates.render_direct(n, *audience.clock)
                    ),
                    title=n.title,
                    link=self.templates.absolute(n.link),
                )
                queued.extend(await self.planner.plan(subject, audience))
            return n, created

        n, created = await self.stores.writer.run(vendor_id, apply)
        if created:
            self.service.created(1, since=started)
        await self._announce(queued)
        return n, created

    async def _announce(self, queued: list[int]) -> None:
        await announce(self.queue, queued)


def _given(text: Rendered) -> Rendered:
    """An event's text, rendered before its transaction (for `Subject.render`)."""
    return text
