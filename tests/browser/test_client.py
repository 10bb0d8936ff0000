"""tocsin.js in a real Chromium: back from polling to the stream, offline."""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, Request, Route, expect

from tests._server import Server
from tests.browser.test_dashboard import badge, open_dashboard, publish, status

# The stream, and not the poll endpoint beside it.
STREAM = re.compile(r"/api/v1/stream(\?|$)")
# Toasts go by themselves: the page keeps the title of every toast it shows.
RECORD_TOASTS = """
window.__toasts = [];
new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of change.addedNodes) {
      if (node.dataset && node.dataset.tocsin === "toast") {
        window.__toasts.push(node.querySelector(".toast-title").textContent);
      }
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("[data-list] [data-tocsin='notification']")


def toasts(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("[data-tocsin='toast']", has_text=text)


async def toasts_shown(page: Page) -> list[str]:
    return list(await page.evaluate("window.__toasts"))


async def test_polling_client_goes_back_to_the_stream_once_it_gets_through(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    page = await context.new_page()
    await page.add_init_script(RECORD_TOASTS)
    # The client probes the stream again 30 s after it fell back: the test moves the clock.
    await page.clock.install()

    async def cut(route: Route) -> None:
        await route.abort()

    await page.route(STREAM, cut)
    page = await open_dashboard(context, web.url, vendor, page=page)
    await expect(status(page)).to_have_attribute("data-state", "polling", timeout=15_000)
    publish(web.url, vendor, "While polling")
    await expect(badge(page)).to_have_text("1", timeout=3000)

    streams: list[Request] = []
    page.on("request", lambda r: streams.append(r) if r.resource_type == "eventsource" else None)
    await page.unroute(STREAM, cut)
    await page.clock.fast_forward("00:31")
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    assert streams, "live again means an EventSource of the stream"

    publish(web.url, vendor, "Back on the stream")
    await expect(badge(page)).to_have_text("2", timeout=3000)
    await expect(toasts(page, "Back on the stream")).to_have_count(1)
    await expect(rows(page).locator(".item-title")).to_have_text(
        ["Back on the stream", "While polling"]
    )
    await expect(status(page)).to_have_attribute("data-state", "live")
    assert await toasts_shown(page) == ["While polling", "Back on the stream"]


async def test_offline_shows_offline_and_recovers_with_nothing_missed(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    page = await context.new_page()
    await page.add_init_script(RECORD_TOASTS)
    page = await open_dashboard(context, web.url, vendor, page=page)
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    publish(web.url, vendor, "Before")
    await expect(badge(page)).to_have_text("1", timeout=3000)

    await context.set_offline(True)
    await expect(status(page)).to_have_attribute("data-state", "offline", timeout=5000)
    publish(web.url, vendor, "While offline")
    await context.set_offline(False)

    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    await expect(badge(page)).to_have_text("2", timeout=5000)
    await expect(toasts(page, "While offline")).to_have_count(1)
    await expect(rows(page).locator(".item-title")).to_have_text(["While offline", "Before"])
    publish(web.url, vendor, "Back online")
    await expect(badge(page)).to_have_text("3", timeout=3000)
    await expect(rows(page)).to_have_count(3)
    assert await toasts_shown(page) == ["Before", "While offline", "Back online"]
