"""Admin pages in a real Chromium: sign-in, CSRF, overview, test notifications."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, expect

from tests._server import Server
from tests.browser.conftest import create_admin, sign_in


async def test_admin_login_rejects_a_wrong_password_and_a_form_without_csrf(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    create_admin(web, "alice", "correct horse battery")
    page = await context.new_page()
    await page.goto(f"{web.url}/admin")
    await expect(page).to_have_url(f"{web.url}/admin/login")

    await page.fill("input[name=username]", "alice")
    await page.fill("input[name=password]", "wrong password")
    await page.click("button[type=submit]")
    await expect(page.locator("[data-login-error]")).to_have_text("Wrong username or password.")
    await expect(page).to_have_url(f"{web.url}/admin/login")

    # The login form without its CSRF token (the right password, even) is refused.
    no_token = await page.request.post(
        f"{web.url}/admin/login",
        form={"username": "alice", "password": "correct horse battery"},
        max_redirects=0,
    )
    assert no_token.status == 403

    await page.fill("input[name=password]", "correct horse battery")
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{web.url}/admin")
    await expect(page.locator("h1")).to_have_text("Overview")

    # A signed-in admin's form post without the token, or with a wrong one: 403.
    target = f"{web.url}/admin/vendors/{vendor}/notifications"
    fields = {"title": "Test", "body": "", "type": "test", "priority": "normal", "link": ""}
    for extra in ({}, {"csrf_token": "forged"}):
        refused = await page.request.post(target, form={**fields, **extra}, max_redirects=0)
        assert refused.status == 403
        assert "security token" in await refused.text()

    # Through the page, with its token, it goes through.
    await page.goto(f"{web.url}/admin/vendors/{vendor}")
    await page.fill("[data-test-form] input[name=title]", "Hello from the admin")
    await page.click("[data-test-form] button[type=submit]")
    await expect(page.locator(".flash")).to_contain_text("Test notification")
    await expect(page.locator("[data-notifications] tbody tr")).to_have_count(1)
    await expect(page.locator("[data-notifications]")).to_contain_text("Hello from the admin")


async def test_admin_overview_counts_vendors_and_open_streams(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    create_admin(web, "bob", "another long password")
    dashboard = await context.new_page()
    await sign_in(dashboard, web.url, vendor)
    await expect(dashboard.locator("[data-tocsin='status']")).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    admin = await context.new_page()
    await admin.goto(f"{web.url}/admin/login")
    await admin.fill("input[name=username]", "bob")
    await admin.fill("input[name=password]", "another long password")
    await admin.click("button[type=submit]")
    await expect(admin).to_have_url(f"{web.url}/admin")
    await dashboard.locator("[data-demo]").click()
    await expect(dashboard.locator("[data-tocsin='unread-count']")).to_have_text(
        re.compile("[1-9]"), timeout=5000
    )
    # The overview lists vendors by id, a page at a time: start at this one.
    await admin.goto(f"{web.url}/admin?from={vendor}")
    row = admin.locator(f"[data-vendor='{vendor}']")
    await expect(row).to_be_visible()
    await expect(row.locator("[data-streams]")).to_have_text("1")


async def test_admin_sends_a_marketplace_event_and_shows_the_delivery_log(
    context: BrowserContext, web: Server
) -> None:
    create_admin(web, "carol", "yet another password")
    page = await context.new_page()
    await page.goto(f"{web.url}/admin/login")
    await page.fill("input[name=username]", "carol")
    await page.fill("input[name=password]", "yet another password")
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{web.url}/admin")

    await page.goto(f"{web.url}/admin/events?type=order.created")
    await page.click("[data-event-form] button[type=submit]")
    # The sample order has items of two vendors: one notification each.
    await expect(page.locator(".flash")).to_contain_text("accepted: 2 notification(s)")
    await page.fill("[data-event-form] textarea[name=data]", "{not json")
    await page.click("[data-event-form] button[type=submit]")
    await expect(page.locator("[data-event-form] .error")).to_contain_text("data: not JSON")

    await page.goto(f"{web.url}/admin/deliveries")
    await expect(page.locator("h1")).to_have_text("Delivery log")
    await expect(page.locator("[data-deliveries]")).to_be_visible()
