"""The delivery worker: takes jobs from the queue, claims, sends, records, retries.

A claim gives the worker a lease on the delivery for one attempt; the attempt
is recorded (`sending`) in the same transaction. The result is recorded after
the send, and only then is the queue entry acked, so a crash at any point
leaves either a claimable delivery or a settled one, never a lost one.

Hooks keep the worker ignorant of channels: `check` may name a reason not
to send a claimed delivery after all (a push for a notification a live tab
saw), and the delivery is settled as `skipped` with that reason in its log;
`hold` may give the delivery back instead, due at a time to wait for (the end
of quiet hours; the claim undone, `DeliveryStore.postpone`), and name that
time; `prepare` may give the message its final form at send time (a digest
lists its items then); `gone` hears of a recipient that no longer exists (a
push subscription that answered 404 or 410).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping

from tocsin import metrics
from tocsin._ids import now_ms
from tocsin.delivery import Delivery, Sender, SendError
from tocsin.delivery.queue import Job, Queue
from tocsin.errors import Unavailable
from tocsin.settings import Settings
from tocsin.storage.deliveries import FAILED, PENDING, SENT, DeliveryStore

log = logging.getLogger(__name__)

# On shutdown, sends in flight get this long to finish before they are cancelled
# (a cancelled one is retried once its lease ends).
STOP_GRACE_SECONDS = 5.0


def backoff(settings: Settings, attempt: int) -> float:
    """Seconds to wait after the `attempt`-th failure: exponential, capped, 10 % jitter."""
    delay: float = min(
        settings.delivery_backoff_seconds * 2.0 ** (attempt - 1),
        settings.delivery_backoff_max_seconds,
    )
    return delay * (1 + random.random() / 10)


class DeliveryWorker:
    def __init__(
        self,
        settings: Settings,
        deliveries: DeliveryStore,
        queue: Queue,
        senders: Mapping[str, Sender],
        *,
        check: Callable[[Delivery], Awaitable[str | None]] | None = None,
        hold: Callable[[Delivery], Awaitable[int | None]] | None = None,
        prepare: Callable[[Delivery], Awaitable[Delivery]] | None = None,
        gone: Callable[[Delivery], Awaitable[None]] | None = None,
    ) -> None:
        self.settings = settings
        self.deliveries = deliveries
        self.queue = queue
        self.senders = senders
        self.check = check
        self.hold = hold
        self.prepare = prepare
        self.gone = gone
        self.lease_ms = int(settings.delivery_lease_seconds * 1000)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._busy: set[int] = set()

    async def run(self) -> None:
        failing = False
        try:
            while True:
                free = self.settings.delivery_concurrency - len(self._in_flight)
                if free <= 0:
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    jobs = await self.queue.take(
                        free, self.settings.delivery_poll_seconds, self._busy
                    )
                except Unavailable as exc:
                    if not failing:
                        log.warning(
                            "delivery queue unreachable (%s); retrying", exc.__cause__ or exc
                        )
                    failing = True
                    await asyncio.sleep(self.settings.delivery_poll_seconds)
                    continue
                except Exception:
                    log.exception("delivery queue failed; retrying")
                    await asyncio.sleep(self.settings.delivery_poll_seconds)
                    continue
                failing = False
                for job in jobs:
                    if job.delivery_id in self._busy:
                        continue  # a duplicate entry; it is looked at again later
                    self._busy.add(job.delivery_id)
                    task = asyncio.create_task(self.process(job), name="tocsin-delivery")
                    self._in_flight.add(task)
                    task.add_done_callback(self._in_flight.discard)
        finally:
            if self._in_flight:
                _, late = await asyncio.wait(self._in_flight, timeout=STOP_GRACE_SECONDS)
                for task in late:
                    task.cancel()

    async def process(self, job: Job) -> None:
        try:
            await self._process(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The lease runs out and the delivery is taken over: nothing is lost.
            log.exception("delivery %s failed unexpectedly; it will be retried", job.delivery_id)
        finally:
            self._busy.discard(job.delivery_id)

    async def _process(self, job: Job) -> None:
        delivery = await self.deliveries.claim(job.delivery_id, self.lease_ms)
        if delivery is None:
            row = await self.deliveries.get(job.delivery_id)
            if row is None or row["status"] in (SENT, FAILED):
                await self.queue.done(job)
            elif row["status"] == PENDING:
                await self.queue.later(job, int(row["next_attempt_at"]))
            # else: another worker holds the lease; the entry comes back if it dies.
            return
        reason = await self.check(delivery) if self.check is not None else None
        if reason is not None:
            await self.deliveries.skip(delivery, reason)
            metrics.DELIVERY_ATTEMPTS.labels(delivery.channel, "skipped").inc()
            await self.queue.done(job)
            return
        until = await self.hold(delivery) if self.hold is not None else None
        if until is not None:
            metrics.DELIVERY_ATTEMPTS.labels(delivery.channel, "held").inc()
            await self.queue.later(job, until)
            return
        sender = self.senders.get(delivery.channel)
        error: str | None = None
        permanent = gone = False
        try:
            if self.prepare is not None:
                delivery = await self.prepare(delivery)
            if sender is None:
                raise SendError(f"no sender for channel {delivery.channel!r}", permanent=True)
            await sender.send(delivery)
        except SendError as exc:
            error, permanent, gone = str(exc), exc.permanent, exc.gone
        except Exception as exc:
            log.exception("delivery %s: sender crashed", delivery.id)
            error = f"{type(exc).__name__}: {exc}"
        retry_at = None
        if (
            error is not None
            and not permanent
            and delivery.attempt < self.settings.delivery_max_attempts
        ):
            retry_at = now_ms() + int(backoff(self.settings, delivery.attempt) * 1000)
        await self.deliveries.finish(delivery, error=error, retry_at=retry_at)
        if gone and self.gone is not None:
            await self.gone(delivery)
        result = "sent" if error is None else ("retry" if retry_at is not None else "failed")
        metrics.DELIVERY_ATTEMPTS.labels(delivery.channel, result).inc()
        if error is None and delivery.due_at is not None:
            lag = max(0, now_ms() - delivery.due_at) / 1000
            metrics.DELIVERY_LAG.labels(delivery.channel).observe(lag)
        if error is not None:
            log.warning(
                "delivery %s (%s to vendor %s), attempt %d: %s%s",
                delivery.id,
                delivery.channel,
                delivery.vendor_id,
                delivery.attempt,
                error,
                "; retrying" if retry_at is not None else "; giving up",
            )
        if retry_at is not None:
            await self.queue.later(job, retry_at)
        else:
            await self.queue.done(job)
