"""Preferences: per vendor, notification type and channel, on or off.

Only a vendor's own choices are stored; everything else follows `DEFAULTS`.
The wire form, for `GET` and (partial) `PUT /api/v1/preferences`, is
`{"<type>": {"in_app": true, "email": false, "sms": false}, …}` for every
notification type that marketplace events create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pydantic import RootModel

from tocsin.errors import ValidationFailed
from tocsin.fields import Strict
from tocsin.marketplace.rules import NOTIFICATION_TYPES

IN_APP: Final = "in_app"
EMAIL: Final = "email"
SMS: Final = "sms"
CHANNELS: Final = (IN_APP, EMAIL, SMS)

Prefs = dict[str, dict[str, bool]]


def _on(*channels: str) -> dict[str, bool]:
    return {channel: channel in channels for channel in CHANNELS}


# What a vendor gets until it says otherwise: everything in the app; mail for
# what needs acting on; SMS only when money is at stake right now.
DEFAULTS: Final[Mapping[str, Mapping[str, bool]]] = {
    "order_created": _on(IN_APP, EMAIL),
    "order_status_changed": _on(IN_APP),
    "order_cancelled": _on(IN_APP, EMAIL),
    "payment_received": _on(IN_APP),
    "payment_failed": _on(IN_APP, EMAIL, SMS),
    "refund_requested": _on(IN_APP, EMAIL),
    "payout_sent": _on(IN_APP, EMAIL),
    "review_created": _on(IN_APP),
    "stock_low": _on(IN_APP, EMAIL),
    "message_received": _on(IN_APP, EMAIL),
}
assert set(DEFAULTS) == set(NOTIFICATION_TYPES)


class ChannelsPatch(Strict):
    in_app: bool | None = None
    email: bool | None = None
    sms: bool | None = None


class PreferencesPatch(RootModel[dict[str, ChannelsPatch]]):
    pass


def merged(overrides: Mapping[tuple[str, str], bool]) -> Prefs:
    """The defaults with a vendor's `(type, channel) → enabled` choices applied."""
    prefs = {kind: dict(channels) for kind, channels in DEFAULTS.items()}
    for (kind, channel), enabled in overrides.items():
        if kind in prefs and channel in CHANNELS:
            prefs[kind][channel] = enabled
    return prefs


def changes(patch: PreferencesPatch) -> list[tuple[str, str, bool]]:
    """`(type, channel, enabled)` for every value a partial update sets; 422 on unknown types."""
    unknown = [kind for kind in patch.root if kind not in DEFAULTS]
    if unknown:
        known = ", ".join(DEFAULTS)
        raise ValidationFailed(
            f"unknown notification type {unknown[0]!r}; known types: {known}",
            errors=[{"field": kind, "message": f"must be one of: {known}"} for kind in unknown],
        )
    out = []
    for kind, channels in patch.root.items():
        for channel in CHANNELS:
            value = getattr(channels, channel)
            if value is not None:
                out.append((kind, channel, value))
    return out
