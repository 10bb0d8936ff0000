"""The delivery audit: the whole story of one notification, for its vendor and for support.

What it tells: when the notification was created; how many tabs it reached
(streams it was written to and polls that returned it, summed over every
process, up to `TOCSIN_STREAM_TALLY_SECONDS` behind); when a tab showed it
(`seen_at`) and when the vendor read it; every delivery on every channel with
its purpose (`instant`, the `grace` push, an `escalation`, a `digest`), its
quiet-hours hold, its attempts and outcomes, including the ones skipped and
why (an escalation cancelled because a tab saw it); and the digests that
listed it. The `timeline` puts all of it in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tocsin._ids import NOTIFICATION_ID
from tocsin.errors import NotFound
from tocsin.model import Notification, Row
from tocsin.storage.deliveries import FAILED, PENDING, SENDING, SENT, SKIPPED
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
    # Oldest first, each with its `attempt_log` (oldest attempt first); digests that
    # list the notification included.
    deliveries: list[Row]
    # The digest items that list it, each with its digest's delivery id (`digest_id`).
    listings: list[Row]
    timeline: list[Step]

    @property
    def tabs(self) -> int:
        if self.streamed is None:
            return 0
        return int(self.streamed["streams"]) + int(self.streamed["polls"])


ESCALATION = "escalation"
DIGEST = "digest"


def skip_reason(delivery: Row) -> str | None:
    """Why a delivery was settled without being sent; None if it was not."""
    return str(delivery["last_error"]) if delivery["status"] == SKIPPED else None


def escalation_state(delivery: Row) -> str:
    """An escalation's state: `scheduled` (waiting), `fired` (sent), `cancelled` (seen or
    read first), `failed`, or `firing` (being sent now)."""
    status = delivery["status"]
    return {PENDING: "scheduled", SENT: "fired", SKIPPED: "cancelled", FAILED: "failed"}.get(
        status, "firing"
    )


def _delivery_steps(d: Row) -> list[Step]:
    channel, delivery_id = str(d["channel"]), int(d["id"])
    purpose = d.get("purpose")
    escalation = purpose == ESCALATION
    queued = "escalation scheduled" if escalation else "queued"
    detail = None if purpose is None else str(purpose)
    if escalation or purpose == "grace":
        detail = f"{purpose}, due {_clock(int(d.get('held_from') or d['next_attempt_at']))}"
    steps = [Step(int(d["created_at"]), queued, channel, delivery_id, detail)]
    held_from, held_until = d.get("held_from"), d.get("held_until")
    if held_until is not None:
        at = int(held_from if held_from is not None else d["created_at"])
        hold = f"quiet hours, until {_clock(int(held_until))}"
        steps.append(Step(at, "held", channel, delivery_id, hold))
    for a in d["attempt_log"]:
        status = str(a["status"])
        at = a["finished_at"] if a["finished_at"] is not None else a["started_at"]
        if escalation and status in (SENT, SKIPPED):
            status = "escalation fired" if status == SENT else "escalation cancelled"
        steps.append(Step(int(at), status, channel, delivery_id, a["error"]))
    if d["status"] == PENDING:
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
        steps += _delivery_steps(d)
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
        timeline = _timeline(n, streamed, deliveries, listings)
        return Story(n, streamed, deliveries, listings, timeline)
