"""The dashboard's notifications page (filters, selection, bulk actions) and preferences page."""

from __future__ import annotations

import httpx
from playwright.async_api import BrowserContext, expect

from tests._server import Server
from tests.browser.test_dashboard import open_dashboard, publish
from tests.conftest import mint_token


async def test_notifications_page_filters_selects_and_acts_in_bulk(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    publish(web.url, vendor, "Payment failed for #7", priority="urgent", type="payment_failed")
    for n in range(3):
        publish(web.url, vendor, f"New order #{n}")
    page = await open_dashboard(context, web.url, vendor)
    await page.goto(f"{web.url}/dashboard/notifications?priority=urgent")
    rows = page.locator("[data-list] [data-tocsin='notification']")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Payment failed for #7")

    await page.fill("input[name=q]", "order #1")
    await page.select_option("select[name=priority]", "")
    await page.click("[data-filters] button[type=submit]")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("New order #1")

    await page.goto(f"{web.url}/dashboard/notifications")
    await expect(rows).to_have_count(4)
    await rows.nth(0).locator(".item-select").check()
    await rows.nth(1).locator(".item-select").check()
    await expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    await page.click("[data-bulk='archive']")
    await expect(page.locator("[data-bulk-result]")).to_have_text("2 updated")
    await expect(rows).to_have_count(2)
    await expect(page.locator("[data-tocsin='unread-count']")).to_have_text("2")

    await page.locator("[data-select-all]").check()
    await page.click("[data-bulk='mark_read']")
    await expect(page.locator("[data-tocsin='unread-count']")).to_have_text("0")
    await expect(page.locator("[data-list] [data-read='true']")).to_have_count(2)

    await page.goto(f"{web.url}/dashboard/notifications?archived=only")
    await expect(rows).to_have_count(2)


async def test_preferences_page_saves_choices(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    page = await open_dashboard(context, web.url, vendor)
    await page.goto(f"{web.url}/dashboard/preferences")
    email = page.locator("[data-type='order_created'] input[name='order_created.email']")
    await expect(email).to_be_visible()
    before = await email.is_checked()
    await email.set_checked(not before)
    await page.click("[data-prefs] button[type=submit]")
    await expect(page.locator("[data-prefs-result]")).to_have_text("Saved.")
    token = mint_token(web.url, vendor)
    prefs = httpx.get(
        f"{web.url}/api/v1/preferences", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert prefs["order_created"]["email"] is (not before)
