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
    assert all(set(values) == every | {"email_mode", "escalate"} for values in prefs.values())
    assert all(values["in_app"] for values in prefs.values())
    assert all(values["email_mode"] == "instant" for values in prefs.values())
    escalate = {"push_after_s": 60, "sms_after_s": 900}
    assert prefs["payment_failed"] == {
        **dict.fromkeys(every, True),
        "email_mode": "instant",
        "escalate": escalate,
    }
    assert prefs["order_created"] == {
        "in_app": True,
        "email": True,
        "sms": False,
        "push": True,
        "email_mode": "instant",
        "escalate": escalate,
    }
    assert prefs["review_created"] == {
        "in_app": True,
        "email": False,
        "sms": False,
        "push": False,
        "email_mode": "instant",
        "escalate": None,
    }
    assert {k for k, v in prefs.items() if v["escalate"]} == {"order_created", "payment_failed"}


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


async def test_email_mode_and_escalate_are_set_partially_and_validated(
    as_vendor: httpx.AsyncClient,
) -> None:
    before = (await as_vendor.get("/api/v1/preferences")).json()
    r = await as_vendor.put(
        "/api/v1/preferences",
        json={
            "order_created": {"escalate": {"push_after_s": 1, "sms_after_s": 2}},
            "stock_low": {"email_mode": "hourly"},
            "payment_failed": {"escalate": None, "sms": False},
        },
    )
    assert r.status_code == 200, r.text
    prefs = r.json()
    assert prefs["order_created"] == {
        **before["order_created"],
        "escalate": {"push_after_s": 1, "sms_after_s": 2},
    }
    assert prefs["stock_low"] == {**before["stock_low"], "email_mode": "hourly"}
    assert prefs["payment_failed"] == {**before["payment_failed"], "escalate": None, "sms": False}
    # A later PUT of channels alone leaves the options as they are.
    r = await as_vendor.put("/api/v1/preferences", json={"stock_low": {"email": False}})
    assert r.json()["stock_low"]["email_mode"] == "hourly"
    assert r.json()["order_created"]["escalate"] == {"push_after_s": 1, "sms_after_s": 2}
    for body, field in [
        ({"stock_low": {"email_mode": "weekly"}}, "stock_low.email_mode"),
        ({"stock_low": {"escalate": {"push_after_s": 0}}}, "stock_low.escalate.push_after_s"),
        ({"stock_low": {"escalate": {"sms_after_s": 1.5}}}, "stock_low.escalate.sms_after_s"),
        ({"stock_low": {"escalate": {"sms_after_s": "60"}}}, "stock_low.escalate.sms_after_s"),
        ({"stock_low": {"escalate": {"email_after_s": 60}}}, "stock_low.escalate.email_after_s"),
        ({"stock_low": {"escalate": 60}}, "stock_low.escalate"),
    ]:
        r = await as_vendor.put("/api/v1/preferences", json=body)
        assert r.status_code == 422, body
        assert field in {e["field"] for e in r.json()["errors"]}, (body, r.json())
    assert (await as_vendor.get("/api/v1/preferences")).json() == prefs | {
        "stock_low": {**prefs["stock_low"], "email": False}
    }


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
