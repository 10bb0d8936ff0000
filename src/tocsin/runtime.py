"""The parts of a running tocsin, built from `Settings` and started in the app's lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from tocsin import _tasks
from tocsin.admin.accounts import AdminAccounts
from tocsin.admin.reports import Reports
from tocsin.credentials import Credentials
from tocsin.delivery.audit import DeliveryAudit
from tocsin.delivery.history import DeliveryHistory
from tocsin.delivery.subscriptions import PushSubscriptions
from tocsin.marketplace.ingest import Ingest
from tocsin.marketplace.pipeline import Pipeline
from tocsin.marketplace.vendors import ContactService, PreferenceService, SettingsService
from tocsin.notifications.bulk import BulkRunner
from tocsin.notifications.retention import Retention
from tocsin.notifications.service import NotificationService
from tocsin.ratelimit import RateLimiter
from tocsin.realtime.eventlog import EventLog
from tocsin.realtime.eventlog.redis import RedisLog
from tocsin.realtime.eventlog.sql import SqlLog
from tocsin.realtime.hub import Hub
from tocsin.realtime.relay import Relay
from tocsin.realtime.slots import LocalSlots, RedisSlots, Slots
from tocsin.realtime.tally import TallyFlusher
from tocsin.realtime.wire import CloseReason
from tocsin.settings import DEV_API_KEY, Settings
from tocsin.storage import migrate
from tocsin.storage.stores import Stores

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The running parts; handlers reach the services (and the hub and log of the stream)."""

    settings: Settings
    stores: Stores
    hub: Hub
    log: EventLog
    relay: Relay
    service: NotificationService
    credentials: Credentials
    pipeline: Pipeline
    ingest: Ingest
    preferences: PreferenceService
    contacts: ContactService
    vendor_settings: SettingsService
    deliveries: DeliveryHistory
    audit: DeliveryAudit
    reports: Reports
    admins: AdminAccounts
    push: PushSubscriptions
    # Open streams and waiting polls per vendor; requests per publisher key (or no limit).
    slots: Slots
    publisher_rate: RateLimiter | None
    tally: TallyFlusher
    bulk: BulkRunner
    retention: Retention
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        stores = Stores(settings.database_url)
        hub = Hub(settings.subscriber_queue_size)
        event_log: EventLog
        slots: Slots
        if settings.embedded:
            event_log = SqlLog(stores, settings)
            slots = LocalSlots(settings.max_streams_per_vendor)
        else:
            redis_log = RedisLog(settings, stores.meta)
            event_log, slots = redis_log, RedisSlots(settings, redis_log)
        rate = settings.publisher_rate_limit
        relay = Relay(stores.outbox, event_log, settings.relay_interval_seconds)
        service = NotificationService(
            stores,
            on_commit=relay.kick,
            sync_limit=settings.bulk_sync_limit,
            chunk=settings.bulk_chunk,
        )
        bulk = BulkRunner(service)
        service.on_job = bulk.kick
        retention = Retention(settings, stores)
        pipeline = Pipeline(settings, stores, service)
        return cls(
            settings=settings,
            stores=stores,
            hub=hub,
            log=event_log,
            relay=relay,
            service=service,
            credentials=Credentials(settings, stores.api_keys.known),
            pipeline=pipeline,
            ingest=pipeline.ingest,
            preferences=PreferenceService(stores),
            contacts=ContactService(stores, pipeline.queue),
            vendor_settings=SettingsService(stores, pipeline.queue),
            deliveries=DeliveryHistory(stores.deliveries),
            audit=DeliveryAudit(stores),
            reports=Reports(stores, hub, retention),
            admins=AdminAccounts(stores.admins),
            push=pipeline.push,
            slots=slots,
            publisher_rate=RateLimiter(rate) if rate else None,
            tally=TallyFlusher(hub.tally, stores, settings.stream_tally_seconds),
            bulk=bulk,
            retention=retention,
        )

    async def start(self, *, workers: bool) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.settings.api_keys and not self.settings.production:
            log.warning("no TOCSIN_API_KEYS: publishers use the development key %r", DEV_API_KEY)
        should_migrate = self.settings.migrate_on_start
        if should_migrate is None:
            should_migrate = self.stores.dialect == "sqlite"
        if should_migrate:
            await asyncio.to_thread(migrate.upgrade, self.settings.database_url)
        await self.stores.connect()
        await self.log.start(self.hub)
        await self.slots.start()
        await self.pipeline.start(workers=workers)
        self.tally.start()
        if workers:
            self.tasks.append(asyncio.create_task(self.relay.run(), name="tocsin-relay"))
            self.tasks.append(asyncio.create_task(self.bulk.run(), name="tocsin-bulk-jobs"))
            self.tasks.append(asyncio.create_task(self.retention.run(), name="tocsin-retention"))

    def close_streams_soon(self) -> None:
        """End every open stream and long-poll; safe to call from a signal handler."""
        self._loop.call_soon_threadsafe(self.hub.close_all, CloseReason.SHUTDOWN)

    async def stop(self) -> None:
        self.hub.close_all(CloseReason.SHUTDOWN)
        await self.tally.stop()  # the last counts, before the database goes
        await self.pipeline.stop()
        for task in self.tasks:
            await _tasks.stop(task)
        await self.slots.close()
        await self.log.close()
        await self.stores.disconnect()
