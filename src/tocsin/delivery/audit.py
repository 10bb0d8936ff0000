"""The delivery audit: the whole story of one notification, for its vendor and for support.

What it tells: when the notification was created; how many tabs it reached
(streams it was written to and polls that returned it, summed over every
process, up to `TOCSIN_STREAM_TALLY_SECONDS` behind); when a tab showed it
(`seen_at`) and when the vendor read it; every delivery on every channel with
its purpose (`instant`, the `grace` push, an `escalation`, a `digest`), its
quiet-hours hold (and its release, where the vendor changed its quiet hours
before they ended), its attempts and outcomes, including the ones skipped and
why (an escalation cancelled because a tab saw it); and the digests that
listed it. The `timeline` puts all of it in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tocsin._ids import NOTIFICATION_ID
from tocsin.errors import NotFound
from tocsin.model import Notification, Row
from tocsin.storage.deliveries import (
    CANCELLED,
    ESCALATION,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    SKIPPED,
    UNLESS_SEEN,
)
from tocsin.storage.stores import Stores

__all__ = ["DeliveryAudit", "Escalation", "Story", "skip_reason"]


@dataclass(frozen=True, slots=True)
class Step:
    """One moment of the story: `what` happened `at` (ms), on `channel` for a delivery."""

    at: int
    what: str
    channel: str | None = None
    delivery_id: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    """A push or SMS sent only while the notification stays unseen, and where it stands:
    `scheduled`, `firing`, `fired`, `cancelled` (seen or read first; the worker settles it
    as skipped when it falls due) or `failed`."""

    delivery_id: int
    channel: str
    state: str
    due_at: int
    settled_at: int | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Story:
    notification: Notification
    # `streams`, `polls`, `first_at`, `last_at`; None: no tab has been handed it (yet).
    streamed: Row | None
    # Oldest first, each with its `attempt_log` (oldest attempt first); digests that
    # list the notification included.
    deliveries: list[Row]
    # The digest items that list it, each with its digest's delivery id (`digest_id`).
    listings: list[Row]
    escalations: list[Escalation]
    timeline: list[Step]

    @property
    def tabs(self) -> int:
        if self.streamed is None:
            return 0
        return int(self.streamed["streams"]) + int(self.streamed["polls"])


def skip_reason(delivery: Row) -> str | None:
    """Why a delivery was settled without being sent; None if it was not."""
    return str(delivery["last_error"]) if delivery["status"] == SKIPPED else None


def _noticed(n: Notification) -> tuple[str, int] | None:
    """Why a delivery waiting to be seen is cancelled, and since when; None if it is not."""
    if n.read_at is not None:
        return CANCELLED["read"], n.read_at
    if n.seen_at is not None:
        return CANCELLED["seen"], n.seen_at
    return None


def _cancelled(n: Notification, d: Row) -> tuple[str, int] | None:
    """A pending delivery that waits to be seen, of a notification seen or read: cancelled
    from then on, though the worker settles it only when it falls due."""
    if d["status"] != PENDING or d["purpose"] not in UNLESS_SEEN:
        return None
    return _noticed(n)


def _escalation(n: Notification, d: Row) -> Escalation:
    status = str(d["status"])
    due = int(d["held_from"] or d["next_attempt_at"])
    cancelled = _cancelled(n, d)
    if cancelled is not None:
        return Escalation(int(d["id"]), d["channel"], "cancelled", due, cancelled[1], cancelled[0])
    state = _STATES.get(status, "firing")
    settled = None if state in ("scheduled", "firing") else int(d["updated_at"])
    reason = d["last_error"] if status in (SKIPPED, FAILED) else None
    return Escalation(int(d["id"]), d["channel"], state, due, settled, reason)


_STATES = {PENDING: "scheduled", SENT: "fired", SKIPPED: "cancelled", FAILED: "failed"}


def _delivery_steps(n: Notification, d: Row) -> list[Step]:
    channel, delivery_id = str(d["channel"]), int(d["id"])
    purpose = str(d["purpose"])
    escalation = purpose == ESCALATION
    queued = "escalation scheduled" if escalation else "queued"
    detail = purpose
    if purpose in UNLESS_SEEN:
        detail = f"{purpose}, due {_clock(int(d['held_from'] or d['next_attempt_at']))}"
    steps = [Step(int(d["created_at"]), queued, channel, delivery_id, detail)]
    held_from, held_until = d["held_from"], d["held_until"]
    if held_until is not None:
        # Planned a moment before its row was written: a hold never shows before its queueing.
        at = max(int(held_from if held_from is not None else 0), int(d["created_at"]))
        hold = f"quiet hours, until {_clock(int(held_until))}"
        steps.append(Step(at, "held", channel, delivery_id, hold))
        if d["released_at"] is not None:
            released = "the vendor changed its quiet hours: due from then"
            steps.append(Step(int(d["released_at"]), "released", channel, delivery_id, released))
    for a in d["attempt_log"]:
        status = str(a["status"])
        at = a["finished_at"] if a["finished_at"] is not None else a["started_at"]
        if escalation and status in (SENT, SKIPPED):
            status = "escalation fired" if status == SENT else "escalation cancelled"
        steps.append(Step(int(at), status, channel, delivery_id, a["error"]))
    cancelled = _cancelled(n, d)
    if cancelled is not None:
        what = "escalation cancelled" if escalation else SKIPPED
        reason = f"{cancelled[0]} (settled when due)"
        steps.append(Step(cancelled[1], what, channel, delivery_id, reason))
    elif d["status"] == PENDING:
        steps.append(Step(int(d["next_attempt_at"]), "due", channel, delivery_id))
    elif d["status"] == SENDING and not d["attempt_log"]:
        steps.append(Step(int(d["updated_at"]), SENDING, channel, delivery_id))
    return steps


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _timeline(
    n: Notification, streamed: Row | None, deliveries: list[Row], listings: list[Row]
) -> list[Step]:
    steps = [Step(n.created_at, "created")]
    if streamed is not None:
        streams, polls = int(streamed["streams"]), int(streamed["polls"])
        detail = f"{streams + polls} tabs: {streams} streams, {polls} polls"
        steps.append(Step(int(streamed["first_at"]), "streamed", "in_app", None, detail))
    for moment, what in ((n.seen_at, "seen"), (n.read_at, "read"), (n.archived_at, "archived")):
        if moment is not None:
            steps.append(Step(moment, what, "in_app"))
    for item in listings:
        digest_id = None if item["digest_id"] is None else int(item["digest_id"])
        steps.append(Step(int(item["created_at"]), "listed in digest", "email", digest_id))
    for d in deliveries:
        steps += _delivery_steps(n, d)
    # Stable: what happened at the same millisecond keeps the order it was added in.
    return sorted(steps, key=lambda s: s.at)


class DeliveryAudit:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    async def story(self, vendor_id: str, notification_id: str) -> Story:
        """The story of `vendor_id`'s notification; `NotFound` if it has none of that id."""
        n = None
        if NOTIFICATION_ID.match(notification_id):
            n = await self.stores.notifications.get(vendor_id, notification_id)
        if n is None:
            raise NotFound(f"no notification {notification_id!r}")
        streamed = await self.stores.streams.get(vendor_id, n.id)
        deliveries = await self.stores.deliveries.for_notification(vendor_id, n.id)
        listings = await self.stores.deliveries.listings(vendor_id, n.id)
        escalations = [_escalation(n, d) for d in deliveries if d["purpose"] == ESCALATION]
        timeline = _timeline(n, streamed, deliveries, listings)
        return Story(n, streamed, deliveries, listings, escalations, timeline)
