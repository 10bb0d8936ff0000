"""The delivery audit end to end: the story of one notification across every channel.

A tocsin of each backend mails through a real SMTP server (aiosmtpd), texts
through the SMS webhook server and pushes to the local push service; the
vendor has two tabs open (SSE over real sockets) and a poll. The audit must
tell all of it: created, streamed to 3 tabs (2 streams, 1 poll), seen, read,
the email accepted, the SMS failed once then accepted, the push sent — or
skipped, with its reason, when a tab saw the notification first.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests._push import Browser, PushService
from tests._server import Server
from tests.api.conftest import ADMIN_PASSWORD, admin_sign_in
from tests.browser.conftest import create_admin
from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.events.conftest import (
    Api,
    Hook,
    SmtpServer,
    order,
    push_delivery_env,
    wait_until,
)
from tests.events.test_schedules import execute
from tests.stream._sse import Stream
from tocsin._ids import now_ms
from tocsin.realtime.wire import iso
from tocsin.storage.schema import deliveries, digest_items
from tocsin.storage.stores import Stores

GRACE = 1.0


def audit_env(smtp: SmtpServer, hook: Hook, push_service: PushService) -> dict[str, str]:
    return push_delivery_env(
        smtp, hook, push_service, grace=GRACE, TOCSIN_STREAM_TALLY_SECONDS="0.2"
    )


@pytest.fixture
def auditing(
    make_server: ServerFactory, smtp: SmtpServer, hook: Hook, push_service: PushService
) -> Server:
    return make_server(audit_env(smtp, hook, push_service))


@pytest.fixture
async def api(auditing: Server) -> AsyncIterator[Api]:
    a = Api(auditing.url)
    yield a
    await a.aclose()


async def audit(client: httpx.AsyncClient, notification_id: str) -> dict[str, Any]:
    r = await client.get(f"/api/v1/notifications/{notification_id}/deliveries")
    assert r.status_code == 200, r.text
    return dict(r.json())


def settled(story: dict[str, Any], channels: set[str], statuses: tuple[str, ...]) -> bool:
    by_channel = {d["channel"]: d["status"] for d in story["deliveries"]}
    return set(by_channel) == channels and all(s in statuses for s in by_channel.values())


def payment_failed(vendor: str) -> dict[str, str]:
    return {"order_id": "A-77", "vendor_id": vendor, "amount": "19.90", "currency": "EUR"}


async def test_the_audit_tells_the_story_of_one_notification_across_channels(
    api: Api,
    auditing: Server,
    smtp: SmtpServer,
    hook: Hook,
    push_service: PushService,
    vendor: str,
) -> None:
    client = api.vendor(vendor)
    await api.contact(vendor, email="shop@vendor.example", phone="+995555123456")
    browser = Browser()
    sub = await client.post(
        "/api/v1/push/subscriptions", json=browser.subscription(push_service.endpoint("p"))
    )
    assert sub.status_code == 201, sub.text
    # At once by email and SMS, and a push after the grace unless a tab shows it first.
    no_escalation = {"payment_failed": {"escalate": None}}
    assert (await client.put("/api/v1/preferences", json=no_escalation)).status_code == 200
    hook.statuses = [500]  # the SMS provider fails once; the retry goes through
    head = (await client.get("/api/v1/stream/poll")).json()["last_id"]
    token = mint_token(auditing.url, vendor)
    # A stream is subscribed once its response starts: what is published next reaches it.
    async with Stream(auditing.url, token) as tab1, Stream(auditing.url, token) as tab2:
        r = await api.event("payment.failed", payment_failed(vendor))
        assert r.status_code == 202, r.text
        [notification_id] = r.json()["notifications"]
        for tab in (tab1, tab2):
            event = await tab.next()
            assert event.data["notification"]["id"] == notification_id
    polled = await client.get("/api/v1/stream/poll", params={"after": head})
    assert [e["data"]["notification"]["id"] for e in polled.json()["events"]] == [notification_id]

    # The push waits for the grace; once it is sent, a tab shows the notification and it is read.
    await wait_until(
        lambda: settled_now(client, notification_id, {"email", "sms", "push"}),
        what="every channel sent",
    )
    seen = await client.post("/api/v1/notifications/seen", json={"ids": [notification_id]})
    assert seen.json() == {"updated": 1}
    read = await client.patch(f"/api/v1/notifications/{notification_id}", json={"read": True})
    assert read.status_code == 200

    async def counted() -> dict[str, Any] | None:
        story = await audit(client, notification_id)
        return story if story["streamed"]["tabs"] == 3 else None

    story = await wait_until(counted, what="3 tabs counted")
    n = story["notification"]
    assert n["id"] == notification_id
    assert n["type"] == "payment_failed"
    assert n["seen_at"] is not None
    assert n["read_at"] is not None
    streamed = story["streamed"]
    assert (streamed["streams"], streamed["polls"]) == (2, 1)
    assert n["created_at"] <= streamed["first_at"] <= streamed["last_at"]

    by_channel = {d["channel"]: d for d in story["deliveries"]}
    assert set(by_channel) == {"email", "sms", "push"}
    email, sms, push = by_channel["email"], by_channel["sms"], by_channel["push"]
    assert email["recipient"] == "shop@vendor.example"
    assert [a["status"] for a in email["attempt_log"]] == ["sent"]
    assert len(smtp.box.to("shop@vendor.example")) == 1
    assert sms["recipient"] == "+995555123456"
    assert [a["status"] for a in sms["attempt_log"]] == ["failed", "sent"]
    assert "500" in sms["attempt_log"][0]["error"]
    assert sms["attempts"] == 2
    assert sms["last_error"] is None
    assert push["recipient"] == sub.json()["id"]
    assert [a["status"] for a in push["attempt_log"]] == ["sent"]
    assert len(push_service.to("p")) == 1
    for d in story["deliveries"]:
        assert d["notification_id"] == notification_id
        assert d["status"] == "sent"
        assert d["skip_reason"] is None
        assert d["held_until"] is None

    timeline = story["timeline"]
    times = [datetime.fromisoformat(step["at"]) for step in timeline]
    assert times == sorted(times)
    assert timeline[0]["what"] == "created"
    steps = [(s["what"], s["channel"]) for s in timeline]
    for expected in [
        ("streamed", "in_app"),
        ("seen", "in_app"),
        ("read", "in_app"),
        ("queued", "email"),
        ("sent", "email"),
        ("failed", "sms"),
        ("sent", "sms"),
        ("queued", "push"),
        ("sent", "push"),
    ]:
        assert expected in steps, expected
    assert steps.index(("failed", "sms")) < steps.index(("sent", "sms"))
    assert steps.index(("sent", "push")) < steps.index(("seen", "in_app"))
    [streamed_step] = [s for s in timeline if s["what"] == "streamed"]
    assert streamed_step["detail"] == "3 tabs: 2 streams, 1 polls"

    # The publisher reads the same story through the vendor's path.
    r = await api.publisher.get(
        f"/api/v1/vendors/{vendor}/notifications/{notification_id}/deliveries"
    )
    assert r.status_code == 200
    assert r.json()["deliveries"] == story["deliveries"]

    metrics = httpx.get(auditing.url + "/metrics").text
    assert 'tocsin_delivery_due_to_sent_seconds_count{channel="email"} 1.0' in metrics
    assert 'tocsin_delivery_due_to_sent_seconds_count{channel="sms"} 1.0' in metrics
    assert 'tocsin_delivery_due_to_sent_seconds_count{channel="push"} 1.0' in metrics
    assert 'tocsin_delivery_attempts_total{channel="sms",result="retry"} 1.0' in metrics
    assert "tocsin_publish_to_stream_seconds_count 1.0" in metrics


async def settled_now(client: httpx.AsyncClient, notification_id: str, channels: set[str]) -> bool:
    return settled(await audit(client, notification_id), channels, ("sent",))


async def test_a_push_a_tab_saw_first_is_skipped_with_its_reason(
    api: Api, push_service: PushService, vendor: str
) -> None:
    client = api.vendor(vendor)
    sub = await client.post(
        "/api/v1/push/subscriptions", json=Browser().subscription(push_service.endpoint("s"))
    )
    assert sub.status_code == 201
    no_escalation = {"payment_failed": {"escalate": None}}
    assert (await client.put("/api/v1/preferences", json=no_escalation)).status_code == 200
    r = await api.event("payment.failed", payment_failed(vendor))
    [notification_id] = r.json()["notifications"]
    seen = await client.post("/api/v1/notifications/seen", json={"ids": [notification_id]})
    assert seen.json() == {"updated": 1}

    async def skipped() -> dict[str, Any] | None:
        story = await audit(client, notification_id)
        return story if settled(story, {"push"}, ("skipped",)) else None

    story = await wait_until(skipped, what="the push skipped")
    [push] = story["deliveries"]
    assert "seen" in push["skip_reason"]
    assert push["attempt_log"][0]["status"] == "skipped"
    assert story["streamed"] == {
        "tabs": 0,
        "streams": 0,
        "polls": 0,
        "first_at": None,
        "last_at": None,
    }
    assert ("skipped", "push") in [(s["what"], s["channel"]) for s in story["timeline"]]
    assert push_service.to("s") == []


@redis_backend_only
async def test_tabs_on_two_processes_add_up(
    make_server: ServerFactory,
    smtp: SmtpServer,
    hook: Hook,
    push_service: PushService,
    vendor: str,
) -> None:
    """Two tocsin processes share PostgreSQL and Redis; each counts its own streams."""
    env = audit_env(smtp, hook, push_service)
    first, second = make_server(env), make_server(env)
    token = mint_token(first.url, vendor)
    a = Api(first.url)
    try:
        async with (
            Stream(first.url, token) as t1,
            Stream(second.url, token) as t2,
            Stream(second.url, token) as t3,
        ):
            r = await a.event("payment.failed", payment_failed(vendor))
            [notification_id] = r.json()["notifications"]
            for tab in (t1, t2, t3):
                assert (await tab.next()).data["notification"]["id"] == notification_id
        client = a.vendor(vendor)

        async def counted() -> dict[str, Any] | None:
            story = await audit(client, notification_id)
            return story if story["streamed"]["streams"] == 3 else None

        story = await wait_until(counted, what="3 streams over 2 processes")
        assert story["streamed"]["tabs"] == 3
        for srv, count in ((first, 1), (second, 1)):
            text = httpx.get(srv.url + "/metrics").text
            assert f"tocsin_publish_to_stream_seconds_count {count}.0" in text
    finally:
        await a.aclose()


@dataclass
class Workerless:
    """A tocsin whose worker is off, and its stores: deliveries stay as a test writes them."""

    server: Server
    api: Api
    stores: Stores

    async def notification(self, vendor: str, title: str) -> str:
        r = await self.api.publisher.post(
            f"/api/v1/vendors/{vendor}/notifications",
            json={"type": "order_created", "title": title},
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def admin_page(self, vendor: str, notification_id: str) -> httpx.Response:
        """The notification's admin page, as a newly made admin sees it."""
        async with httpx.AsyncClient(base_url=self.server.url, timeout=10) as client:
            username = f"ops-{uuid.uuid4().hex[:8]}"
            create_admin(self.server, username, ADMIN_PASSWORD)
            await admin_sign_in(client, username)
            return await client.get(f"/admin/vendors/{vendor}/notifications/{notification_id}")


@pytest.fixture
async def workerless(make_server: ServerFactory) -> AsyncIterator[Workerless]:
    srv = make_server({"TOCSIN_RUN_WORKERS": "false"})
    stores = Stores(srv.env["TOCSIN_DATABASE_URL"])
    await stores.connect()
    api = Api(srv.url)
    try:
        yield Workerless(srv, api, stores)
    finally:
        await api.aclose()
        await stores.disconnect()


async def _delivery(stores: Stores, vendor: str, **fields: Any) -> int:
    now = now_ms()
    row = {
        "key": f"test:{uuid.uuid4().hex}",
        "vendor_id": vendor,
        "event_id": None,
        "type": "order_created",
        "recipient": "+995555123456",
        "message": "{}",
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
        **fields,
    }
    made = await stores.db.fetch_val(deliveries.insert().values(**row).returning(deliveries.c.id))
    return int(made)


async def test_escalations_quiet_hours_holds_and_digests_are_told_explicitly(
    workerless: Workerless, vendor: str
) -> None:
    """Deliveries as the schedules leave them (written here through the stores, the server's
    worker off): an escalation cancelled, one scheduled, an SMS held by quiet hours and
    sent at their end, a digest that lists the notification."""
    api, stores = workerless.api, workerless.stores
    nid = await workerless.notification(vendor, "New order <b>#9</b>")
    now = now_ms()
    push = await _delivery(
        stores, vendor, notification_id=nid, channel="push", purpose="escalation"
    )
    sms = await _delivery(
        stores,
        vendor,
        notification_id=nid,
        channel="sms",
        purpose="escalation",
        next_attempt_at=now + 900_000,
    )
    held = await _delivery(
        stores,
        vendor,
        notification_id=nid,
        channel="email",
        purpose="instant",
        held_from=now - 60_000,
        held_until=now,
    )
    digest = await _delivery(
        stores,
        vendor,
        key=f"digest:{vendor}:{now}",
        notification_id=None,
        channel="email",
        purpose="digest",
    )
    await stores.db.execute(
        digest_items.insert().values(
            key=f"item:{nid}",
            vendor_id=vendor,
            digest_key=f"digest:{vendor}:{now}",
            notification_id=nid,
            type="order_created",
            line="New order #9",
            link=None,
            created_at=now,
        )
    )
    other = await _delivery(stores, vendor, notification_id=None, channel="email")
    claimed = await stores.deliveries.claim(push, 5000)
    assert claimed is not None
    await stores.deliveries.skip(claimed, "cancelled: seen in a live tab")
    for delivery_id in (held, digest):
        claimed = await stores.deliveries.claim(delivery_id, 5000)
        assert claimed is not None
        await stores.deliveries.finish(claimed, error=None, retry_at=None)

    story = await audit(api.vendor(vendor), nid)
    assert {int(d["id"]) for d in story["deliveries"]} == {push, sms, held, digest}
    assert other not in {int(d["id"]) for d in story["deliveries"]}
    escalations = {int(e["delivery_id"]): e for e in story["escalations"]}
    assert set(escalations) == {push, sms}
    assert escalations[push]["state"] == "cancelled"
    assert escalations[push]["reason"] == "cancelled: seen in a live tab"
    assert escalations[push]["settled_at"] is not None
    assert escalations[sms]["state"] == "scheduled"
    assert escalations[sms]["settled_at"] is None
    assert escalations[sms]["due_at"] == iso(now + 900_000)
    [held_json] = [d for d in story["deliveries"] if int(d["id"]) == held]
    assert (held_json["held_from"], held_json["held_until"]) == (iso(now - 60_000), iso(now))
    assert held_json["status"] == "sent"
    [listing] = story["digests"]
    assert listing["digest_id"] == str(digest)
    assert listing["status"] == "sent"
    assert listing["sent_at"] is not None
    steps = [(s["what"], s["channel"]) for s in story["timeline"]]
    for expected in [
        ("escalation scheduled", "push"),
        ("escalation cancelled", "push"),
        ("escalation scheduled", "sms"),
        ("due", "sms"),
        ("held", "email"),
        ("listed in digest", "email"),
    ]:
        assert expected in steps, expected
    assert steps[-1] == ("due", "sms")

    page = await workerless.admin_page(vendor, nid)
    assert page.status_code == 200
    assert "New order &lt;b&gt;#9&lt;/b&gt;" in page.text
    assert "data-audit-escalations" in page.text
    assert "data-audit-digests" in page.text
    assert "cancelled: seen in a live tab" in page.text
    assert re.search(r"<span class=\"pill\">scheduled</span>", page.text)


async def test_a_hold_released_by_a_change_of_quiet_hours_is_told(
    workerless: Workerless, vendor: str
) -> None:
    """An SMS held until the end of quiet hours, then released when the vendor changed
    them (written through the stores, the server's worker off): the hold and the
    release, in order, in the API's story and on the admin page."""
    api, stores = workerless.api, workerless.stores
    nid = await workerless.notification(vendor, "New order #10")
    now = now_ms()
    due, end = now - 600_000, now + 3600_000
    held = await _delivery(
        stores,
        vendor,
        notification_id=nid,
        channel="sms",
        purpose="instant",
        # Planned (due, held) a moment before its row was written, as ingest does.
        created_at=due + 3,
        next_attempt_at=end,
        held_from=due,
        held_until=end,
    )
    async with stores.transaction():
        assert await stores.deliveries.release(vendor, now) == [held]

    story = await audit(api.vendor(vendor), nid)
    [sms] = story["deliveries"]
    assert (sms["held_from"], sms["held_until"], sms["released_at"]) == (
        iso(due),
        iso(end),
        iso(now),
    )
    assert sms["next_attempt_at"] == iso(now)
    steps = [(s["what"], s["at"]) for s in story["timeline"] if s["channel"] == "sms"]
    assert [what for what, _ in steps] == ["queued", "held", "released", "due"]
    assert dict(steps)["held"] == dict(steps)["queued"] == iso(due + 3)
    assert dict(steps)["released"] == iso(now)

    page = await workerless.admin_page(vendor, nid)
    assert page.status_code == 200
    assert "quiet hours changed" in page.text


async def test_the_audit_follows_the_schedules_escalation_digest_and_quiet_hours(
    api: Api, auditing: Server, push_service: PushService, hook: Hook, vendor: str
) -> None:
    """The real schedules: an escalation's push fires and, once a tab has seen the order,
    its SMS is cancelled; a low-stock notice is listed in an hourly digest that then
    leaves; an SMS in quiet hours is held until their end."""
    client = api.vendor(vendor)
    await api.contact(vendor, email=f"{vendor}@vendor.example", phone="+995555123456")
    await client.post(
        "/api/v1/push/subscriptions", json=Browser().subscription(push_service.endpoint("e"))
    )
    prefs = {
        "order_created": {
            "email": False,
            "sms": False,
            "push": False,
            "escalate": {"push_after_s": 1, "sms_after_s": 30},
        },
        "stock_low": {"email": True, "email_mode": "hourly", "push": False},
        "payment_received": {"sms": True, "email": False, "push": False},
    }
    assert (await client.put("/api/v1/preferences", json=prefs)).status_code == 200

    # Escalation: the push fires after a second; the order is then seen, so no SMS.
    r = await api.event("order.created", order("S-1", (vendor, "S1", 1, "5.00")))
    [order_id] = r.json()["notifications"]
    await wait_until(lambda: push_service.to("e"), what="the escalation's push")
    seen = await client.post("/api/v1/notifications/seen", json={"ids": [order_id]})
    assert seen.json() == {"updated": 1}

    async def escalated() -> dict[str, Any] | None:
        story = await audit(client, order_id)
        states = {e["channel"]: e["state"] for e in story["escalations"]}
        return story if states == {"push": "fired", "sms": "cancelled"} else None

    story = await wait_until(escalated, what="the push fired and the SMS cancelled")
    by_channel = {e["channel"]: e for e in story["escalations"]}
    assert by_channel["sms"]["reason"] == "cancelled: seen in a live tab"
    created = datetime.fromisoformat(story["notification"]["created_at"])
    assert datetime.fromisoformat(by_channel["push"]["due_at"]) - created >= timedelta(seconds=1)
    assert datetime.fromisoformat(by_channel["sms"]["due_at"]) - created >= timedelta(seconds=30)
    steps = [(s["what"], s["channel"]) for s in story["timeline"]]
    assert steps.index(("escalation fired", "push")) < steps.index(("seen", "in_app"))
    assert steps.index(("seen", "in_app")) < steps.index(("escalation cancelled", "sms"))
    assert hook.bodies() == []

    # A digest: the notice is listed in the hour's digest, which leaves at the hour's end
    # (the test moves the due time there, as tests/events/test_schedules.py does).
    r = await api.event(
        "stock.low", {"vendor_id": vendor, "sku": "M", "name": "Mug", "quantity": 1}
    )
    [stock_id] = r.json()["notifications"]
    story = await audit(client, stock_id)
    [listing] = story["digests"]
    assert listing["status"] == "pending"
    [digest] = [d for d in story["deliveries"] if d["purpose"] == "digest"]
    assert listing["digest_id"] == digest["id"]
    assert ("listed in digest", "email") in [(s["what"], s["channel"]) for s in story["timeline"]]
    execute(
        auditing,
        "UPDATE deliveries SET next_attempt_at = :due WHERE id = :id",
        due=now_ms() - 60_000,
        id=int(digest["id"]),
    )

    async def digested() -> dict[str, Any] | None:
        story = await audit(client, stock_id)
        return story if story["digests"][0]["status"] == "sent" else None

    story = await wait_until(digested, what="the digest sent")
    assert story["digests"][0]["sent_at"] is not None

    # Quiet hours now (UTC): the SMS of a payment waits for their end.
    local = datetime.now(UTC)
    quiet = {
        "start": (local - timedelta(hours=1)).strftime("%H:%M"),
        "end": (local + timedelta(hours=1)).strftime("%H:%M"),
    }
    r = await client.put("/api/v1/settings", json={"timezone": "UTC", "quiet_hours": quiet})
    assert r.status_code == 200, r.text
    money = {"vendor_id": vendor, "order_id": "S-1", "amount": "7", "currency": "EUR"}
    r = await api.event("payment.received", money)
    [payment_id] = r.json()["notifications"]
    story = await audit(client, payment_id)
    [sms] = story["deliveries"]
    assert sms["status"] == "pending"
    assert sms["held_from"] is not None
    assert sms["held_until"] is not None
    assert sms["next_attempt_at"] == sms["held_until"]
    assert datetime.fromisoformat(sms["held_until"]) > datetime.now(UTC)
    steps = [(s["what"], s["channel"]) for s in story["timeline"]]
    assert ("held", "sms") in steps
    assert steps[-1] == ("due", "sms")
