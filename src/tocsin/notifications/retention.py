"""Retention: the purge of what is older than `TOCSIN_KEEP_DAYS` / `TOCSIN_KEEP_READ_DAYS`.

It runs in the processes that run the workers (on the embedded backend, the one
process), every `purge_interval_seconds` and once per interval across them all
(a claim in `tocsin_meta`, see `purge_if_due`), one batch (`purge_batch` rows) per
transaction so no lock is held for long; `storage.retention.RULES` says what
goes. The last purge (when, how long, rows removed per table) is kept in
`tocsin_meta` for the admin overview.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

from tocsin._ids import now_ms
from tocsin.errors import Unavailable
from tocsin.settings import Settings
from tocsin.storage.retention import RULES
from tocsin.storage.stores import Stores

log = logging.getLogger(__name__)

LAST_PURGE = "last_purge"
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Purge:
    at: int  # ms
    seconds: float
    removed: dict[str, int]


class Retention:
    def __init__(self, settings: Settings, stores: Stores) -> None:
        self.settings = settings
        self.stores = stores

    def _cutoff(self, days: float, now: int) -> int:
        """Rows created before this (ms) are old; 0 days keeps everything."""
        return int(now - days * DAY_MS) if days > 0 else 0

    async def purge_if_due(self) -> Purge | None:
        """Purge unless another process purged within `purge_interval_seconds`, or is purging.

        With `serve --workers N` or several hosts each process runs this, and
        one purge runs per interval: the first to claim it holds it for an
        interval, renewed after every batch while it purges.
        """
        if not await self.stores.retention.claim_purge(now_ms(), self._hold_until()):
            return None
        return await self.purge()

    def _hold_until(self) -> int:
        return now_ms() + int(self.settings.purge_interval_seconds * 1000)

    async def purge(self) -> Purge:
        """Purge every rule's old rows, batch by batch, and record it."""
        started, now = time.monotonic(), now_ms()
        keep_all = self._cutoff(self.settings.keep_days, now)
        keep_read = self._cutoff(self.settings.keep_read_days, now)
        removed: dict[str, int] = {}
        for rule in RULES:
            total = 0
            while True:
                n = await self.stores.retention.purge_batch(
                    rule, keep_all, keep_read, self.settings.purge_batch
                )
                total += n
                if n < self.settings.purge_batch:
                    break
                await self.stores.retention.hold_purge(self._hold_until())
                await asyncio.sleep(0)  # other writers go between batches
            removed[rule.table] = total
        done = Purge(at=now, seconds=round(time.monotonic() - started, 3), removed=removed)
        await self.stores.meta.put(
            LAST_PURGE, json.dumps({"at": done.at, "seconds": done.seconds, "removed": removed})
        )
        if any(removed.values()):
            log.info("retention: purged %s in %.1f s", removed, done.seconds)
        return done

    async def last(self) -> Purge | None:
        raw = await self.stores.meta.get(LAST_PURGE)
        if raw is None:
            return None
        value = json.loads(raw)
        return Purge(at=value["at"], seconds=value["seconds"], removed=value["removed"])

    async def run(self) -> None:
        """Purge now, then every `purge_interval_seconds` (once across processes)."""
        while True:
            try:
                await self.purge_if_due()
            except asyncio.CancelledError:
                raise
            except Unavailable as exc:
                log.warning("retention: the database is unavailable (%s); later", exc)
            except Exception:
                log.exception("retention: the purge failed; it runs again later")
            await asyncio.sleep(self.settings.purge_interval_seconds)
