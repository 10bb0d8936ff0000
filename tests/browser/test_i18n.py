"""The dashboard in the vendor's language and clock, and the preferences page that sets them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, expect

from tests._server import Server
from tests.browser.conftest import sign_in
from tests.browser.test_dashboard import open_dashboard, publish, status
from tests.browser.test_phone import SMALL_TARGETS, TAP_MIN, no_sideways_scroll
from tests.conftest import mint_token
from tocsin import i18n


def _as(web: Server, vendor: str) -> httpx.Client:
    token = mint_token(web.url, vendor)
    return httpx.Client(base_url=web.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


async def test_a_georgian_dashboard_shows_times_on_the_vendors_clock(
    browser: Browser, web: Server, vendor: str
) -> None:
    with _as(web, vendor) as api:
        r = api.put("/api/v1/settings", json={"locale": "ka", "timezone": "Asia/Tbilisi"})
        assert r.status_code == 200, r.text
    created = publish(web.url, vendor, "Order #1")["created_at"]
    # The browser's own clock is New York's: the page must not use it.
    ctx = await browser.new_context(timezone_id="America/New_York", locale="en-US")
    try:
        page = await open_dashboard(ctx, web.url, vendor)
        await expect(page.locator("html")).to_have_attribute("lang", "ka")
        await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
        await expect(page.locator("[data-tocsin='status'] .status-word")).to_have_text("ცოცხალი")
        await expect(page.locator(".mainnav")).to_contain_text("შეტყობინებები")
        item = page.locator("[data-list] [data-tocsin='notification']").first
        await expect(item.locator(".chip").first).to_have_text("ახალი შეკვეთა")
        await expect(item.locator("[data-toggle-read]")).to_have_text("წაკითხულად მონიშვნა")
        title = await item.locator("time").get_attribute("title")
        when = await item.locator("time").text_content()
    finally:
        await ctx.close()
    # The same words and clock as the server's Babel: medium date, short time, in Tbilisi.
    tbilisi = (
        f"{i18n.day(created, 'ka', 'Asia/Tbilisi')}, {i18n.clock(created, 'ka', 'Asia/Tbilisi')}"
    )
    assert title == tbilisi
    moment = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    assert moment.astimezone(ZoneInfo("Asia/Tbilisi")).strftime("%H:%M") in tbilisi
    assert when == "ახლახან"


async def test_the_preferences_page_edits_settings_and_preferences(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    page = await open_dashboard(context, web.url, vendor)
    await page.goto(f"{web.url}/dashboard/preferences")
    settings = page.locator("[data-settings]")
    await expect(settings).to_be_visible()
    await expect(page.locator("[data-prefs]")).to_be_visible()
    await expect(page.locator("[data-quiet-times]")).to_be_hidden()

    # Settings: a new clock re-renders the page on it.
    await settings.locator("[data-setting='timezone']").select_option("Asia/Tbilisi")
    await settings.locator("[data-quiet-on]").check()
    await settings.locator("[data-quiet-start]").fill("23:00")
    await settings.locator("[data-quiet-end]").fill("06:30")
    await settings.locator("[data-setting='digest_hour']").select_option("9")
    async with page.expect_navigation():
        await settings.locator("button[type=submit]").click()
    await expect(page.locator("body")).to_have_attribute("data-timezone", "Asia/Tbilisi")
    await expect(settings.locator("[data-quiet-start]")).to_have_value("23:00")
    with _as(web, vendor) as api:
        assert api.get("/api/v1/settings").json() == {
            "locale": "en",
            "timezone": "Asia/Tbilisi",
            "quiet_hours": {"start": "23:00", "end": "06:30"},
            "digest_hour": 9,
        }

    # Preferences: channels, the email digest and escalation, per type.
    order = page.locator("[data-prefs-rows] [data-type='order_created']")
    failed = page.locator("[data-prefs-rows] [data-type='payment_failed']")
    review = page.locator("[data-prefs-rows] [data-type='review_created']")
    await expect(order.locator("[data-escalate]")).to_have_value("on")
    await expect(order.locator("[data-push-after]")).to_have_value("1")
    await expect(order.locator("[data-sms-after]")).to_have_value("15")
    await expect(review.locator("[data-push-after]")).to_be_hidden()
    await order.locator("[data-email-mode]").select_option("daily")
    await order.locator("[data-push-after]").fill("2")
    await order.locator("[data-sms-after]").fill("30")
    await failed.locator("[data-escalate]").select_option("off")
    await review.locator("[data-channel-input='push']").check()
    await review.locator("[data-escalate]").select_option("on")
    await review.locator("[data-push-after]").fill("0.5")
    await review.locator("[data-sms-after]").fill("45")
    await page.locator("[data-prefs] button[type=submit]").click()
    await expect(page.locator("[data-prefs-result]")).to_have_text("Saved.")
    with _as(web, vendor) as api:
        prefs = api.get("/api/v1/preferences").json()
    assert prefs["order_created"]["email_mode"] == "daily"
    assert prefs["order_created"]["escalate"] == {"push_after_s": 120, "sms_after_s": 1800}
    assert prefs["payment_failed"]["escalate"] is None
    assert prefs["review_created"]["push"] is True
    assert prefs["review_created"]["escalate"] == {"push_after_s": 30, "sms_after_s": 2700}

    # Language: the page comes back in Georgian.
    async with page.expect_navigation():
        await settings.locator("[data-setting='locale']").select_option("ka")
        await settings.locator("button[type=submit]").click()
    await expect(page.locator("html")).to_have_attribute("lang", "ka")
    await expect(page.locator("h1")).to_have_text("პარამეტრები")
    await expect(page.locator("[data-prefs-rows] [data-type='order_created'] legend")).to_have_text(
        "ახალი შეკვეთა"
    )
    with _as(web, vendor) as api:
        assert api.get("/api/v1/settings").json()["locale"] == "ka"


@pytest.fixture(params=[390, 360], ids=["390", "360"])
async def phone(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[BrowserContext]:
    """A phone's screen, as in test_phone."""
    ctx = await browser.new_context(
        viewport={"width": request.param, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield ctx
    await ctx.close()


@pytest.mark.parametrize(
    "path", ["/dashboard", "/dashboard/notifications", "/dashboard/preferences"]
)
async def test_the_georgian_dashboard_fits_a_phone(
    phone: BrowserContext, web: Server, vendor: str, path: str
) -> None:
    """Georgian words run longer than English ones: still no sideways scroll, every
    control big enough to tap."""
    with _as(web, vendor) as api:
        r = api.put(
            "/api/v1/settings",
            json={"locale": "ka", "quiet_hours": {"start": "22:00", "end": "07:00"}},
        )
        assert r.status_code == 200, r.text
    publish(web.url, vendor, "ახალი შეკვეთა #1042", priority="urgent", link="/orders/1042")
    page = await phone.new_page()
    await sign_in(page, web.url, vendor)
    await page.goto(web.url + path)
    await expect(page.locator("html")).to_have_attribute("lang", "ka")
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    if path == "/dashboard/preferences":
        await expect(page.locator("[data-prefs]")).to_be_visible()
        await expect(page.locator("[data-settings]")).to_be_visible()
        await expect(page.locator("[data-quiet-times]")).to_be_visible()
    else:
        await expect(page.locator("[data-list] [data-tocsin='notification']")).to_have_count(1)
    await no_sideways_scroll(page)
    assert await page.evaluate(SMALL_TARGETS, TAP_MIN) == []
