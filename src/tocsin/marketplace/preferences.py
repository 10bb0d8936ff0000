"""Preferences: per vendor and notification type, each channel on or off, the email's
mode and the escalation.

Only a vendor's own choices are stored; everything else follows `DEFAULTS`,
which the event registry derives from each event type and channel. The wire
form, for `GET` and (partial) `PUT /api/v1/preferences`, is, per notification type,
`{"in_app": true, "email": true, "sms": false, "push": true, "email_mode": "instant",
"escalate": {"push_after_s": 60, "sms_after_s": 900}}`.

How the parts combine, per notification (see docs/events.md):
- `in_app`: the notification itself (and the stream event). Without it nothing can be
  seen, so nothing escalates.
- `email` with `email_mode` `instant`: one email at once; `hourly` or `daily`: a line
  in the vendor's next digest instead (daily at the vendor-local `digest_hour`).
- `sms`: an SMS at once.
- `push` without an escalation: a push once unseen for `TOCSIN_PUSH_GRACE_SECONDS`.
- `escalate` (`null`: never): unseen for `push_after_s` → a push to every subscribed
  browser, still unseen at `sms_after_s` → an SMS, both counted from the notification's
  creation and both cancelled once it is seen or read. The escalation's push replaces
  the grace push, and goes whether `push` is on or off; its SMS is left out when `sms`
  is on (that one went at once), and goes whether `sms` is off or not otherwise.
- Quiet hours (the vendor's settings) hold email, SMS and push until they end, except
  for notifications of priority `urgent`; in-app is always live.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, RootModel, create_model

from tocsin.delivery.channels import NAMES
from tocsin.errors import ValidationFailed
from tocsin.fields import Strict
from tocsin.marketplace.registry import DEFAULTS, EMAIL_MODES, Escalation

Prefs = dict[str, dict[str, Any]]
# The options beyond channels, stored as JSON in `preference_options`.
OPTIONS = ("email_mode", "escalate")
# The longest escalation delay: a week (s).
MAX_DELAY_S = 7 * 24 * 3600


class EscalateIn(Strict):
    """Whole seconds from the notification's creation; null leaves that step out."""

    push_after_s: int | None = Field(default=None, ge=1, le=MAX_DELAY_S)
    sms_after_s: int | None = Field(default=None, ge=1, le=MAX_DELAY_S)


_FIELDS: dict[str, Any] = {name: (bool | None, None) for name in NAMES}
_FIELDS["email_mode"] = (Literal["instant", "hourly", "daily"] | None, None)
_FIELDS["escalate"] = (EscalateIn | None, None)
if TYPE_CHECKING:
    ChannelsPatch = Strict
else:
    # `{"<channel>": bool, "email_mode": …, "escalate": …}`, every field optional.
    ChannelsPatch = create_model("ChannelsPatch", __base__=Strict, **_FIELDS)


class PreferencesPatch(RootModel[dict[str, ChannelsPatch]]):
    pass


def merged(
    overrides: Mapping[tuple[str, str], bool],
    options: Mapping[tuple[str, str], Any] | None = None,
) -> Prefs:
    """The defaults with a vendor's `(type, channel) → enabled` and `(type, option) → value`
    choices applied."""
    prefs = {kind: dict(values) for kind, values in DEFAULTS.items()}
    for (kind, channel), enabled in overrides.items():
        if kind in prefs and channel in NAMES:
            prefs[kind][channel] = enabled
    for (kind, option), value in (options or {}).items():
        if kind in prefs and option in OPTIONS:
            prefs[kind][option] = value
    return prefs


def escalation(prefs: Mapping[str, Any]) -> Escalation | None:
    """One type's escalation (from its wire form), None if it has none."""
    value = prefs.get("escalate")
    if not value or (value.get("push_after_s") is None and value.get("sms_after_s") is None):
        return None
    return Escalation(value.get("push_after_s"), value.get("sms_after_s"))


def email_mode(prefs: Mapping[str, Any]) -> str:
    mode = prefs.get("email_mode", "instant")
    return mode if mode in EMAIL_MODES else "instant"


Changes = tuple[list[tuple[str, str, bool]], list[tuple[str, str, str]]]


def changes(patch: PreferencesPatch) -> Changes:
    """What a partial update sets: `(type, channel, enabled)` and `(type, option, JSON)`;
    422 on unknown types."""
    unknown = [kind for kind in patch.root if kind not in DEFAULTS]
    if unknown:
        known = ", ".join(DEFAULTS)
        raise ValidationFailed(
            f"unknown notification type {unknown[0]!r}; known types: {known}",
            errors=[{"field": kind, "message": f"must be one of: {known}"} for kind in unknown],
        )
    flags: list[tuple[str, str, bool]] = []
    options: list[tuple[str, str, str]] = []
    for kind, values in patch.root.items():
        for channel in NAMES:
            value = getattr(values, channel)
            if value is not None:
                flags.append((kind, channel, value))
        if values.email_mode is not None:  # type: ignore[attr-defined]
            options.append((kind, "email_mode", json.dumps(values.email_mode)))  # type: ignore[attr-defined]
        if "escalate" in values.model_fields_set:
            escalate = values.escalate  # type: ignore[attr-defined]
            wire = None if escalate is None else escalate.model_dump()
            if wire is not None and wire["push_after_s"] is None and wire["sms_after_s"] is None:
                wire = None
            options.append((kind, "escalate", json.dumps(wire)))
    return flags, options
