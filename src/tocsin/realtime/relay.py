"""The outbox relay: moves committed outbox rows into the event log (at least once).

Every state change commits its notification rows and an outbox row in one
transaction; this relay appends the outbox rows to the event log and deletes
them. A crash between commit and append, or an unreachable Redis, only delays
an event: the row stays until the log has it. Appends are idempotent per
vendor sequence number (see `EventLog.append`), so the "at least once" of the
relay becomes "exactly once" in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from tocsin import metrics
from tocsin.errors import Unavailable
from tocsin.realtime.eventlog import EventLog
from tocsin.storage.outbox import OutboxStore

log = logging.getLogger(__name__)

BATCH = 500


class Relay:
    def __init__(self, outbox: OutboxStore, event_log: EventLog, interval: float) -> None:
        self.outbox = outbox
        self.log = event_log
        self.interval = interval
        self._kick = asyncio.Event()
        self._failing = False

    def kick(self) -> None:
        """Run now rather than at the next interval (called after each commit)."""
        self._kick.set()

    async def run(self) -> None:
        while True:
            try:
                async with self.outbox.connection():
                    await self.drain()
            except asyncio.CancelledError:
                raise
            except Unavailable as exc:
                # The database is down: the rows wait in it, and so does the relay.
                self._down(exc)
            except Exception:
                log.exception("outbox relay failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.interval)
            self._kick.clear()

    def _down(self, exc: Unavailable) -> None:
        metrics.RELAY_ERRORS.inc()
        if not self._failing:
            log.warning("%s (%s); outbox rows wait", exc.detail, exc.__cause__ or exc)
        self._failing = True

    def _up(self) -> None:
        if self._failing:
            log.info("relaying the outbox again")
            self._failing = False

    async def drain(self) -> None:
        """Relay until the outbox is empty or what is left must wait."""
        while True:
            self._kick.clear()
            records = await self.outbox.pending(BATCH)
            metrics.OUTBOX_PENDING.set(len(records))
            if not records:
                self._up()
                return
            try:
                result = await self.log.append(records)
                for vendor_id, last in result.gaps.items():
                    # A gap whose missing events are in no outbox was lost by the log
                    # (e.g. a Redis failover): append anyway, under a new epoch.
                    if not await self.outbox.has(vendor_id, last + 1):
                        stuck = [r for r in records if r.vendor_id == vendor_id]
                        forced = await self.log.append(stuck[:1], force=True)
                        result.done.extend(forced.done)
            except Unavailable as exc:
                self._down(exc)
                return
            self._up()
            await self.outbox.delete(result.done)
            if result.gaps or len(records) < BATCH:
                # Rows behind a gap wait for the relay (maybe in another process)
                # that holds the events before them.
                return
