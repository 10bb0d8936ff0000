"""Every store over one `Database`, built once at start-up (see `tocsin.runtime`)."""

from __future__ import annotations

import contextlib

from tocsin.storage.admins import AdminStore
from tocsin.storage.api_keys import ApiKeyStore
from tocsin.storage.bulk_jobs import BulkJobStore
from tocsin.storage.counts import CountStore
from tocsin.storage.db import Database
from tocsin.storage.deliveries import DeliveryStore
from tocsin.storage.group_commit import GroupCommit
from tocsin.storage.meta import MetaStore
from tocsin.storage.notifications import NotificationStore
from tocsin.storage.outbox import OutboxStore
from tocsin.storage.preferences import PreferenceStore
from tocsin.storage.processed_events import ProcessedEventStore
from tocsin.storage.push_subscriptions import PushSubscriptionStore
from tocsin.storage.reports import ReportStore
from tocsin.storage.retention import RetentionStore
from tocsin.storage.vendors import VendorStore


class Stores:
    def __init__(self, url: str, *, pool_size: int = 10, write_lanes: int = 4) -> None:
        sqlite = url.startswith("sqlite")
        # SQLite has one writer: one lane. Each lane holds a connection of its own.
        lanes = 1 if sqlite else write_lanes
        self.db = db = Database(url, pool_size=pool_size + (0 if sqlite else lanes))
        self.writer = GroupCommit(db, lanes=lanes)
        self.admins = AdminStore(db)
        self.api_keys = ApiKeyStore(db)
        self.bulk_jobs = BulkJobStore(db)
        self.counts = CountStore(db)
        self.deliveries = DeliveryStore(db)
        self.meta = MetaStore(db)
        self.notifications = NotificationStore(db)
        self.outbox = OutboxStore(db)
        self.preferences = PreferenceStore(db)
        self.processed_events = ProcessedEventStore(db)
        self.push_subscriptions = PushSubscriptionStore(db)
        self.reports = ReportStore(db)
        self.retention = RetentionStore(db, self.counts)
        self.vendors = VendorStore(db)

    @property
    def dialect(self) -> str:
        return self.db.dialect

    async def connect(self) -> None:
        await self.db.connect()
        self.writer.start()

    async def disconnect(self) -> None:
        await self.writer.close()
        await self.db.disconnect()

    async def ping(self) -> None:
        """Raise `Unavailable` if the database cannot be reached."""
        await self.db.ping()

    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One atomic write across stores; nested, a savepoint (see `Database.transaction`)."""
        return self.db.transaction()
