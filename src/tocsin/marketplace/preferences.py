"""Preferences: per vendor, notification type and channel, on or off.

Only a vendor's own choices are stored; everything else follows `DEFAULTS`,
which the event registry derives from each event type and channel. The wire
form, for `GET` and (partial) `PUT /api/v1/preferences`, is
`{"<type>": {"in_app": true, "email": false, "sms": false}, …}` for every
notification type that marketplace events create and every channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import RootModel, create_model

from tocsin.delivery.channels import NAMES
from tocsin.errors import ValidationFailed
from tocsin.fields import Strict
from tocsin.marketplace.registry import DEFAULTS

Prefs = dict[str, dict[str, bool]]

_FIELDS: dict[str, Any] = {name: (bool | None, None) for name in NAMES}
if TYPE_CHECKING:
    ChannelsPatch = Strict
else:
    # `{"<channel>": bool}`, every channel optional.
    ChannelsPatch = create_model("ChannelsPatch", __base__=Strict, **_FIELDS)


class PreferencesPatch(RootModel[dict[str, ChannelsPatch]]):
    pass


def merged(overrides: Mapping[tuple[str, str], bool]) -> Prefs:
    """The defaults with a vendor's `(type, channel) → enabled` choices applied."""
    prefs = {kind: dict(channels) for kind, channels in DEFAULTS.items()}
    for (kind, channel), enabled in overrides.items():
        if kind in prefs and channel in NAMES:
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
        for channel in NAMES:
            value = getattr(channels, channel)
            if value is not None:
                out.append((kind, channel, value))
    return out
