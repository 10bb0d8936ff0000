"""Vendors' Web Push subscriptions: one per browser (device), at most `MAX_PER_VENDOR`.

The body of `POST /api/v1/push/subscriptions` is the browser's
`PushSubscription.toJSON()`: `{endpoint, expirationTime, keys: {p256dh, auth}}`
(and an optional `device` label). Its endpoint must pass the SSRF guard
(`tocsin.delivery._endpoints`); its keys must be a P-256 point and a 16-byte
secret (RFC 8291 §3). The same endpoint again renews the subscription; beyond
`MAX_PER_VENDOR` the least recently renewed is dropped, as a vendor's
replaced phones and cleared browsers never unsubscribe.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated

from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tocsin.delivery import Delivery, _endpoints
from tocsin.errors import NotFound, ValidationFailed
from tocsin.fields import Text
from tocsin.settings import Settings
from tocsin.storage.push_subscriptions import PushSubscriptionStore
from tocsin.storage.push_subscriptions import Subscription as Subscription

MAX_PER_VENDOR = 20


class Keys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    auth: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class SubscriptionIn(BaseModel):
    """A browser's `PushSubscription` as JSON, and what to call the device."""

    # Browsers may add members to PushSubscriptionJSON; they are not ours to refuse.
    model_config = ConfigDict(extra="ignore")

    endpoint: Annotated[str, StringConstraints(min_length=1, max_length=_endpoints.MAX_LENGTH)]
    expirationTime: float | None = None
    keys: Keys
    device: Annotated[Text, StringConstraints(max_length=200)] | None = Field(default=None)


def _unb64(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return b""


def _check_keys(keys: Keys) -> None:
    errors = []
    point = _unb64(keys.p256dh)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        usable = len(point) == 65
    except ValueError:
        usable = False
    if not usable:
        errors.append({"field": "keys.p256dh", "message": "must be a P-256 public key"})
    if len(_unb64(keys.auth)) != 16:
        errors.append({"field": "keys.auth", "message": "must be 16 bytes, base64url"})
    if errors:
        raise ValidationFailed(
            "invalid fields: " + ", ".join(e["field"] for e in errors), errors=errors
        )


class PushSubscriptions:
    def __init__(self, settings: Settings, store: PushSubscriptionStore) -> None:
        self.settings = settings
        self.store = store

    @property
    def public_key(self) -> str:
        return self.settings.vapid_public_key

    async def subscribe(self, vendor_id: str, body: SubscriptionIn) -> Subscription:
        if not self.settings.push:
            raise NotFound("Web Push is not configured on this server (no VAPID keys)")
        try:
            await _endpoints.resolve(body.endpoint, self.settings.push_allow_hosts)
        except (_endpoints.Refused, LookupError) as exc:
            message = f"the push endpoint {exc}"
            raise ValidationFailed(
                message, errors=[{"field": "endpoint", "message": str(exc)}]
            ) from None
        _check_keys(body.keys)
        return await self.store.save(
            vendor_id,
            body.endpoint,
            body.keys.p256dh,
            body.keys.auth,
            body.device,
            keep=MAX_PER_VENDOR,
        )

    async def for_vendors(self, vendor_ids: Sequence[str]) -> dict[str, list[Subscription]]:
        if not self.settings.push:
            return {v: [] for v in vendor_ids}
        return await self.store.for_vendors(vendor_ids)

    async def list(self, vendor_id: str) -> list[Subscription]:
        return await self.store.of_vendor(vendor_id)

    async def unsubscribe(self, vendor_id: str, subscription_id: str) -> None:
        if not subscription_id.isdigit() or not await self.store.delete(
            vendor_id, int(subscription_id)
        ):
            raise NotFound(f"no push subscription {subscription_id!r}")

    async def gone(self, delivery: Delivery) -> None:
        """The push service said the subscription `delivery` went to no longer exists."""
        if delivery.recipient.isdigit():
            await self.store.delete(delivery.vendor_id, int(delivery.recipient))

    async def exists(self, delivery: Delivery) -> bool:
        return delivery.recipient.isdigit() and await self.store.exists(int(delivery.recipient))
