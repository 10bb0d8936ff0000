"""The dashboard on a phone (390 x 844 and 360 wide, touch): nothing scrolls sideways, the
bell, count and status stay on screen, every control is big enough to tap, toasts fit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests._server import Server
from tests.browser.conftest import sign_in
from tests.browser.test_dashboard import publish

PAGES = ["/dashboard", "/dashboard/notifications", "/dashboard/preferences"]
TAP_MIN = 44

# Every visible control smaller than `TAP_MIN` px either way. A checkbox counts by its
# label (the tap target); a link inside running text is exempt (WCAG 2.5.8).
SMALL_TARGETS = """(min) => {
  const small = [];
  for (const el of document.querySelectorAll("a, button, input, select, textarea, summary")) {
    if (el.closest("[hidden]") || el.matches("p a")) continue;
    const target = el.type === "checkbox" ? (el.closest("label") || el) : el;
    const box = target.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.width < min - 0.5 || box.height < min - 0.5) {
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${target.outerHTML.slice(0, 80)} ${size}`);
    }
  }
  return small;
}"""
# Every checkbox whose label has words of its own, where the words are not beside it
# (to its right, level with its middle).
BOXES_APART = """() => {
  const apart = [];
  for (const label of document.querySelectorAll("label")) {
    const box = label.querySelector("input[type=checkbox]");
    if (!box || label.closest("[hidden]")) continue;
    const range = document.createRange();
    range.selectNodeContents(label);
    range.setStartAfter(box);
    const words = range.getBoundingClientRect();
    if (words.width === 0 || !range.toString().trim()) continue;
    const b = box.getBoundingClientRect();
    const middle = b.top + b.height / 2;
    if (words.left < b.right || middle < words.top || middle > words.bottom) {
      apart.push(label.outerHTML.slice(0, 80));
    }
  }
  return apart;
}"""
ON_SCREEN = """(selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return box.width > 0 && box.left >= 0 && box.top >= 0
    && box.right <= window.innerWidth && box.bottom <= window.innerHeight;
}"""


@pytest.fixture(params=[390, 360], ids=["390", "360"])
async def phone(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(
        viewport={"width": request.param, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    yield ctx
    await ctx.close()


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide on a {width[1]} px screen"


@pytest.mark.parametrize("path", PAGES)
async def test_every_dashboard_page_fits_a_phone(
    phone: BrowserContext, web: Server, path: str
) -> None:
    vendor = f"v-{uuid.uuid4().hex[:12]}"
    publish(
        web.url,
        vendor,
        "New order #1042: 3 items, EUR 123.45",
        body="Ada " * 40,
        priority="high",
        link="/orders/1042",
    )
    publish(web.url, vendor, "A-very-long-unbroken-title-" * 6)
    page = await phone.new_page()
    await sign_in(page, web.url, vendor)
    await page.goto(web.url + path)
    await expect(page.locator("[data-tocsin='status']")).to_have_attribute(
        "data-state", "live", timeout=10_000
    )
    if path != "/dashboard/preferences":
        await expect(page.locator("[data-list] [data-tocsin='notification']")).to_have_count(2)
    else:
        await expect(page.locator("[data-prefs]")).to_be_visible()
    await no_sideways_scroll(page)
    apart = await page.evaluate(BOXES_APART)
    assert apart == [], "\n".join(apart)
    for selector in (
        "[data-bell]",
        "[data-tocsin='unread-count']",
        "[data-tocsin='status']",
        ".mainnav",
        "form[action='/dashboard/logout'] button",
    ):
        assert await page.evaluate(ON_SCREEN, selector), f"{selector} is off screen"
    assert await page.evaluate(SMALL_TARGETS, TAP_MIN) == []

    # The bell's menu and a toast fit the screen too.
    await page.locator("[data-bell]").tap()
    await expect(page.locator("[data-menu]")).to_be_visible()
    assert await page.evaluate(ON_SCREEN, "[data-menu]")
    await no_sideways_scroll(page)
    assert await page.evaluate(SMALL_TARGETS, TAP_MIN) == []
    await page.locator("[data-bell]").tap()
    publish(web.url, vendor, "Payment received for order #1042 " * 3, body="EUR 123.45 " * 10)
    toast = page.locator("[data-tocsin='toast']")
    await expect(toast).to_have_count(1, timeout=5000)
    await toast.evaluate("(el) => Promise.all(el.getAnimations().map((a) => a.finished))")
    assert await page.evaluate(ON_SCREEN, "[data-tocsin='toast']")
    await no_sideways_scroll(page)
    assert await page.evaluate(SMALL_TARGETS, TAP_MIN) == []
