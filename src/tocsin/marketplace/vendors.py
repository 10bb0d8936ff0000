"""What a vendor set up for the marketplace's notifications: channel preferences, contact."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.marketplace.preferences import PreferencesPatch, Prefs, changes, merged
from tocsin.storage.stores import Stores


@dataclass(frozen=True, slots=True)
class Contact:
    vendor_id: str
    email: str | None
    phone: str | None


class PreferenceService:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    async def get(self, vendor_id: str) -> Prefs:
        """Every notification type's channels: the defaults with the vendor's choices applied."""
        stored = await self.stores.preferences.get([vendor_id])
        return merged(stored[vendor_id])

    async def patch(self, vendor_id: str, patch: PreferencesPatch) -> Prefs:
        """Apply a partial update (422 on unknown types); the preferences after it."""
        await self.stores.preferences.set(vendor_id, changes(patch))
        return await self.get(vendor_id)


class ContactService:
    def __init__(self, stores: Stores) -> None:
        self.stores = stores

    async def set(self, vendor_id: str, email: str | None, phone: str | None) -> Contact:
        """Replace the vendor's addresses (`None` removes one)."""
        await self.stores.vendors.set_contact(vendor_id, email, phone)
        return Contact(vendor_id, email, phone)

    async def get(self, vendor_id: str) -> Contact:
        email, phone = (await self.stores.vendors.contacts([vendor_id])).get(
            vendor_id, (None, None)
        )
        return Contact(vendor_id, email, phone)
