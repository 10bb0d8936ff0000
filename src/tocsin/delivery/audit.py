"""The delivery audit: the whole story of one notification, for its vendor and for support.

What it tells: when the notification was created; how many tabs it reached
(streams it was written to and polls that returned it, summed over every
process, up to `TOCSIN_STREAM_TALLY_SECONDS` behind); when a tab showed it
(`seen_at`) and when the vendor read it; and every delivery on every channel
with its attempts and outcomes, including the ones skipped and why. The
`timeline` puts all of it in order.

Deliveries are read with every column the table has, so what a later
migration adds (a purpose, a hold) reaches the answer without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tocsin._ids import NOTIFICATION_ID
from tocsin.errors import NotFound
from tocsin.model import Notification, Row
from tocsin.storage.deliveries import PENDING, SENDING, SKIPPED
from tocsin.storage.stores import Stores


@dataclass(frozen=True, slots=True)
class Step:
    """One moment of the story: `what` happened `at` (ms), on `channel` for a delivery."""

    at: int
    what: str
    channel: str | None = None
    delivery_id: int | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    notification: Notification
    # `streams`, `polls`, `first_at`, `last_at`; None: no tab has been handed it (yet).
    streamed: Row | None
    # Oldest first, each with its `attempt_log` (oldest attempt first).
    deliveries: list[Row]
    timeline: list[Step]

    @property
    def tabs(self) -> int:
        if self.streamed is None:
            return 0
        return int(self.streamed["streams"]) + int(self.streamed["polls"])


def skip_reason(delivery: Row) -> str | None:
    """Why a delivery was settled without being sent; None if it was not."""
    return str(delivery["last_error"]) if delivery["status"] == SKIPPED else None


def _timeline(n: Notification, streamed: Row | None, deliveries: list[Row]) -> list[Step]:
    steps = [Step(n.created_at, "created")]
    if streamed is not None:
        streams, polls = int(streamed["streams"]), int(streamed["polls"])
        detail = f"{streams + polls} tabs: {streams} streams, {polls} polls"
        steps.append(Step(int(streamed["first_at"]), "streamed", "in_app", None, detail))
    for moment, what in ((n.seen_at, "seen"), (n.read_at, "read"), (n.archived_at, "archived")):
        if moment is not None:
            steps.append(Step(moment, what, "in_app"))
    for d in deliveries:
        channel, delivery_id = str(d["channel"]), int(d["id"])
        purpose = d.get("purpose")
        steps.append(
            Step(int(d["created_at"]), "queued", channel, delivery_id, purpose and str(purpose))
        )
        held = d.get("held_until")
        if held is not None:
            steps.append(Step(int(held), "held until", channel, delivery_id, "quiet hours"))
        for a in d["attempt_log"]:
            status = str(a["status"])
            at = a["finished_at"] if a["finished_at"] is not None else a["started_at"]
            steps.append(Step(int(at), status, channel, delivery_id, a["error"]))
        if d["status"] == PENDING:
            steps.append(Step(int(d["next_attempt_at"]), "due", channel, delivery_id))
        elif d["status"] == SENDING and not d["attempt_log"]:
            steps.append(Step(int(d["updated_at"]), SENDING, channel, delivery_id))
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
        return Story(n, streamed, deliveries, _timeline(n, streamed, deliveries))
