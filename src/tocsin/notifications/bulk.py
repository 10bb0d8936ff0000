"""The runner of bulk jobs: a task in every process that runs the workers.

A job is durable (table `bulk_jobs`): the runner claims one with a lease,
applies it chunk by chunk (`NotificationService.run_chunk`, each chunk its own
transaction that also records the job's cursor), and lets the vendor's lock go
between chunks, so the vendor's creates keep flowing. Chunks are sized to take
about `CHUNK_SECONDS` (at most `TOCSIN_BULK_CHUNK` rows): on a loaded machine a
2,000-row chunk held the lock for a third of a second, and every create of the
vendor waited for it (the vendors sharing its write lane wait `LANE_LOCK_WAIT` at
most; see `storage.group_commit`). A runner that stops gives
its job back; one that dies leaves a lease that runs out, and the job resumes
from its cursor in whichever process claims it next.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time

from tocsin.errors import Unavailable
from tocsin.model import BulkJob
from tocsin.notifications.service import NotificationService

log = logging.getLogger(__name__)

# A claimed job is taken over by another runner once its runner is silent this long.
LEASE_SECONDS = 30.0
# A chunk should take about this long (it holds the vendor's lock for most of it):
# the chunk size halves when one takes longer and grows when one takes under half.
CHUNK_SECONDS = 0.05
MIN_CHUNK = 50


class BulkRunner:
    def __init__(self, service: NotificationService, *, poll_seconds: float = 1.0) -> None:
        self.service = service
        self.poll_seconds = poll_seconds
        self.lease_ms = int(LEASE_SECONDS * 1000)
        self._wake = asyncio.Event()

    def kick(self) -> None:
        """A job was added: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                job = await self.service.jobs.claim(self.lease_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not isinstance(exc, Unavailable):
                    log.exception("bulk jobs: claiming failed; retrying")
                job = None
            if job is not None:
                await self.run_job(job)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def run_job(self, job: BulkJob) -> None:
        size = self.service.chunk
        try:
            while True:
                started = time.monotonic()
                cursor = await self.service.run_chunk(job, self.lease_ms, size)
                if cursor is None:
                    return
                took = time.monotonic() - started
                if took > CHUNK_SECONDS:
                    size = max(MIN_CHUNK, size // 2)
                elif took < CHUNK_SECONDS / 2:
                    size = min(self.service.chunk, size * 2)
                job = dataclasses.replace(job, cursor=cursor)
                await asyncio.sleep(0)  # the vendor's waiting writes go first
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self.service.jobs.release(job.id)
            raise
        except Unavailable:
            # The database is away: the lease runs out and the job resumes from its cursor.
            await asyncio.sleep(self.poll_seconds)
        except Exception as exc:
            log.exception("bulk job %s failed", job.id)
            with contextlib.suppress(Exception):
                await self.service.jobs.finish(job.id, error=f"{type(exc).__name__}: {exc}")
