"""The embedded event log: a table in the SQL database, fanned out in-process.

Used when no Redis is configured. One process owns the log: the relay's append
hands the new events straight to the hub after the commit. Its SQL is in
`_sql_table`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence

from tocsin import metrics
from tocsin._ids import new_epoch, now_ms
from tocsin.model import OutboxRecord
from tocsin.realtime.eventlog import AppendResult, ReadResult
from tocsin.realtime.eventlog._sql_table import LogTable
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import Event, ResetReason, format_id, parse_id
from tocsin.settings import Settings
from tocsin.storage.stores import Stores

log = logging.getLogger(__name__)


class SqlLog:
    def __init__(self, stores: Stores, settings: Settings) -> None:
        self.stores = stores
        self.table = LogTable(stores.db)
        self.settings = settings
        self.epoch = ""
        self._hub: Hub | None = None
        self._trimmer: asyncio.Task[None] | None = None

    async def start(self, hub: Hub) -> None:
        self._hub = hub
        self.epoch = await self.stores.meta.get_or_set("log_epoch", new_epoch())
        self._trimmer = asyncio.create_task(self._trim_forever(), name="tocsin-log-trim")

    async def close(self) -> None:
        if self._trimmer is not None:
            self._trimmer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._trimmer

    async def ping(self) -> None:
        await self.stores.ping()

    async def alive(self) -> str | None:
        # No reader and no connection of its own: the database's pool is all it uses.
        return None

    def _event(self, seq: int, name: str, data: str) -> Event:
        position = (seq, 0)
        return Event(
            id=format_id(self.epoch, position, redis=False),
            epoch=self.epoch,
            position=position,
            name=name,
            data=data,
        )

    async def append(self, records: Sequence[OutboxRecord], *, force: bool = False) -> AppendResult:
        if not records:
            return AppendResult()
        added = await self.table.append(records, self.settings.retention_events)
        by_vendor: dict[str, list[Event]] = defaultdict(list)
        for rec, new in zip(records, added, strict=True):
            if new:  # a record appended before (by a relay that died before its delete) is done
                by_vendor[rec.vendor_id].append(self._event(rec.seq, rec.event, rec.payload))
                metrics.EVENTS_PUBLISHED.labels(rec.event).inc()
        if self._hub is not None:
            for vendor_id, events in by_vendor.items():
                self._hub.publish(vendor_id, events)
        # One process numbers and appends a vendor's events in order: there are no gaps.
        # The outbox rows went with the append (`LogTable.append`): none left to delete.
        return AppendResult()

    async def read(self, vendor_id: str, after: str | None, limit: int) -> ReadResult:
        first, last = await self.table.bounds(vendor_id)
        result = ReadResult(head=format_id(self.epoch, (last, 0), redis=False))
        if after is None:
            return result
        parsed = parse_id(after)
        if parsed is None or parsed[1][1] != 0 or "-" in after:
            result.reset = ResetReason.MALFORMED_ID
        elif parsed[0] != self.epoch:
            result.reset = ResetReason.LOG_CHANGED
        elif parsed[1][0] > last:
            result.reset = ResetReason.UNKNOWN_ID
        elif first > parsed[1][0] + 1:
            result.reset = ResetReason.EXPIRED
        if result.reset is not None:
            return result
        after_seq = parsed[1][0] if parsed else 0
        rows = await self.table.read(vendor_id, after_seq, limit)
        if after_seq < last and (not rows or rows[0]["seq"] != after_seq + 1):
            # Trimmed between the bounds and the read: the events after `after` are gone.
            result.reset = ResetReason.EXPIRED
            return result
        result.events = [self._event(r["seq"], r["event"], r["payload"]) for r in rows]
        return result

    async def _trim_forever(self) -> None:
        while True:
            await asyncio.sleep(60)
            try:
                cutoff = now_ms() - int(self.settings.retention_seconds * 1000)
                await self.table.trim(
                    keep_events=self.settings.retention_events, older_than_ms=cutoff
                )
            except Exception:
                log.exception("trimming the event log failed; retrying in a minute")
