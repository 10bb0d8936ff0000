"""The parts of a running tocsin, built from `Settings` and started in the app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from starlette.requests import HTTPConnection

from tocsin._ids import new_epoch
from tocsin.http.auth import Authenticator
from tocsin.marketplace.pipeline import Pipeline
from tocsin.notifications.service import NotificationService
from tocsin.realtime.eventlog import EventLog
from tocsin.realtime.eventlog.redis import RedisLog
from tocsin.realtime.eventlog.sql import SqlLog
from tocsin.realtime.hub import Hub
from tocsin.realtime.relay import Relay
from tocsin.realtime.wire import CloseReason
from tocsin.settings import DEV_API_KEY, Settings
from tocsin.storage import migrate
from tocsin.storage.store import Store

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    hub: Hub
    log: EventLog
    relay: Relay
    service: NotificationService
    auth: Authenticator
    pipeline: Pipeline
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        store = Store(settings.database_url)
        hub = Hub(settings.subscriber_queue_size)
        event_log: EventLog = SqlLog(store, settings) if settings.embedded else RedisLog(settings)
        relay = Relay(store, event_log, settings.relay_interval_seconds)
        service = NotificationService(store, on_commit=relay.kick)
        auth = Authenticator(settings, store)
        pipeline = Pipeline(settings, store, service)
        return cls(settings, store, hub, event_log, relay, service, auth, pipeline)

    async def start(self, *, workers: bool) -> None:
        self._loop = asyncio.get_running_loop()
        if not self.settings.api_keys and not self.settings.production:
            log.warning("no TOCSIN_API_KEYS: publishers use the development key %r", DEV_API_KEY)
        should_migrate = self.settings.migrate_on_start
        if should_migrate is None:
            should_migrate = self.store.dialect == "sqlite"
        if should_migrate:
            await asyncio.to_thread(migrate.upgrade, self.settings.database_url)
        await self.store.connect()
        if isinstance(self.log, RedisLog):
            self.log.source = await self.store.meta_get_or_set("db_id", new_epoch())
        await self.log.start(self.hub)
        await self.pipeline.start(workers=workers)
        if workers:
            self.tasks.append(asyncio.create_task(self.relay.run(), name="tocsin-relay"))

    def close_streams_soon(self) -> None:
        """End every open stream and long-poll; safe to call from a signal handler."""
        self._loop.call_soon_threadsafe(self.hub.close_all, CloseReason.SHUTDOWN)

    async def stop(self) -> None:
        self.hub.close_all(CloseReason.SHUTDOWN)
        await self.pipeline.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.log.close()
        await self.store.disconnect()


def runtime(conn: HTTPConnection) -> Runtime:
    rt: Runtime = conn.app.state.tocsin
    return rt
