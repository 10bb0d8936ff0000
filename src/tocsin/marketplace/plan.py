"""Which deliveries a notification gets, and when: the vendor's preferences on its clock.

Called inside the transaction that creates the notification (an event's or a
publisher's own), so the notification and its deliveries commit together.
Per queued channel (see `tocsin.marketplace.preferences` for the rules):

- `instant` at once, where the channel is on (email in `instant` mode, SMS);
- `grace`: a channel that waits to be seen (push) once unseen for the grace;
- `escalation`: the type's `escalate` step for the channel (push, SMS), counted from
  the notification's creation, where the channel did not go at once;
- email in `hourly`/`daily` mode: a `digest_items` row in the digest of its period
  (`digest:<vendor>:<period end ms>`), made on its first item.

Quiet hours are applied here: a delivery due inside them is due at their end
instead (`held_from`, `held_until`), unless the notification is `urgent`; a
digest is never urgent. The worker looks again when it claims one
(`Pipeline.hold`): a vendor who set quiet hours after a delivery was planned
gets it at their end too. One planned inside quiet hours that the vendor has
since removed or changed is due again from the change (see
`tocsin.marketplace.vendors`), and held again at its claim if the new ones
cover that moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tocsin._ids import now_ms
from tocsin.delivery import Rendered, channels
from tocsin.delivery.channels import EMAIL, Channel
from tocsin.delivery.clock import hold, period_end
from tocsin.delivery.subscriptions import PushSubscriptions
from tocsin.marketplace.preferences import Prefs, email_mode, escalation, merged
from tocsin.model import VendorSettings
from tocsin.settings import Settings
from tocsin.storage.deliveries import (
    DIGEST,
    ESCALATION,
    GRACE,
    INSTANT,
    DigestItem,
    NewDelivery,
)
from tocsin.storage.push_subscriptions import Subscription
from tocsin.storage.stores import Stores

# A digest that has left takes no more items: the next period's does. Beyond this
# many closed periods in a row something is wrong; the item goes by itself instead.
_MAX_PERIODS = 4


@dataclass(frozen=True, slots=True)
class Audience:
    """What planning needs to know of one vendor, read before the transaction."""

    prefs: Prefs
    settings: VendorSettings
    contact: dict[str, str | None]
    devices: list[Subscription] = field(default_factory=list)

    @property
    def clock(self) -> tuple[str, str]:
        """`(locale, timezone)`: the language and clock its messages are written in."""
        return self.settings.locale, self.settings.timezone

    def wants(self, kind: str) -> dict[str, Any]:
        """The preferences of `kind`; a type no event makes (a publisher's own) gets
        each channel's default, its email at once and no escalation."""
        found = self.prefs.get(kind)
        if found is not None:
            return found
        return {
            **{c.name: c.default for c in channels.CHANNELS},
            "email_mode": "instant",
            "escalate": None,
        }


@dataclass(frozen=True, slots=True)
class Subject:
    """The notification to plan for."""

    vendor_id: str
    type: str
    priority: str
    # None: in-app is off for it, so it cannot be seen and nothing escalates.
    notification_id: str | None
    # Deliveries are keyed `<key>:<channel>` (and `:<subscription id>` for a device).
    key: str
    event_id: str | None
    # The notification's text, rendered when a channel first needs it: most
    # notifications have no address or device to go to, and rendering is a good
    # part of a publish's CPU.
    render: Callable[[], Rendered]
    title: str
    link: str | None


class Planner:
    def __init__(self, settings: Settings, stores: Stores, push: PushSubscriptions) -> None:
        self.settings = settings
        self.stores = stores
        self.push = push

    @property
    def channels(self) -> list[Channel[Any]]:
        return [c for c in channels.QUEUED if c.configured(self.settings)]

    async def audiences(
        self, vendor_ids: Sequence[str], *, in_app: bool = True
    ) -> dict[str, Audience]:
        """Preferences, settings, contacts and devices of `vendor_ids`, in a few queries.

        `in_app=False` (a publisher's own notification, made whatever `in_app` says):
        a vendor with no address and no device can be sent nothing, so its stored
        preferences are not read (the publish path stays one query longer, not four).
        """
        profiles = await self.stores.vendors.profiles(vendor_ids)
        devices = (
            await self.push.for_vendors(vendor_ids) if any(c.devices for c in self.channels) else {}
        )
        reachable = [v for v in vendor_ids if in_app or any(profiles[v][0]) or devices.get(v)]
        stored = await self.stores.preferences.get(reachable) if reachable else {}
        options = await self.stores.preferences.options(reachable) if reachable else {}
        out = {}
        for v in vendor_ids:
            (email, phone), settings = profiles[v]
            out[v] = Audience(
                prefs=merged(stored.get(v, {}), options.get(v, {})),
                settings=settings,
                contact={"email": email, "phone": phone},
                devices=devices.get(v, []),
            )
        return out

    def _timed(self, due: int, audience: Audience, priority: str | None) -> dict[str, int | None]:
        held = hold(due, audience.settings, priority)
        if held is None:
            return {"due_at": due, "held_from": None, "held_until": None}
        return {"due_at": held, "held_from": due, "held_until": held}

    async def plan(self, subject: Subject, audience: Audience) -> list[int]:
        """Add the deliveries of `subject` (inside the caller's transaction); their ids."""
        now = now_ms()
        wants = audience.wants(subject.type)
        escalate = escalation(wants) if subject.notification_id is not None else None
        steps = {} if escalate is None else escalate.steps()
        grace_ms = int(self.settings.push_grace_seconds * 1000)
        added: list[int] = []
        for channel in self.channels:
            on = bool(wants.get(channel.name))
            step = steps.get(channel.name)
            if channel.unless_seen:
                # It waits to be seen anyway: the escalation's delay, else the grace.
                if step is not None:
                    purpose, due = ESCALATION, now + step * 1000
                elif on:
                    purpose, due = GRACE, now + grace_ms
                else:
                    continue
            elif on:
                purpose, due = INSTANT, now
            elif step is not None:
                purpose, due = ESCALATION, now + step * 1000
            else:
                continue
            if channel is EMAIL and purpose == INSTANT:
                mode = email_mode(wants)
                if mode != "instant":
                    made = await self._digest(subject, audience, mode, now)
                    if made is not None:
                        added.extend(made)
                        continue
            added.extend(await self._add(channel, subject, audience, purpose, due))
        return added

    async def _add(
        self, channel: Channel[Any], subject: Subject, audience: Audience, purpose: str, due: int
    ) -> list[int]:
        key = f"{subject.key}:{channel.name}"
        targets: list[tuple[str, str, dict[str, str]]] = []
        if channel.devices:
            targets = [
                (
                    f"{key}:{s.id}",
                    str(s.id),
                    {"endpoint": s.endpoint, "p256dh": s.p256dh, "auth": s.auth},
                )
                for s in audience.devices
            ]
        elif channel.contact and audience.contact.get(channel.contact.field):
            targets = [(key, str(audience.contact[channel.contact.field]), {})]
        if not targets:
            return []
        message: dict[str, str] = channel.build(subject.render()).to_json()
        # Kept with every message: the push's urgency, and the quiet-hours check at claim.
        message["priority"] = subject.priority
        out = []
        for delivery_key, address, extra in targets:
            delivery_id = await self.stores.deliveries.add(
                NewDelivery(
                    key=delivery_key,
                    vendor_id=subject.vendor_id,
                    event_id=subject.event_id,
                    notification_id=subject.notification_id,
                    type=subject.type,
                    channel=channel.name,
                    recipient=address,
                    message={**message, **extra},
                    purpose=purpose,
                    **self._timed(due, audience, subject.priority),
                )
            )
            if delivery_id is not None:
                out.append(delivery_id)
        return out

    async def _digest(
        self, subject: Subject, audience: Audience, mode: str, now: int
    ) -> list[int] | None:
        """List `subject` in the digest of its period (ids of digests made now); None if
        it cannot be (no address, or no open digest): then it goes by itself."""
        address = audience.contact.get("email")
        if not address:
            return []
        item = DigestItem(
            key=f"{subject.key}:email",
            vendor_id=subject.vendor_id,
            notification_id=subject.notification_id,
            type=subject.type,
            line=subject.title,
            link=subject.link,
        )
        end = period_end(now, mode, audience.settings)
        for _ in range(_MAX_PERIODS):
            digest_key = f"digest:{subject.vendor_id}:{end}"
            made, open_ = await self.stores.deliveries.open_digest(
                NewDelivery(
                    key=digest_key,
                    vendor_id=subject.vendor_id,
                    event_id=None,
                    notification_id=None,
                    type="digest",
                    channel=EMAIL.name,
                    recipient=address,
                    message={},
                    purpose=DIGEST,
                    **self._timed(end, audience, None),
                )
            )
            if open_:
                await self.stores.deliveries.add_digest_item(digest_key, item)
                return [] if made is None else [made]
            end = period_end(end, mode, audience.settings)
        return None
