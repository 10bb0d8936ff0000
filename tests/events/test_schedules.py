"""Escalation, quiet hours, digests and direct notifications, end to end with real parts.

A tocsin of each backend pushes to the local push service (tests/_push.py),
texts through the SMS webhook and mails through aiosmtpd. Waiting is on what
those received or on the delivery log, never on a fixed sleep. Where a test
needs the clock to reach a time an hour away (the end of quiet hours, of a
digest period), it moves the quiet hours, or the delivery's due time in the
database, instead, and says so.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from tests._push import Browser, PushService
from tests._server import Server
from tests.conftest import ServerFactory, mint_token
from tests.events.conftest import (
    Api,
    Hook,
    SmtpServer,
    order,
    push_delivery_env,
    wait_until,
)
from tests.stream._sse import Stream
from tocsin import i18n
from tocsin.realtime.wire import iso
from tocsin.storage import migrate

PHONE = "+4915112345678"


@pytest.fixture
def env(push_service: PushService, smtp: SmtpServer, hook: Hook) -> dict[str, str]:
    return push_delivery_env(smtp, hook, push_service, grace=1)


@pytest.fixture
def scheduling(make_server: ServerFactory, env: dict[str, str]) -> Server:
    return make_server(env)


@pytest.fixture
async def api(scheduling: Server) -> AsyncIterator[Api]:
    a = Api(scheduling.url)
    yield a
    await a.aclose()


async def escalating(api: Api, vendor: str, push_s: int = 1, sms_s: int = 2) -> None:
    """`vendor` has a phone, escalates new orders after `push_s` and `sms_s`, and mails
    nothing (so the only texts and pushes are the escalation's)."""
    await api.contact(vendor, phone=PHONE)
    prefs = {
        "order_created": {
            "email": False,
            "sms": False,
            "push": False,
            "escalate": {"push_after_s": push_s, "sms_after_s": sms_s},
        }
    }
    r = await api.vendor(vendor).put("/api/v1/preferences", json=prefs)
    assert r.status_code == 200, r.text


async def subscribe(api: Api, vendor: str, browser: Browser, endpoint: str) -> None:
    r = await api.vendor(vendor).post(
        "/api/v1/push/subscriptions", json=browser.subscription(endpoint)
    )
    assert r.status_code == 201, r.text


async def settled(api: Api, vendor: str, count: int) -> list[dict[str, Any]]:
    """The vendor's deliveries, once there are `count` and none is pending or sending."""
    items = await api.deliveries(vendor)
    done = [d for d in items if d["status"] not in ("pending", "sending")]
    return items if len(items) == count and len(done) == count else []


def texts_to(hook: Hook, phone: str) -> list[dict[str, Any]]:
    return [b for b in hook.bodies() if b.get("to") == phone]


def execute(server: Server, sql: str, **params: Any) -> None:
    """Change the server's database directly (to stand in for the clock)."""
    engine = sa.create_engine(migrate.sync_url(server.env["TOCSIN_DATABASE_URL"]))
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def now_ms() -> int:
    return int(time.time() * 1000)


# -- escalation ---------------------------------------------------------------------


async def test_an_unseen_order_is_pushed_then_texted_on_the_escalation_schedule(
    api: Api, push_service: PushService, hook: Hook, vendor: str
) -> None:
    await escalating(api, vendor)
    browser = Browser()
    await subscribe(api, vendor, browser, push_service.endpoint("esc"))
    posted = time.monotonic()
    r = await api.event("order.created", order("E-1", (vendor, "S1", 1, "5.00")))
    assert r.status_code == 202, r.text
    [notification_id] = r.json()["notifications"]

    [push] = await wait_until(lambda: push_service.to("esc"), what="the escalation's push")
    assert push.at - posted >= 1.0
    assert browser.decrypt(push)["id"] == notification_id
    [sms] = await wait_until(lambda: texts_to(hook, PHONE), what="the escalation's SMS")
    assert time.monotonic() - posted >= 2.0
    assert "New order #E-1" in sms["text"]

    done = await wait_until(lambda: settled(api, vendor, 2))
    assert {(d["channel"], d["purpose"], d["status"]) for d in done} == {
        ("push", "escalation", "sent"),
        ("sms", "escalation", "sent"),
    }
    assert all(d["notification_id"] == notification_id for d in done)
    assert len(push_service.to("esc")) == 1
    assert len(texts_to(hook, PHONE)) == 1


async def test_nothing_escalates_once_a_tab_has_seen_the_order(
    api: Api, scheduling: Server, push_service: PushService, hook: Hook, vendor: str
) -> None:
    await escalating(api, vendor)
    await subscribe(api, vendor, Browser(), push_service.endpoint("seen"))
    async with Stream(scheduling.url, mint_token(scheduling.url, vendor)) as tab:
        r = await api.event("order.created", order("E-2", (vendor, "S1", 1, "5.00")))
        assert r.status_code == 202, r.text
        event = await tab.next()
        shown = event.data["notification"]["id"]
        seen = await api.vendor(vendor).post("/api/v1/notifications/seen", json={"ids": [shown]})
        assert seen.json() == {"updated": 1}
    done = await wait_until(lambda: settled(api, vendor, 2))
    assert {(d["channel"], d["status"]) for d in done} == {("push", "skipped"), ("sms", "skipped")}
    for d in done:
        assert d["purpose"] == "escalation"
        assert d["last_error"] == "cancelled: seen in a live tab"
        assert [a["status"] for a in d["attempt_log"]] == ["skipped"]
    assert push_service.to("seen") == []
    assert texts_to(hook, PHONE) == []


async def test_a_read_order_is_not_texted_after_its_push(
    api: Api, push_service: PushService, hook: Hook, vendor: str
) -> None:
    await escalating(api, vendor, push_s=1, sms_s=3)
    await subscribe(api, vendor, Browser(), push_service.endpoint("read"))
    r = await api.event("order.created", order("E-3", (vendor, "S1", 1, "5.00")))
    [notification_id] = r.json()["notifications"]
    await wait_until(lambda: push_service.to("read"), what="the push")
    read = await api.vendor(vendor).patch(
        f"/api/v1/notifications/{notification_id}", json={"read": True}
    )
    assert read.status_code == 200
    done = await wait_until(lambda: settled(api, vendor, 2), timeout=30)
    by_channel = {d["channel"]: d for d in done}
    assert by_channel["push"]["status"] == "sent"
    assert by_channel["sms"]["status"] == "skipped"
    assert by_channel["sms"]["last_error"] == "cancelled: read"
    assert texts_to(hook, PHONE) == []


async def test_a_restart_between_scheduling_and_firing_fires_once(
    make_server: ServerFactory,
    env: dict[str, str],
    push_service: PushService,
    hook: Hook,
    vendor: str,
) -> None:
    first = make_server(env)
    api = Api(first.url)
    try:
        await escalating(api, vendor, push_s=3, sms_s=4)
        await subscribe(api, vendor, Browser(), push_service.endpoint("restart"))
        r = await api.event("order.created", order("E-4", (vendor, "S1", 1, "5.00")))
        assert r.status_code == 202
        scheduled = await api.deliveries(vendor)
        assert {d["status"] for d in scheduled} == {"pending"}
        assert len(scheduled) == 2
    finally:
        await api.aclose()
    first.stop()
    assert push_service.to("restart") == [], "stopped before the push was due"

    second = make_server(env)
    api = Api(second.url)
    try:
        done = await wait_until(lambda: settled(api, vendor, 2), timeout=30)
        assert {(d["channel"], d["status"]) for d in done} == {("push", "sent"), ("sms", "sent")}
        assert all(d["attempts"] == 1 for d in done)
    finally:
        await api.aclose()
    assert len(push_service.to("restart")) == 1
    assert len(texts_to(hook, PHONE)) == 1


# -- quiet hours ------------------------------------------------------------------


def _hhmm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


async def test_an_sms_in_quiet_hours_waits_for_their_end_and_an_urgent_one_does_not(
    api: Api, hook: Hook, vendor: str
) -> None:
    client = api.vendor(vendor)
    await api.contact(vendor, phone=PHONE)
    # Quiet from an hour ago until an hour from now, on the vendor's clock (Tbilisi, UTC+4).
    zone = "Asia/Tbilisi"
    local_now = datetime.now(ZoneInfo(zone))
    start, end = local_now - timedelta(hours=1), local_now + timedelta(hours=1)
    quiet = {"start": _hhmm(start), "end": _hhmm(end)}
    r = await client.put("/api/v1/settings", json={"timezone": zone, "quiet_hours": quiet})
    assert r.status_code == 200, r.text
    expected_end = int(end.replace(second=0, microsecond=0).timestamp() * 1000)
    prefs = {
        "payment_received": {"sms": True, "email": False, "push": False},
        "payment_failed": {"email": False, "push": False, "escalate": None},
    }
    assert (await client.put("/api/v1/preferences", json=prefs)).status_code == 200
    money = {"vendor_id": vendor, "amount": "7", "currency": "EUR"}

    before = now_ms()
    assert (await api.event("payment.received", {**money, "order_id": "Q1"})).status_code == 202
    [held] = await api.deliveries(vendor)
    assert held["channel"] == "sms"
    assert held["status"] == "pending"
    assert held["held_until"] == iso(expected_end)
    assert held["next_attempt_at"] == iso(expected_end)
    held_from = datetime.fromisoformat(held["held_from"]).timestamp() * 1000
    assert before - 1000 <= held_from <= now_ms()

    # An urgent one (a failed payment) leaves at once, in the same quiet hours.
    assert (await api.event("payment.failed", {**money, "order_id": "Q2"})).status_code == 202
    [urgent] = await wait_until(lambda: texts_to(hook, PHONE), what="the urgent SMS")
    assert "Q2" in urgent["text"]
    items = await api.deliveries(vendor)
    failed = next(d for d in items if d["type"] == "payment_failed")
    assert failed["held_until"] is None
    assert texts_to(hook, PHONE) == [urgent], "the held one waits"

    # The clock reaches the end of the quiet hours. Instead of waiting an hour, the test
    # moves the quiet hours to ones that ended a minute ago: the change releases what
    # the old ones held, and the worker, looking at the new ones when it claims, sends it.
    now = datetime.now(ZoneInfo(zone))
    ended = {"start": _hhmm(now - timedelta(hours=2)), "end": _hhmm(now - timedelta(minutes=1))}
    r = await client.put("/api/v1/settings", json={"quiet_hours": ended})
    assert r.status_code == 200
    texts = await wait_until(lambda: len(texts_to(hook, PHONE)) == 2 and texts_to(hook, PHONE))
    assert "Q1" in texts[1]["text"]

    async def recorded() -> dict[str, Any] | None:
        # The worker records the send after the provider answered: wait for the record.
        row = next(d for d in await api.deliveries(vendor) if d["id"] == held["id"])
        return row if row["status"] != "sending" else None

    sent = await wait_until(recorded, what="the held SMS recorded")
    assert sent["status"] == "sent"
    assert sent["held_until"] == iso(expected_end), "the hold stays on the record"


async def test_quiet_hours_set_after_planning_hold_an_escalation_at_its_claim(
    api: Api, push_service: PushService, hook: Hook, vendor: str
) -> None:
    await escalating(api, vendor, push_s=2, sms_s=3)
    await subscribe(api, vendor, Browser(), push_service.endpoint("late"))
    r = await api.event("order.created", order("E-5", (vendor, "S1", 1, "5.00")))
    assert r.status_code == 202
    planned = await api.deliveries(vendor)
    assert [d["held_until"] for d in planned] == [None, None]
    # Then the vendor goes quiet, from an hour ago until an hour from now (UTC).
    local_now = datetime.now(ZoneInfo("UTC"))
    end = local_now + timedelta(hours=1)
    quiet = {"start": _hhmm(local_now - timedelta(hours=1)), "end": _hhmm(end)}
    r = await api.vendor(vendor).put("/api/v1/settings", json={"quiet_hours": quiet})
    assert r.status_code == 200
    expected_end = iso(int(end.replace(second=0, microsecond=0).timestamp() * 1000))

    async def held() -> list[dict[str, Any]]:
        items = await api.deliveries(vendor)
        return items if all(d["held_until"] for d in items) else []

    items = await wait_until(held, what="both escalation steps held at their claim")
    for d in items:
        assert d["status"] == "pending"
        assert d["held_until"] == expected_end
        assert d["next_attempt_at"] == expected_end
        assert d["attempts"] == 0, "a hold is no attempt"
        assert d["attempt_log"] == []
    assert push_service.to("late") == []
    assert texts_to(hook, PHONE) == []


@pytest.fixture
async def unswept(make_server: ServerFactory, env: dict[str, str]) -> AsyncIterator[Api]:
    """A tocsin whose Redis queue re-adds an overdue delivery only a minute (its lease)
    late: one made due sooner than queued goes soon only if the workers are told."""
    a = Api(make_server({**env, "TOCSIN_DELIVERY_LEASE_SECONDS": "60"}).url)
    yield a
    await a.aclose()


async def quiet_now(client: httpx.AsyncClient, hours: int = 1, zone: str = "UTC") -> int:
    """Make the vendor of `client` quiet from `hours` ago until `hours` from now on the
    clock of `zone`; their end (ms)."""
    local_now = datetime.now(ZoneInfo(zone))
    start, end = local_now - timedelta(hours=hours), local_now + timedelta(hours=hours)
    quiet = {"start": _hhmm(start), "end": _hhmm(end)}
    r = await client.put("/api/v1/settings", json={"timezone": zone, "quiet_hours": quiet})
    assert r.status_code == 200, r.text
    return int(end.replace(second=0, microsecond=0).timestamp() * 1000)


async def a_held_email(api: Api, vendor: str) -> tuple[dict[str, Any], str, int, str]:
    """`vendor` mails payments at once and is quiet now (UTC, an hour either side); a
    payment's email waits for their end. `(its delivery, the address, the end (ms), the
    notification's id)`."""
    address = f"{vendor}@vendor.example"
    await api.contact(vendor, email=address)
    prefs = {"payment_received": {"email": True, "sms": False, "push": False}}
    assert (await api.vendor(vendor).put("/api/v1/preferences", json=prefs)).status_code == 200
    end = await quiet_now(api.vendor(vendor))
    money = {"vendor_id": vendor, "order_id": "R1", "amount": "7", "currency": "EUR"}
    r = await api.event("payment.received", money)
    assert r.status_code == 202, r.text
    [notification_id] = r.json()["notifications"]
    [held] = await api.deliveries(vendor)
    assert (held["channel"], held["status"]) == ("email", "pending")
    assert held["held_until"] == held["next_attempt_at"] == iso(end)
    assert held["released_at"] is None
    return held, address, end, notification_id


async def settled_one(api: Api, vendor: str, delivery_id: str) -> dict[str, Any] | None:
    """The delivery once it is sent, failed or skipped (the record follows the send)."""
    row = next(d for d in await api.deliveries(vendor) if d["id"] == delivery_id)
    return row if row["status"] not in ("pending", "sending") else None


async def test_a_held_email_goes_soon_after_the_vendor_turns_quiet_hours_off(
    unswept: Api, smtp: SmtpServer, vendor: str
) -> None:
    api = unswept
    held, address, end, notification_id = await a_held_email(api, vendor)
    turned_off = now_ms()
    r = await api.vendor(vendor).put("/api/v1/settings", json={"quiet_hours": None})
    assert r.status_code == 200, r.text
    assert r.json()["quiet_hours"] is None
    # Well before the old end (an hour away) and before the queue's sweep (a minute).
    [mail] = await wait_until(lambda: smtp.box.to(address), what="the released email")
    assert "R1" in mail.part("plain")
    sent = await wait_until(lambda: settled_one(api, vendor, held["id"]), what="the record")
    assert sent["status"] == "sent"
    assert sent["attempts"] == 1
    # The hold stays on the record, and when it was let go.
    assert (sent["held_from"], sent["held_until"]) == (held["held_from"], iso(end))
    released = datetime.fromisoformat(sent["released_at"]).timestamp() * 1000
    assert turned_off - 1000 <= released <= now_ms()

    r = await api.vendor(vendor).get(f"/api/v1/notifications/{notification_id}/deliveries")
    assert r.status_code == 200, r.text
    steps = [s["what"] for s in r.json()["timeline"] if s["channel"] == "email"]
    assert steps == ["queued", "held", "released", "sent"], steps
    [story] = r.json()["deliveries"]
    assert story["released_at"] == sent["released_at"]


async def test_quiet_hours_changed_to_ones_that_still_cover_now_hold_until_their_new_end(
    unswept: Api, smtp: SmtpServer, vendor: str
) -> None:
    api = unswept
    held, address, _, _ = await a_held_email(api, vendor)
    # Longer ones: from two hours ago until two hours from now.
    new_end = iso(await quiet_now(api.vendor(vendor), hours=2))

    async def held_again() -> dict[str, Any] | None:
        [row] = await api.deliveries(vendor)
        return row if row["held_until"] == new_end else None

    row = await wait_until(held_again, what="the email held again at its claim")
    assert row["status"] == "pending"
    assert row["next_attempt_at"] == new_end
    assert row["held_from"] == held["held_from"], "due then, as before"
    assert row["released_at"] is None, "held again: not released"
    assert row["attempts"] == 0, "a hold is no attempt"
    assert row["attempt_log"] == []
    assert smtp.box.to(address) == []


async def test_a_settings_change_that_leaves_quiet_hours_alone_leaves_held_deliveries_alone(
    api: Api, vendor: str
) -> None:
    held, _, _, _ = await a_held_email(api, vendor)
    client = api.vendor(vendor)
    current = (await client.get("/api/v1/settings")).json()
    # The release would be in the transaction of the change: the row tells at once.
    for change in (
        {"locale": "ka"},
        {"digest_hour": 6},
        {"quiet_hours": current["quiet_hours"], "timezone": current["timezone"]},
    ):
        r = await client.put("/api/v1/settings", json=change)
        assert r.status_code == 200, r.text
        assert await api.deliveries(vendor) == [held], change


async def test_quiet_hours_on_another_clock_release_what_they_held(
    unswept: Api, smtp: SmtpServer, vendor: str
) -> None:
    api = unswept
    held, address, _, _ = await a_held_email(api, vendor)
    # The publisher moves the vendor twelve hours east (Kamchatka: UTC+12, no daylight
    # saving): the same quiet hours on its clock do not cover now.
    r = await api.publisher.put(
        f"/api/v1/vendors/{vendor}/contact",
        json={"email": address, "phone": None, "timezone": "Asia/Kamchatka"},
    )
    assert r.status_code == 200, r.text
    await wait_until(lambda: smtp.box.to(address), what="the released email")
    sent = await wait_until(lambda: settled_one(api, vendor, held["id"]), what="the record")
    assert sent["status"] == "sent"
    assert sent["released_at"] is not None


# -- digests ------------------------------------------------------------------------


async def test_an_hourly_digest_lists_exactly_its_periods_items(
    api: Api, scheduling: Server, smtp: SmtpServer, vendor: str
) -> None:
    address = f"{vendor}@vendor.example"
    await api.contact(vendor, email=address)
    prefs = {"stock_low": {"email": True, "email_mode": "hourly", "push": False}}
    assert (await api.vendor(vendor).put("/api/v1/preferences", json=prefs)).status_code == 200

    def stock(sku: str) -> dict[str, Any]:
        return {"vendor_id": vendor, "sku": sku, "name": f"Mug {sku}", "quantity": 1}

    sent_from = datetime.now(UTC)
    for sku in ("A", "B"):
        assert (await api.event("stock.low", stock(sku))).status_code == 202
    sent_until = datetime.now(UTC)
    [digest] = await api.deliveries(vendor)
    assert digest["purpose"] == "digest"
    assert digest["status"] == "pending"
    assert digest["recipient"] == address
    period_end = datetime.fromisoformat(digest["next_attempt_at"])
    assert period_end.minute == 0
    assert period_end.second == 0
    assert 0 < period_end.timestamp() - time.time() <= 3600

    # The period ends: the test moves the digest's due time to a minute ago.
    execute(
        scheduling,
        "UPDATE deliveries SET next_attempt_at = :due WHERE id = :id",
        due=now_ms() - 60_000,
        id=int(digest["id"]),
    )
    [mail] = await wait_until(lambda: smtp.box.to(address), what="the first digest")
    text = mail.part("plain")
    assert mail.message["Subject"] == "Your digest: 2 notifications"
    assert "Mug A" in text
    assert "Mug B" in text
    # Each item's time as the vendor's language writes it (English: "7:05 PM"), on its clock.
    assert any(i18n.clock(at, "en", "UTC") in text for at in (sent_from, sent_until)), text

    # Arriving after that digest left, in the same hour: the next period's digest.
    assert (await api.event("stock.low", stock("C"))).status_code == 202
    items = await api.deliveries(vendor)
    assert len(items) == 2
    later = next(d for d in items if d["id"] != digest["id"])
    assert later["purpose"] == "digest"
    next_end = datetime.fromisoformat(later["next_attempt_at"])
    assert next_end - period_end == timedelta(hours=1)
    execute(
        scheduling,
        "UPDATE deliveries SET next_attempt_at = :due WHERE id = :id",
        due=now_ms() - 60_000,
        id=int(later["id"]),
    )
    mails = await wait_until(lambda: len(smtp.box.to(address)) == 2 and smtp.box.to(address))
    second = mails[1].part("plain")
    assert mails[1].message["Subject"] == "Your digest: 1 notification"
    assert "Mug C" in second
    assert "Mug A" not in second
    assert "Mug B" not in second
    # No period without items has a digest, so nothing else is sent.
    done = await wait_until(lambda: settled(api, vendor, 2))
    assert {d["status"] for d in done} == {"sent"}
    assert len(smtp.box.to(address)) == 2


# -- direct notifications ---------------------------------------------------------------


async def test_a_direct_notification_follows_the_preferences_of_its_type(
    api: Api, smtp: SmtpServer, hook: Hook, vendor: str
) -> None:
    address = f"{vendor}@vendor.example"
    await api.contact(vendor, email=address, phone=PHONE)
    prefs = {"stock_low": {"email": True, "sms": True, "push": False}}
    assert (await api.vendor(vendor).put("/api/v1/preferences", json=prefs)).status_code == 200
    body = {
        "type": "stock_low",
        "title": "Mugs are <nearly> gone",
        "body": "Two left & selling fast",
        "link": "/products/mug",
    }
    r = await api.publisher.post(f"/api/v1/vendors/{vendor}/notifications", json=body)
    assert r.status_code == 201, r.text
    notification_id = r.json()["id"]
    [mail] = await wait_until(lambda: smtp.box.to(address), what="the email")
    assert mail.message["Subject"] == "Mugs are <nearly> gone"
    assert "Two left & selling fast" in mail.part("plain")
    assert "https://shop.example/products/mug" in mail.part("plain")
    assert "Mugs are &lt;nearly&gt; gone" in mail.part("html")
    [sms] = await wait_until(lambda: texts_to(hook, PHONE), what="the SMS")
    assert sms["text"] == "Mugs are <nearly> gone"
    done = await wait_until(lambda: settled(api, vendor, 2))
    assert {d["notification_id"] for d in done} == {notification_id}
    assert {d["purpose"] for d in done} == {"instant"}

    # The same request again (its dedupe key): the same notification, nothing sent again.
    again = {**body, "dedupe_key": "mugs"}
    first = await api.publisher.post(f"/api/v1/vendors/{vendor}/notifications", json=again)
    assert first.status_code == 201
    repeat = await api.publisher.post(f"/api/v1/vendors/{vendor}/notifications", json=again)
    assert repeat.status_code == 200
    assert repeat.json()["id"] == first.json()["id"]
    await wait_until(lambda: settled(api, vendor, 4))
    assert len(smtp.box.to(address)) == 2


async def test_a_direct_notification_of_its_own_type_is_only_in_the_app_and_escalates_none(
    api: Api, vendor: str
) -> None:
    await api.contact(vendor, email=f"{vendor}@vendor.example", phone=PHONE)
    r = await api.publisher.post(
        f"/api/v1/vendors/{vendor}/notifications",
        json={"type": "announcement", "title": "Hello", "priority": "urgent"},
    )
    assert r.status_code == 201, r.text
    listed = (await api.vendor(vendor).get("/api/v1/notifications")).json()["items"]
    assert [n["id"] for n in listed] == [r.json()["id"]]
    assert await api.deliveries(vendor) == []


async def test_a_direct_order_escalates_like_an_events(
    api: Api, push_service: PushService, hook: Hook, vendor: str
) -> None:
    await escalating(api, vendor)
    browser = Browser()
    await subscribe(api, vendor, browser, push_service.endpoint("direct"))
    r = await api.publisher.post(
        f"/api/v1/vendors/{vendor}/notifications",
        json={"type": "order_created", "title": "Phone order #7", "priority": "high"},
    )
    assert r.status_code == 201, r.text
    [push] = await wait_until(lambda: push_service.to("direct"), what="the push")
    assert browser.decrypt(push)["title"] == "Phone order #7"
    [sms] = await wait_until(lambda: texts_to(hook, PHONE), what="the SMS")
    assert sms["text"] == "Phone order #7"
    done = await wait_until(lambda: settled(api, vendor, 2))
    assert {d["purpose"] for d in done} == {"escalation"}
