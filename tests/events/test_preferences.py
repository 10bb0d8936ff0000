"""`GET`/`PUT /api/v1/preferences` and contacts: defaults, partial updates, validation."""

from __future__ import annotations

import httpx

from tests.events.conftest import Api

TYPES = {
    "order_created",
    "order_status_changed",
    "order_cancelled",
    "payment_received",
    "payment_failed",
    "refund_requested",
    "payout_sent",
    "review_created",
    "stock_low",
    "message_received",
}


async def test_defaults_cover_every_type_and_channel(as_vendor: httpx.AsyncClient) -> None:
    r = await as_vendor.get("/api/v1/preferences")
    assert r.status_code == 200
    prefs = r.json()
    assert set(prefs) == TYPES
    every = {"in_app", "email", "sms", "push"}
    assert all(set(channels) == every for channels in prefs.values())
    assert all(channels["in_app"] for channels in prefs.values())
    assert prefs["payment_failed"] == dict.fromkeys(every, True)
    assert prefs["order_created"] == {"in_app": True, "email": True, "sms": False, "push": True}
    assert prefs["review_created"] == {"in_app": True, "email": False, "sms": False, "push": False}


async def test_a_partial_put_changes_only_what_it_names(
    as_vendor: httpx.AsyncClient, api: Api, vendor2: str
) -> None:
    before = (await as_vendor.get("/api/v1/preferences")).json()
    r = await as_vendor.put(
        "/api/v1/preferences",
        json={"order_created": {"email": False}, "stock_low": {"sms": True, "in_app": False}},
    )
    assert r.status_code == 200, r.text
    expected = {k: dict(v) for k, v in before.items()}
    expected["order_created"]["email"] = False
    expected["stock_low"].update(sms=True, in_app=False)
    assert r.json() == expected
    assert (await as_vendor.get("/api/v1/preferences")).json() == expected
    r = await as_vendor.put("/api/v1/preferences", json={"order_created": {"email": True}})
    assert r.json()["order_created"]["email"] is True
    assert r.json()["stock_low"]["in_app"] is False
    other = (await api.vendor(vendor2).get("/api/v1/preferences")).json()
    assert other == before


async def test_invalid_preferences_are_422_naming_the_field(as_vendor: httpx.AsyncClient) -> None:
    r = await as_vendor.put("/api/v1/preferences", json={"order_teleported": {"email": True}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "order_teleported"
    assert "order_created" in r.json()["detail"]
    r = await as_vendor.put("/api/v1/preferences", json={"order_created": {"pigeon": True}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "order_created.pigeon"
    r = await as_vendor.put("/api/v1/preferences", json={"order_created": {"email": "yes"}})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "order_created.email"
    r = await as_vendor.put("/api/v1/preferences", json=[])
    assert r.status_code == 422


async def test_in_app_off_creates_no_notification(
    as_vendor: httpx.AsyncClient, api: Api, vendor: str
) -> None:
    await as_vendor.put("/api/v1/preferences", json={"payment_received": {"in_app": False}})
    r = await api.event(
        "payment.received", {"order_id": "1", "vendor_id": vendor, "amount": "1", "currency": "EUR"}
    )
    assert r.status_code == 202
    assert r.json()["notifications"] == []
    assert (await as_vendor.get("/api/v1/notifications")).json()["items"] == []


async def test_preferences_are_for_vendors_and_contacts_for_publishers(
    api: Api, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    r = await api.publisher.get("/api/v1/preferences")
    assert r.status_code == 403
    r = await as_vendor.put(f"/api/v1/vendors/{vendor}/contact", json={"email": "a@b.example"})
    assert r.status_code == 403


async def test_contact_details_are_validated(api: Api, vendor: str) -> None:
    url = f"/api/v1/vendors/{vendor}/contact"
    r = await api.publisher.put(url, json={"email": "shop@example.com", "phone": "+4915112345678"})
    assert r.status_code == 200
    assert r.json() == {
        "vendor_id": vendor,
        "email": "shop@example.com",
        "phone": "+4915112345678",
        "locale": "en",
        "timezone": "UTC",
    }
    r = await api.publisher.put(url, json={"email": "not an address"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "email"
    r = await api.publisher.put(url, json={"phone": "0151 123"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "phone"
    r = await api.publisher.put("/api/v1/vendors/bad%20id/contact", json={})
    assert r.status_code == 422
