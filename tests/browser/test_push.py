"""Web Push in a real Chromium: the service worker, the seen grace, the dashboard's control.

Chromium cannot subscribe to a real push service offline, so a push reaches
the service worker through the DevTools protocol
(`ServiceWorker.deliverPushMessage`), and `registration.getNotifications()`
shows what it displayed. For the grace, the server pushes to a local push
service (`tests._push`) while a dashboard tab shows the notification.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, CDPSession, Page, expect

from tests._push import Browser as PushKeys
from tests._push import PushService
from tests._server import API_KEY, Server, free_port
from tests.browser.conftest import HEARTBEAT, sign_in
from tests.conftest import backend_env, mint_token
from tests.events.conftest import wait_until
from tocsin.delivery.push import generate_keys

PUBLIC, PRIVATE = generate_keys()
SW = "/static/tocsin-sw.js"
NOTIFICATIONS = """async () => {
  const registration = await navigator.serviceWorker.getRegistration('/static/tocsin-sw.js');
  const shown = registration ? await registration.getNotifications() : [];
  return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
}"""
REGISTER = """async () => {
  const registration = await navigator.serviceWorker.register('/static/tocsin-sw.js');
  const worker = registration.installing || registration.waiting || registration.active;
  if (worker.state !== 'activated') {
    await new Promise((resolve) => worker.addEventListener('statechange', () => {
      if (worker.state === 'activated') resolve();
    }));
  }
  return registration.scope;
}"""


@pytest.fixture(scope="module")
def push_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def push_web(tmp_path_factory: pytest.TempPathFactory, push_port: int) -> Iterator[Server]:
    """A tocsin with VAPID keys, a 1 s grace, and a local push service allowed."""
    tmp = tmp_path_factory.mktemp("browser-push")
    env = backend_env("sqlite", tmp, "", "")
    env.update(
        {
            "TOCSIN_HEARTBEAT_SECONDS": HEARTBEAT,
            "TOCSIN_VAPID_PUBLIC_KEY": PUBLIC,
            "TOCSIN_VAPID_PRIVATE_KEY": PRIVATE,
            "TOCSIN_VAPID_SUBJECT": "mailto:ops@shop.example",
            "TOCSIN_PUSH_GRACE_SECONDS": "1",
            "TOCSIN_PUSH_ALLOW_HOSTS": f"127.0.0.1:{push_port}",
            "TOCSIN_PUSH_TIMEOUT_SECONDS": "3",
            "TOCSIN_DELIVERY_POLL_SECONDS": "0.1",
            "TOCSIN_RELAY_INTERVAL_SECONDS": "0.2",
        }
    )
    srv = Server(env, tmp / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture
async def push_service(push_port: int) -> AsyncIterator[PushService]:
    service = await PushService(push_port).start()
    yield service
    await service.stop()


@pytest.fixture
async def granted(browser: Browser, push_web: Server) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    await ctx.grant_permissions(["notifications"], origin=push_web.url)
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    yield ctx
    await ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


async def registration_id(cdp: CDPSession) -> str:
    found: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    await cdp.send("ServiceWorker.enable")
    ours = await wait_until(
        lambda: [r for r in found if r["scopeURL"].endswith("/static/") and not r["isDeleted"]],
        what="the service worker's registration",
    )
    return str(ours[0]["registrationId"])


async def deliver(cdp: CDPSession, origin: str, registration: str, data: dict[str, Any]) -> None:
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": registration, "data": json.dumps(data)},
    )


async def shown(page: Page) -> list[dict[str, Any]]:
    return list(await page.evaluate(NOTIFICATIONS))


async def test_the_service_worker_shows_a_push_when_no_dashboard_is_visible(
    granted: BrowserContext, push_web: Server
) -> None:
    page = await granted.new_page()
    # A page of tocsin's origin that is not the dashboard: the worker is alone.
    await page.goto(f"{push_web.url}/healthz")
    assert (await page.evaluate(REGISTER)).endswith(SW.rsplit("/", 1)[0] + "/")
    cdp = await granted.new_cdp_session(page)
    registration = await registration_id(cdp)
    push = {
        "id": "01J0PUSH0000000000000000001",
        "type": "order_created",
        "title": "New order #77: 1 item, EUR 5.00",
        "body": "Ada ordered a mug",
        "link": "/dashboard/notifications",
        "priority": "high",
    }
    await deliver(cdp, push_web.url, registration, push)
    [notification] = await wait_until(lambda: shown(page), what="the notification")
    assert notification["title"] == push["title"]
    assert notification["body"] == "Ada ordered a mug"
    assert notification["tag"] == push["id"]
    assert notification["data"] == {
        "id": push["id"],
        "link": f"{push_web.url}/dashboard/notifications",
    }


async def test_no_notification_while_a_dashboard_tab_is_visible(
    granted: BrowserContext, push_web: Server
) -> None:
    vendor = f"v-{uuid.uuid4().hex[:12]}"
    page = await granted.new_page()
    await sign_in(page, push_web.url, vendor)
    assert page.url == f"{push_web.url}/dashboard"
    await page.evaluate(REGISTER)
    assert await page.evaluate("document.visibilityState") == "visible"
    cdp = await granted.new_cdp_session(page)
    registration = await registration_id(cdp)
    await deliver(cdp, push_web.url, registration, {"id": "live", "title": "Seen live"})
    # Nothing shows while the dashboard is visible ...
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert await shown(page) == []
    # ... and the same worker shows the next push once no dashboard is left.
    await page.goto(f"{push_web.url}/healthz")
    await deliver(cdp, push_web.url, registration, {"id": "later", "title": "Nobody looking"})
    notes = await wait_until(lambda: shown(page), what="the later notification")
    assert [n["tag"] for n in notes] == ["later"]


async def test_a_dashboard_tab_marks_seen_and_the_push_is_skipped(
    granted: BrowserContext, push_web: Server, push_service: PushService
) -> None:
    vendor = f"v-{uuid.uuid4().hex[:12]}"
    token = mint_token(push_web.url, vendor)
    keys = PushKeys()
    async with httpx.AsyncClient(
        base_url=push_web.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as me:
        r = await me.post(
            "/api/v1/push/subscriptions", json=keys.subscription(push_service.endpoint(vendor))
        )
        assert r.status_code == 201, r.text
        # The grace push, not the escalation's (which waits a minute by default).
        prefs = {"order_created": {"escalate": None}}
        assert (await me.put("/api/v1/preferences", json=prefs)).status_code == 200
        page = await granted.new_page()
        await sign_in(page, push_web.url, vendor)
        status = page.locator("[data-tocsin='status']")
        await expect(status).to_have_attribute("data-state", "live", timeout=10_000)
        event = {
            "id": uuid.uuid4().hex,
            "type": "order.created",
            "occurred_at": "2024-05-01T12:00:00Z",
            "data": {
                "order_id": "B-1",
                "currency": "EUR",
                "customer": {"name": "Ada"},
                "items": [
                    {
                        "vendor_id": vendor,
                        "sku": "S",
                        "name": "Mug",
                        "quantity": 1,
                        "unit_price": "5",
                    }
                ],
            },
        }
        r = await me.post(
            "/api/v1/events", json=event, headers={"Authorization": f"Bearer {API_KEY}"}
        )
        assert r.status_code == 202, r.text
        await expect(page.locator("[data-tocsin='toast']")).to_have_count(1, timeout=5000)

        async def skipped() -> list[dict[str, Any]]:
            items = (await me.get("/api/v1/deliveries", params={"channel": "push"})).json()
            return [d for d in items["items"] if d["status"] == "skipped"]

        [delivery] = await wait_until(skipped, what="the skipped push")
        assert "seen" in delivery["attempt_log"][0]["error"]
        listed = (await me.get("/api/v1/notifications")).json()["items"]
        assert listed[0]["seen_at"] is not None
        assert listed[0]["read_at"] is None
    assert push_service.to(vendor) == []


async def test_the_dashboard_offers_push_on_this_device(
    granted: BrowserContext, push_web: Server, tmp_path: Path
) -> None:
    vendor = f"v-{uuid.uuid4().hex[:12]}"
    page = await granted.new_page()
    await sign_in(page, push_web.url, vendor)
    panel = page.locator("[data-push]")
    await expect(panel).to_be_visible()
    await expect(panel).to_have_attribute("data-state", "off", timeout=5000)
    enable = panel.locator("[data-push-enable]")
    await expect(enable).to_have_text("Notify me on this device")
    manifest = await page.evaluate(
        "fetch(document.querySelector('link[rel=manifest]').href).then((r) => r.json())"
    )
    assert manifest["start_url"] == "/dashboard"
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        r = await page.request.get(push_web.url + icon["src"])
        assert r.status == 200
        assert r.headers["content-type"] == "image/png"


async def test_without_vapid_keys_the_dashboard_offers_no_push(
    context: BrowserContext, web: Server
) -> None:
    page = await context.new_page()
    await sign_in(page, web.url, f"v-{uuid.uuid4().hex[:12]}")
    await expect(page.locator("[data-tocsin='status']")).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    await expect(page.locator("[data-push]")).to_be_hidden()
