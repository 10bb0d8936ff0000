"""How many tabs each notification reached, counted in memory and added to SQL in batches.

The hub's loop must stay a loop of writes (see `tocsin.realtime.hub`): per
event it adds the number of streams it wrote to a dict entry, nothing more.
`TallyFlusher` swaps the dict out about once a second and adds it to the
`notification_streams` table in one transaction. The table is the same on
both backends; each process adds its own counts, so the sums are the totals
across processes. A failed flush keeps its counts for the next one; a process
that dies loses at most its last second of counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from tocsin import metrics
from tocsin.realtime.wire import Event, notification_ref
from tocsin.storage.stores import Stores
from tocsin.storage.streams import StreamCount

log = logging.getLogger(__name__)

# Beyond this many notifications waiting for a flush (the database is down for long),
# new counts are dropped rather than let memory grow.
MAX_PENDING = 100_000


class StreamTally:
    def __init__(self) -> None:
        self.pending: dict[str, StreamCount] = {}
        self.dropped = 0

    def published(self, vendor_id: str, event: Event, written: int) -> None:
        """The hub wrote `event` to `written` streams of this process (once per event)."""
        ref = notification_ref(event)
        if ref is None:
            return
        now = time.time()
        metrics.PUBLISH_TO_STREAM.observe(max(0.0, now - ref[1] / 1000))
        self._add(vendor_id, ref[0], int(now * 1000), streams=written)

    def streamed(self, vendor_id: str, event: Event) -> None:
        """One stream wrote `event` (from its backlog, or its replay)."""
        ref = notification_ref(event)
        if ref is not None:
            self._add(vendor_id, ref[0], int(time.time() * 1000), streams=1)

    def polled(self, vendor_id: str, event: Event) -> None:
        """A poll returned `event`."""
        ref = notification_ref(event)
        if ref is not None:
            self._add(vendor_id, ref[0], int(time.time() * 1000), polls=1)

    def _add(
        self, vendor_id: str, notification_id: str, now: int, *, streams: int = 0, polls: int = 0
    ) -> None:
        count = self.pending.get(notification_id)
        if count is None:
            if len(self.pending) >= MAX_PENDING:
                self.dropped += 1
                return
            self.pending[notification_id] = StreamCount(vendor_id, streams, polls, now, now)
            return
        count.streams += streams
        count.polls += polls
        count.last_at = now

    def take(self) -> dict[str, StreamCount]:
        taken, self.pending = self.pending, {}
        return taken

    def put_back(self, counts: dict[str, StreamCount]) -> None:
        """Counts a flush could not store, merged into what came meanwhile."""
        for notification_id, old in counts.items():
            count = self.pending.get(notification_id)
            if count is None:
                if len(self.pending) < MAX_PENDING:
                    self.pending[notification_id] = old
                continue
            count.streams += old.streams
            count.polls += old.polls
            count.first_at = min(count.first_at, old.first_at)
            count.last_at = max(count.last_at, old.last_at)


class TallyFlusher:
    """Adds a `StreamTally`'s counts to SQL every `interval` seconds, and once more on `stop`."""

    def __init__(self, tally: StreamTally, stores: Stores, interval: float) -> None:
        self.tally = tally
        self.stores = stores
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tocsin-tally")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> int:
        """Store what was counted since the last flush; how many notifications it covered."""
        counts = self.tally.take()
        if not counts:
            return 0
        try:
            await self.stores.writer.run(None, lambda: self.stores.streams.add(counts))
        except BaseException:
            self.tally.put_back(counts)
            raise
        return len(counts)

    async def _run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
                failing = False
            except Exception as exc:
                if not failing:
                    log.warning("could not store stream counts (%s); retrying", exc)
                failing = True
            if self.tally.dropped:
                log.warning(
                    "dropped %d stream counts while the database was away", self.tally.dropped
                )
                self.tally.dropped = 0
