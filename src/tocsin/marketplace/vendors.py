"""What a vendor set up for the marketplace's notifications: preferences, contact, settings.

Settings (`GET`/`PUT /api/v1/settings`, the vendor's own; partial `PUT`):
`{"locale": "ka", "timezone": "Asia/Tbilisi", "quiet_hours": {"start": "22:00",
"end": "07:00"}, "digest_hour": 8}`. The publisher's contact body sets
`locale` and `timezone` too.

A change that moves the quiet hours (other times, none, or the same times on
another clock) releases what the old ones held, in the transaction of the
change, and tells the workers once it is committed: a vendor who turns them
off expects the held email, SMS and push to go now, not at the old end. The
worker's claim holds one again if the new ones cover that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydantic import Field, model_validator
from pydantic import create_model as _create_model

from tocsin._ids import now_ms
from tocsin.delivery.channels import ContactIn
from tocsin.delivery.queue import Queue, announce
from tocsin.fields import ClockTime, Locale, Strict, TimeZone
from tocsin.marketplace.preferences import PreferencesPatch, Prefs, changes, merged
from tocsin.model import VendorSettings
from tocsin.storage.stores import Stores


class QuietHours(Strict):
    """Vendor-local wall-clock times; `start` after `end` spans midnight."""

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


class SettingsPatch(Strict):
    """The body of `PUT /api/v1/settings`: every field optional, `quiet_hours` may be null."""

    locale: Locale = "en"
    timezone: TimeZone = "UTC"
    quiet_hours: QuietHours | None = None
    digest_hour: int = Field(default=8, ge=0, le=23)


# `PUT /api/v1/vendors/{vendor_id}/contact`: the channels' contact fields, and the
# vendor's language and clock (absent: unchanged; null: back to the default).
ContactBody: type[Strict] = _create_model(
    "ContactBody",
    __base__=ContactIn,
    locale=(Locale | None, None),
    timezone=(TimeZone | None, None),
)


def settings_wire(s: VendorSettings) -> dict[str, Any]:
    quiet = None if s.quiet_hours is None else {"start": s.quiet_hours[0], "end": s.quiet_hours[1]}
    return {
        "locale": s.locale,
        "timezone": s.timezone,
        "quiet_hours": quiet,
        "digest_hour": s.digest_hour,
    }


def _columns(s: VendorSettings, fields: set[str]) -> dict[str, Any]:
    """The `vendors` columns of the `fields` of `s`."""
    out: dict[str, Any] = {}
    if "locale" in fields:
        out["locale"] = s.locale
    if "timezone" in fields:
        out["timezone"] = s.timezone
    if "quiet_hours" in fields:
        start, end = s.quiet_hours or (None, None)
        out["quiet_start"], out["quiet_end"] = start, end
    if "digest_hour" in fields:
        out["digest_hour"] = s.digest_hour
    return out


# The columns that say which moments the vendor's quiet hours cover.
_QUIET_COLUMNS = {"quiet_start", "quiet_end", "timezone"}


async def _set_settings(stores: Stores, vendor_id: str, columns: dict[str, Any]) -> list[int]:
    """Set the vendor's setting `columns` (inside the caller's transaction); the ids of
    the deliveries released from a hold because the quiet hours moved, for the queue
    once committed."""
    touched = bool(_QUIET_COLUMNS & set(columns))
    before = (await stores.vendors.settings([vendor_id]))[vendor_id] if touched else None
    await stores.vendors.set_settings(vendor_id, columns)
    if before is None:
        return []
    after = (await stores.vendors.settings([vendor_id]))[vendor_id]
    if (before.quiet_hours, before.timezone) == (after.quiet_hours, after.timezone):
        return []
    return await stores.deliveries.release(vendor_id, now_ms())


@dataclass(frozen=True, slots=True)
class Contact:
    vendor_id: str
    email: str | None
    phone: str | None
    locale: str = "en"
    timezone: str = "UTC"

    def to_wire(self) -> dict[str, Any]:
        return {
            "vendor_id": self.vendor_id,
            "email": self.email,
            "phone": self.phone,
            "locale": self.locale,
            "timezone": self.timezone,
        }


class PreferenceService:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    async def get(self, vendor_id: str) -> Prefs:
        """Every notification type's channels: the defaults with the vendor's choices applied."""
        stored = await self.stores.preferences.get([vendor_id])
        options = await self.stores.preferences.options([vendor_id])
        return merged(stored[vendor_id], options[vendor_id])

    async def patch(self, vendor_id: str, patch: PreferencesPatch) -> Prefs:
        """Apply a partial update (422 on unknown types); the preferences after it."""
        flags, options = changes(patch)
        await self.stores.preferences.set(vendor_id, flags, options)
        return await self.get(vendor_id)


class SettingsService:
    def __init__(self, stores: Stores, queue: Queue) -> None:
        self.stores = stores
        self.queue = queue

    async def get_settings(self, vendor_id: str) -> VendorSettings:
        return (await self.stores.vendors.settings([vendor_id]))[vendor_id]

    async def update_settings(self, vendor_id: str, patch: SettingsPatch) -> VendorSettings:
        """Set the fields `patch` names (`quiet_hours: null` turns them off); the result.

        Moving the quiet hours releases what they held (see the module's docstring).
        """
        fields = set(patch.model_fields_set)
        quiet = patch.quiet_hours
        wanted = VendorSettings(
            locale=patch.locale,
            timezone=patch.timezone,
            quiet_hours=None if quiet is None else (quiet.start, quiet.end),
            digest_hour=patch.digest_hour,
        )
        async with self.stores.transaction():
            released = await _set_settings(self.stores, vendor_id, _columns(wanted, fields))
        await announce(self.queue, released)
        return await self.get_settings(vendor_id)


class ContactService:
    def __init__(self, stores: Stores, queue: Queue) -> None:
        self.stores = stores
        self.queue = queue

    async def set(self, vendor_id: str, body: Strict) -> Contact:
        """Replace the vendor's addresses (`None` removes one); set `locale`/`timezone` if
        given (another clock for its quiet hours releases what they held)."""
        values = body.model_dump()
        async with self.stores.transaction():
            await self.stores.vendors.set_contact(vendor_id, values["email"], values["phone"])
            given: set[str] = {f for f in ("locale", "timezone") if f in body.model_fields_set}
            default = VendorSettings()
            chosen = replace(
                default,
                locale=values["locale"] or default.locale,
                timezone=values["timezone"] or default.timezone,
            )
            columns = _columns(chosen, given)
            # null: back to the default, stored as NULL.
            for name in given:
                if values[name] is None:
                    columns[name] = None
            released = await _set_settings(self.stores, vendor_id, columns)
        await announce(self.queue, released)
        return await self.get(vendor_id)

    async def get(self, vendor_id: str) -> Contact:
        email, phone = (await self.stores.vendors.contacts([vendor_id])).get(
            vendor_id, (None, None)
        )
        s = (await self.stores.vendors.settings([vendor_id]))[vendor_id]
        return Contact(vendor_id, email, phone, s.locale, s.timezone)
