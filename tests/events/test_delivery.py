"""Email and SMS delivery through real servers: content, retries, the attempt log, restarts."""

from __future__ import annotations

import asyncio
import signal
import uuid
from typing import Any

from tests._server import Server, free_port
from tests.conftest import ServerFactory
from tests.events.conftest import SMS_AUTH, Api, Hook, SmtpServer, delivery_env, order, wait_until


async def settled(api: Api, vendor: str, count: int) -> list[dict[str, Any]] | None:
    """The vendor's deliveries once there are `count` and none is pending or sending."""
    items = await api.deliveries(vendor)
    if len(items) == count and all(d["status"] in ("sent", "failed") for d in items):
        return items
    return None


async def test_email_arrives_with_headers_both_parts_and_escaped_customer_text(
    delivering: Server, smtp: SmtpServer, vendor: str
) -> None:
    api = Api(delivering.url)
    try:
        await api.contact(vendor, email="shop@vendor.example")
        evil = '<script>alert("x")</script> & Sons'
        r = await api.event("order.created", order("E-1", (vendor, "S1", 3, "2.50"), customer=evil))
        assert r.status_code == 202, r.text
        [mail] = await wait_until(lambda: smtp.box.to("shop@vendor.example"), what="the mail")
    finally:
        await api.aclose()
    msg = mail.message
    assert msg["From"] == "Shop notifications <notify@shop.example>"
    assert msg["To"] == "shop@vendor.example"
    assert msg["Subject"] == "New order #E-1: 3 items, EUR 7.50"
    assert msg["Message-ID"].endswith("@shop.example>")
    assert msg.get_content_type() == "multipart/alternative"
    text, html = mail.part("plain"), mail.part("html")
    assert evil in text
    assert "3 x Item S1" in text
    assert "https://shop.example/orders/E-1" in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Sons" in html
    assert '<a href="https://shop.example/orders/E-1">' in html


async def test_sms_goes_to_the_webhook_with_its_auth_header(
    delivering: Server, hook: Hook, vendor: str
) -> None:
    api = Api(delivering.url)
    try:
        await api.contact(vendor, phone="+4915112345678")
        data = {"order_id": "9", "vendor_id": vendor, "amount": "19.9", "currency": "EUR"}
        assert (await api.event("payment.failed", data)).status_code == 202
        await wait_until(lambda: hook.requests, what="the SMS webhook")
        [delivery] = await wait_until(lambda: settled(api, vendor, 1))
    finally:
        await api.aclose()
    [(headers, body)] = hook.requests
    assert headers["authorization"] == SMS_AUTH
    assert headers["idempotency-key"] == body["id"]
    assert body["to"] == "+4915112345678"
    assert body["vendor_id"] == vendor
    assert body["type"] == "payment_failed"
    assert body["text"] == "Payment of EUR 19.90 failed for order #9. Hold the order."
    assert delivery["status"] == "sent"
    assert delivery["channel"] == "sms"


async def test_a_provider_that_fails_twice_shows_the_retries_in_the_delivery_log(
    delivering: Server, hook: Hook, vendor: str
) -> None:
    hook.statuses = [503, 500]
    api = Api(delivering.url)
    try:
        await api.contact(vendor, phone="+4915112345678")
        data = {"order_id": "9", "vendor_id": vendor, "amount": "1", "currency": "EUR"}
        assert (await api.event("payment.failed", data)).status_code == 202
        [delivery] = await wait_until(lambda: settled(api, vendor, 1), what="three attempts")
        r = await api.vendor(vendor).get("/api/v1/deliveries")
        assert r.status_code == 200
        assert r.json()["items"] == [delivery]
    finally:
        await api.aclose()
    assert delivery["status"] == "sent"
    assert delivery["attempts"] == 3
    log = delivery["attempt_log"]
    assert [a["status"] for a in log] == ["failed", "failed", "sent"]
    assert "503" in log[0]["error"]
    assert "500" in log[1]["error"]
    assert log[2]["error"] is None
    assert all(a["started_at"] and a["finished_at"] for a in log)
    assert len(hook.requests) == 3
    assert len({h["idempotency-key"] for h, _ in hook.requests}) == 1


async def test_a_permanent_refusal_is_not_retried(
    delivering: Server, hook: Hook, vendor: str
) -> None:
    hook.statuses = [400]
    api = Api(delivering.url)
    try:
        await api.contact(vendor, phone="+4915112345678")
        data = {"order_id": "9", "vendor_id": vendor, "amount": "1", "currency": "EUR"}
        await api.event("payment.failed", data)
        [delivery] = await wait_until(lambda: settled(api, vendor, 1))
    finally:
        await api.aclose()
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 1
    assert "400" in delivery["last_error"]


async def test_preferences_switch_each_channel_on_and_off(
    delivering: Server, smtp: SmtpServer, hook: Hook, vendor: str
) -> None:
    api = Api(delivering.url)
    client = api.vendor(vendor)
    address = f"{vendor}@vendor.example"
    try:
        await api.contact(vendor, email=address, phone="+4915112345678")
        money = {"vendor_id": vendor, "amount": "1", "currency": "EUR"}

        # Only SMS.
        prefs = {"payment_failed": {"in_app": False, "email": False, "sms": True}}
        assert (await client.put("/api/v1/preferences", json=prefs)).status_code == 200
        r = await api.event("payment.failed", {**money, "order_id": "1"})
        assert r.json()["notifications"] == []
        [sms] = await wait_until(lambda: settled(api, vendor, 1))
        assert sms["channel"] == "sms"

        # Only email.
        prefs = {"payment_failed": {"in_app": False, "email": True, "sms": False}}
        await client.put("/api/v1/preferences", json=prefs)
        r = await api.event("payment.failed", {**money, "order_id": "2"})
        assert r.json()["notifications"] == []
        deliveries = await wait_until(lambda: settled(api, vendor, 2))
        assert deliveries[0]["channel"] == "email"

        # Only in the app (no escalation either: it would text an unseen one later).
        prefs = {"payment_failed": {"in_app": True, "email": False, "sms": False, "escalate": None}}
        await client.put("/api/v1/preferences", json=prefs)
        r = await api.event("payment.failed", {**money, "order_id": "3"})
        [notification_id] = r.json()["notifications"]
        listed = (await client.get("/api/v1/notifications")).json()["items"]
        assert [n["id"] for n in listed] == [notification_id]
        assert len(await api.deliveries(vendor)) == 2
    finally:
        await api.aclose()
    assert [b["text"] for b in hook.bodies()] == [
        "Payment of EUR 1.00 failed for order #1. Hold the order."
    ]
    [mail] = smtp.box.to(address)
    assert mail.message["Subject"] == "Payment failed for order #2"


async def test_two_vendor_order_notifies_both_live_mails_the_one_who_wants_mail(
    delivering: Server, smtp: SmtpServer, vendor: str
) -> None:
    """The issue's definition of done."""
    other = f"v-{uuid.uuid4().hex[:12]}"
    api = Api(delivering.url)
    try:
        await api.contact(vendor, email="wants@vendor.example")
        await api.contact(other, email="nomail@vendor.example")
        no_mail = {"order_created": {"email": False}}
        assert (await api.vendor(other).put("/api/v1/preferences", json=no_mail)).status_code == 200

        async def live(vendor_id: str) -> list[dict[str, Any]]:
            client = api.vendor(vendor_id)
            head = (await client.get("/api/v1/stream/poll")).json()["last_id"]
            r = await client.get("/api/v1/stream/poll", params={"after": head, "wait": 20})
            return list(r.json()["events"])

        waiting = [asyncio.create_task(live(v)) for v in (vendor, other)]
        data = order("D-1", (vendor, "S1", 1, "3.00"), (other, "S2", 2, "4.00"))
        event_id = f"evt-{uuid.uuid4().hex}"
        first = await api.event("order.created", data, id=event_id)
        assert first.status_code == 202
        for task, subtotal in zip(waiting, ("3.00", "8.00"), strict=True):
            [event] = await task
            assert event["event"] == "new_notification"
            assert event["data"]["notification"]["data"]["subtotal"] == subtotal

        await wait_until(lambda: settled(api, vendor, 1), what="the mail to the first vendor")
        assert await api.deliveries(other) == []
        again = await api.event("order.created", data, id=event_id)
        assert again.status_code == 200
        assert again.json() == first.json()
        assert len(await api.deliveries(vendor)) == 1
        for v in (vendor, other):
            items = (await api.vendor(v).get("/api/v1/notifications")).json()["items"]
            assert len(items) == 1
    finally:
        await api.aclose()
    assert len(smtp.box.to("wants@vendor.example")) == 1
    assert smtp.box.to("nomail@vendor.example") == []


async def test_a_restart_with_deliveries_queued_loses_none_and_sends_none_twice(
    make_server: ServerFactory, smtp: SmtpServer, hook: Hook, vendor: str
) -> None:
    # Queued by a tocsin that runs no workers, sent by the next one.
    quiet = make_server(delivery_env(smtp, hook, TOCSIN_RUN_WORKERS="false"))
    api = Api(quiet.url)
    address = f"{vendor}@vendor.example"
    try:
        await api.contact(vendor, email=address, phone="+4915112345678")
        for n in range(5):
            data = {"order_id": str(n), "vendor_id": vendor, "amount": "1", "currency": "EUR"}
            assert (await api.event("payment.failed", data)).status_code == 202
        queued = await api.deliveries(vendor)
        assert len(queued) == 10
        assert {d["status"] for d in queued} == {"pending"}
    finally:
        await api.aclose()
    quiet.stop()

    worker = make_server(delivery_env(smtp, hook))
    api = Api(worker.url)
    try:
        done = await wait_until(lambda: settled(api, vendor, 10), what="10 deliveries")
    finally:
        await api.aclose()
    assert all(d["status"] == "sent" and d["attempts"] == 1 for d in done)
    assert len(smtp.box.to(address)) == 5
    assert len({m.message["Message-ID"] for m in smtp.box.to(address)}) == 5
    assert sorted(b["text"] for b in hook.bodies()) == sorted(
        f"Payment of EUR 1.00 failed for order #{n}. Hold the order." for n in range(5)
    )


async def test_a_worker_killed_mid_send_is_taken_over_after_its_lease(
    make_server: ServerFactory, smtp: SmtpServer, hook: Hook, vendor: str
) -> None:
    # An SMTP server that accepts connections and never answers: the send hangs.
    hung: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hung.append(writer)

    blackhole = await asyncio.start_server(swallow, "127.0.0.1", free_port())
    port = blackhole.sockets[0].getsockname()[1]
    env = delivery_env(smtp, hook, TOCSIN_SMTP_PORT=str(port), TOCSIN_SMTP_TIMEOUT_SECONDS="4")
    first = make_server(env)
    api = Api(first.url)
    address = f"{vendor}@vendor.example"
    try:
        await api.contact(vendor, email=address)
        await api.event("order.created", order("K-1", (vendor, "S1", 1, "1.00")))

        async def sending() -> bool:
            return [d["status"] for d in await api.deliveries(vendor)] == ["sending"]

        await wait_until(sending, what="the send to hang")
        first.signal(signal.SIGKILL)
        first.wait(10)
    finally:
        await api.aclose()
        blackhole.close()
        for writer in hung:
            writer.close()
        await blackhole.wait_closed()

    second = make_server(delivery_env(smtp, hook))
    api = Api(second.url)
    try:
        [delivery] = await wait_until(lambda: settled(api, vendor, 1), what="the take-over")
    finally:
        await api.aclose()
    assert delivery["status"] == "sent"
    assert [a["status"] for a in delivery["attempt_log"]] == ["interrupted", "sent"]
    assert len(smtp.box.to(address)) == 1


async def test_mail_refused_for_now_is_retried(
    delivering: Server, smtp: SmtpServer, vendor: str
) -> None:
    smtp.box.refuse = True
    api = Api(delivering.url)
    address = f"{vendor}@vendor.example"
    try:
        await api.contact(vendor, email=address)
        await api.event("order.created", order("R-1", (vendor, "S1", 1, "1.00")))

        async def failed_once() -> bool:
            items = await api.deliveries(vendor)
            return bool(items) and items[0]["attempts"] >= 1 and items[0]["last_error"] is not None

        await wait_until(failed_once, what="a refused attempt")
        smtp.box.refuse = False
        [delivery] = await wait_until(lambda: settled(api, vendor, 1))
    finally:
        await api.aclose()
    assert delivery["status"] == "sent"
    assert "451" in delivery["attempt_log"][0]["error"]
    assert len(smtp.box.to(address)) == 1
