"""Web Push end to end: a local push service receives each push, VAPID-signed and encrypted.

The server under test pushes to a push service on 127.0.0.1 (admitted by
`TOCSIN_PUSH_ALLOW_HOSTS`) with a 1 s grace; the test holds the browser's
keys, so it checks the VAPID token against the server's public key and
decrypts each payload. Waiting is on the delivery log, never on a fixed sleep.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests._push import Browser, PushService, vapid_claims
from tests._server import Server
from tests.conftest import ServerFactory, mint_token
from tests.events.conftest import Api, order, wait_until
from tests.stream._sse import Stream
from tocsin.delivery.push import generate_keys

GRACE = 1.0
PUBLIC, PRIVATE = generate_keys()
SUBJECT = "mailto:ops@shop.example"


@pytest.fixture
def pushing(make_server: ServerFactory, push_service: PushService) -> Server:
    return make_server(
        {
            "TOCSIN_VAPID_PUBLIC_KEY": PUBLIC,
            "TOCSIN_VAPID_PRIVATE_KEY": PRIVATE,
            "TOCSIN_VAPID_SUBJECT": SUBJECT,
            "TOCSIN_PUSH_GRACE_SECONDS": str(GRACE),
            "TOCSIN_PUSH_ALLOW_HOSTS": f"127.0.0.1:{push_service.port}",
            "TOCSIN_PUSH_TIMEOUT_SECONDS": "3",
            "TOCSIN_SMTP_TIMEOUT_SECONDS": "3",
            "TOCSIN_SMS_TIMEOUT_SECONDS": "3",
            "TOCSIN_DELIVERY_BACKOFF_SECONDS": "0.2",
            "TOCSIN_DELIVERY_POLL_SECONDS": "0.1",
            "TOCSIN_DELIVERY_LEASE_SECONDS": "5",
            "TOCSIN_RELAY_INTERVAL_SECONDS": "0.2",
            "TOCSIN_PUBLIC_URL": "https://shop.example",
        }
    )


@pytest.fixture
async def api(pushing: Server) -> AsyncIterator[Api]:
    a = Api(pushing.url)
    yield a
    await a.aclose()


async def subscribe(api: Api, vendor: str, body: dict[str, Any]) -> dict[str, Any]:
    """Subscribe a browser of `vendor`, whose orders and failed payments then push after
    the grace: their default escalation is off here (test_escalation.py has it)."""
    off = {"escalate": None}
    prefs = {"order_created": off, "payment_failed": off}
    assert (await api.vendor(vendor).put("/api/v1/preferences", json=prefs)).status_code == 200
    r = await api.vendor(vendor).post("/api/v1/push/subscriptions", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def push_deliveries(api: Api, vendor: str, statuses: tuple[str, ...]) -> list[dict[str, Any]]:
    """The vendor's push deliveries, once every one of them has a status in `statuses`."""
    items = [d for d in await api.deliveries(vendor) if d["channel"] == "push"]
    return items if items and all(d["status"] in statuses for d in items) else []


async def test_a_push_arrives_signed_and_encrypted_after_the_grace(
    api: Api, push_service: PushService, vendor: str
) -> None:
    browser = Browser()
    sub = await subscribe(api, vendor, browser.subscription(push_service.endpoint("a"), "Phone"))
    assert sub["device"] == "Phone"
    posted = time.monotonic()
    r = await api.event("order.created", order("P-1", (vendor, "S1", 2, "5.00")))
    assert r.status_code == 202, r.text
    [notification_id] = r.json()["notifications"]

    [push] = await wait_until(lambda: push_service.to("a"), what="the push")
    waited = push.at - posted
    # Not before the grace, and within the grace plus a second (and a little slack for a
    # loaded test machine).
    assert GRACE <= waited < GRACE + 1.5, waited
    claims = vapid_claims(push, PUBLIC, push_service.origin)
    assert claims["sub"] == SUBJECT
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert push.headers["urgency"] == "high"
    assert push.headers["ttl"] == str(24 * 3600)
    payload = browser.decrypt(push)
    assert payload == {
        "id": notification_id,
        "type": "order_created",
        "title": "New order #P-1: 2 items, EUR 10.00",
        "body": payload["body"],
        "link": "https://shop.example/orders/P-1",
        "priority": "high",
    }
    assert "2 x Item S1" in payload["body"]

    [delivery] = await wait_until(lambda: push_deliveries(api, vendor, ("sent",)))
    assert delivery["recipient"] == sub["id"]
    assert delivery["notification_id"] == notification_id
    assert [a["status"] for a in delivery["attempt_log"]] == ["sent"]


async def test_urgency_and_ttl_follow_the_priority(
    api: Api, push_service: PushService, vendor: str
) -> None:
    browser = Browser()
    await subscribe(api, vendor, browser.subscription(push_service.endpoint("low")))
    r = await api.vendor(vendor).put("/api/v1/preferences", json={"review_created": {"push": True}})
    assert r.status_code == 200, r.text
    review = {
        "review_id": "r1",
        "vendor_id": vendor,
        "product": "Mug",
        "rating": 4,
        "customer": {"name": "Grace"},
        "comment": "Nice",
    }
    assert (await api.event("review.created", review)).status_code == 202
    [push] = await wait_until(lambda: push_service.to("low"), what="the push")
    assert push.headers["urgency"] == "very-low"
    assert push.headers["ttl"] == str(6 * 3600)
    assert browser.decrypt(push)["priority"] == "low"


async def test_a_push_seen_in_a_live_tab_within_the_grace_is_not_sent(
    api: Api, pushing: Server, push_service: PushService, vendor: str
) -> None:
    browser = Browser()
    await subscribe(api, vendor, browser.subscription(push_service.endpoint("tab")))
    async with Stream(pushing.url, mint_token(pushing.url, vendor)) as tab:
        r = await api.event("order.created", order("P-2", (vendor, "S1", 1, "5.00")))
        assert r.status_code == 202, r.text
        event = await tab.next()
        assert event.event == "new_notification"
        shown = event.data["notification"]["id"]
        seen = await api.vendor(vendor).post("/api/v1/notifications/seen", json={"ids": [shown]})
        assert seen.json() == {"updated": 1}
    [delivery] = await wait_until(lambda: push_deliveries(api, vendor, ("skipped",)))
    assert delivery["notification_id"] == shown
    [attempt] = delivery["attempt_log"]
    assert attempt["status"] == "skipped"
    assert "seen" in attempt["error"]
    assert push_service.to("tab") == []


async def test_a_read_notification_is_not_pushed_either(
    api: Api, push_service: PushService, vendor: str
) -> None:
    await subscribe(api, vendor, Browser().subscription(push_service.endpoint("read")))
    r = await api.event("order.created", order("P-3", (vendor, "S1", 1, "5.00")))
    [notification_id] = r.json()["notifications"]
    patched = await api.vendor(vendor).patch(
        f"/api/v1/notifications/{notification_id}", json={"read": True}
    )
    assert patched.status_code == 200
    [delivery] = await wait_until(lambda: push_deliveries(api, vendor, ("skipped",)))
    assert "read" in delivery["attempt_log"][0]["error"]
    assert push_service.to("read") == []


async def test_410_deletes_the_subscription(
    api: Api, push_service: PushService, vendor: str
) -> None:
    gone = await subscribe(api, vendor, Browser().subscription(push_service.endpoint("gone")))
    kept = await subscribe(api, vendor, Browser().subscription(push_service.endpoint("kept")))
    push_service.statuses["gone"] = [410]
    r = await api.event("order.created", order("P-4", (vendor, "S1", 1, "5.00")))
    assert r.status_code == 202
    done = await wait_until(lambda: push_deliveries(api, vendor, ("sent", "failed")))
    by_recipient = {d["recipient"]: d for d in done}
    assert len(done) == 2
    assert by_recipient[gone["id"]]["status"] == "failed"
    assert "410" in by_recipient[gone["id"]]["last_error"]
    assert by_recipient[gone["id"]]["attempts"] == 1, "gone is not retried"
    assert by_recipient[kept["id"]]["status"] == "sent"
    listed = (await api.vendor(vendor).get("/api/v1/push/subscriptions")).json()
    assert [s["id"] for s in listed["items"]] == [kept["id"]]
    assert listed["public_key"] == PUBLIC


async def test_a_push_service_error_is_retried(
    api: Api, push_service: PushService, vendor: str
) -> None:
    browser = Browser()
    await subscribe(api, vendor, browser.subscription(push_service.endpoint("flaky")))
    push_service.statuses["flaky"] = [503, 429]
    data = {"order_id": "9", "vendor_id": vendor, "amount": "19.9", "currency": "EUR"}
    assert (await api.event("payment.failed", data)).status_code == 202
    [delivery] = await wait_until(lambda: push_deliveries(api, vendor, ("sent",)))
    assert [a["status"] for a in delivery["attempt_log"]] == ["failed", "failed", "sent"]
    pushes = push_service.to("flaky")
    assert len(pushes) == 3
    assert {browser.decrypt(p)["title"] for p in pushes} == {browser.decrypt(pushes[0])["title"]}


async def test_subscriptions_are_per_vendor_renewed_by_endpoint_and_capped(
    api: Api, push_service: PushService, vendor: str, vendor2: str
) -> None:
    client = api.vendor(vendor)
    first = await subscribe(api, vendor, Browser().subscription(push_service.endpoint("d0")))
    again = await subscribe(
        api, vendor, Browser().subscription(push_service.endpoint("d0"), "Renamed")
    )
    assert again["id"] == first["id"]
    assert again["device"] == "Renamed"
    for n in range(1, 21):
        await subscribe(api, vendor, Browser().subscription(push_service.endpoint(f"d{n}")))
    items = (await client.get("/api/v1/push/subscriptions")).json()["items"]
    assert len(items) == 20
    assert first["id"] not in {s["id"] for s in items}, "the least recently renewed goes"
    assert items[0]["endpoint"] == push_service.endpoint("d20")

    other = api.vendor(vendor2)
    assert (await other.get("/api/v1/push/subscriptions")).json()["items"] == []
    assert (await other.delete(f"/api/v1/push/subscriptions/{items[0]['id']}")).status_code == 404
    assert (await client.delete(f"/api/v1/push/subscriptions/{items[0]['id']}")).status_code == 204
    assert (await client.delete(f"/api/v1/push/subscriptions/{items[0]['id']}")).status_code == 404
    assert (await client.delete("/api/v1/push/subscriptions/abc")).status_code == 404


REFUSED = [
    ("http://push.example.com/x", "https"),
    ("https://127.0.0.1/x", "not public"),
    ("https://localhost/x", "not public"),
    ("https://10.1.2.3/x", "not public"),
    ("https://192.168.0.10:8443/x", "not public"),
    ("https://169.254.169.254/latest/meta-data", "not public"),
    ("https://[::1]/x", "not public"),
    ("https://[::ffff:127.0.0.1]/x", "not public"),
    ("https://[fe80::1]/x", "not public"),
    ("https://100.64.0.1/x", "not public"),
    ("https://user:pw@8.8.8.8/x", "user name"),
    ("ftp://8.8.8.8/x", "https"),
    ("https://127.0.0.1:1/x", "not public"),
]


async def test_the_ssrf_guard_refuses_private_and_plain_endpoints(api: Api, vendor: str) -> None:
    for endpoint, why in REFUSED:
        r = await api.vendor(vendor).post(
            "/api/v1/push/subscriptions", json=Browser().subscription(endpoint)
        )
        assert r.status_code == 422, (endpoint, r.text)
        assert r.json()["errors"][0]["field"] == "endpoint"
        assert why in r.json()["detail"], endpoint


async def test_bad_keys_are_refused(api: Api, push_service: PushService, vendor: str) -> None:
    body = Browser().subscription(push_service.endpoint("k"))
    body["keys"] = {"p256dh": "AAAA", "auth": "short"}
    r = await api.vendor(vendor).post("/api/v1/push/subscriptions", json=body)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"keys.p256dh", "keys.auth"}


async def test_without_vapid_keys_nothing_is_subscribed(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        body = Browser().subscription("https://8.8.8.8/push/" + uuid.uuid4().hex)
        r = await client.post("/api/v1/push/subscriptions", json=body)
        assert r.status_code == 404
        assert "VAPID" in r.json()["detail"]
        listed = await client.get("/api/v1/push/subscriptions")
        assert listed.json() == {"public_key": None, "items": []}
