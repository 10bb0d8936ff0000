"""The delivery channels, one entry each; all else about a channel derives from here.

A `Channel` says what a vendor gets until it chooses otherwise (`default`,
which an event type may override), which template blocks of `<type>.txt` it
renders (and whether the `<type>.html` part), the typed message it builds from
them, the vendor contact detail it sends to, and how to make its sender. The
preferences (wire form, defaults, validation), the blocks every template must
have, the contact body of `PUT /api/v1/vendors/{vendor_id}/contact`, the
deliveries' `channel` filter and the worker's senders all come from `CHANNELS`.

In-app has no sender: it is the notification itself, created by ingest.
Push sends to the vendor's browsers (`devices`), not to a contact detail, and
waits for a live tab to see the notification first (`unless_seen`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import create_model

from tocsin.delivery import Message, Rendered, Sender, email, in_app, push, sms
from tocsin.fields import Strict
from tocsin.settings import Settings

M = TypeVar("M", bound=Message)


@dataclass(frozen=True, slots=True)
class Contact:
    """A vendor contact detail: its field in the contact body and its pydantic type."""

    field: str
    type: Any


def _always(settings: Settings) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Channel(Generic[M]):
    name: str
    # The column heading in the dashboard's preferences.
    label: str
    # On for every notification type whose event type does not say otherwise.
    default: bool
    blocks: tuple[str, ...]
    build: Callable[[Rendered], M]
    html: bool = False
    contact: Contact | None = None
    sender: Callable[[Settings], Sender] | None = None
    # False: nothing is queued for this channel (e.g. no SMTP host).
    configured: Callable[[Settings], bool] = _always
    # Sends to the vendor's push subscriptions, one delivery each, instead of a contact.
    devices: bool = False
    # Due `TOCSIN_PUSH_GRACE_SECONDS` after the notification, and skipped if it was
    # seen or read by then.
    unless_seen: bool = False


IN_APP = Channel("in_app", "In the dashboard", True, in_app.BLOCKS, in_app.build)
EMAIL = Channel(
    "email",
    "Email",
    False,
    email.BLOCKS,
    email.build,
    html=True,
    contact=Contact("email", email.Address),
    sender=email.EmailSender,
    configured=email.configured,
)
SMS = Channel(
    "sms",
    "SMS",
    False,
    sms.BLOCKS,
    sms.build,
    contact=Contact("phone", sms.Phone),
    sender=sms.provider,
)

PUSH = Channel(
    "push",
    "Push",
    False,
    push.BLOCKS,
    push.build,
    sender=push.PushSender,
    configured=push.configured,
    devices=True,
    unless_seen=True,
)

CHANNELS: tuple[Channel[Any], ...] = (IN_APP, EMAIL, SMS, PUSH)
BY_NAME: Mapping[str, Channel[Any]] = {c.name: c for c in CHANNELS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
# The channels that go through the delivery queue, in order.
QUEUED: tuple[Channel[Any], ...] = tuple(c for c in CHANNELS if c.sender is not None)
# Every block a notification's `<type>.txt` must define, in order.
BLOCKS: tuple[str, ...] = tuple(dict.fromkeys(b for c in CHANNELS for b in c.blocks))
# Whether a notification type also has a `<type>.html` template.
HTML: bool = any(c.html for c in CHANNELS)


def senders(settings: Settings) -> dict[str, Sender]:
    """A sender per queued channel that `settings` configure."""
    return {
        c.name: c.sender(settings)
        for c in QUEUED
        if c.sender is not None and c.configured(settings)
    }


# The body of `PUT /api/v1/vendors/{vendor_id}/contact`: one optional field per contact.
_CONTACT: dict[str, Any] = {
    c.contact.field: (c.contact.type | None, None) for c in CHANNELS if c.contact
}
ContactIn: type[Strict] = create_model("ContactIn", __base__=Strict, **_CONTACT)
