"""tocsin.js in a real Chromium: back from polling to the stream, `reset`, offline."""

from __future__ import annotations

import asyncio
import re

import httpx
from playwright.async_api import BrowserContext, Page, Request, Route, expect

from tests._server import Server
from tests.browser.test_dashboard import badge, open_dashboard, publish, status
from tests.conftest import mint_token

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


def resets(base_url: str, reason: str) -> float:
    """How many `reset`s of `reason` the server sent (its Prometheus counter)."""
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    match = re.search(rf'^tocsin_resets_total\{{reason="{reason}"\}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def rest_state(base_url: str, vendor: str) -> tuple[list[str], int]:
    """The vendor's newest notification titles and unread count, over REST."""
    r = httpx.get(
        f"{base_url}/api/v1/notifications",
        params={"archived": "false", "limit": 15},
        headers={"Authorization": f"Bearer {mint_token(base_url, vendor)}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    return [n["title"] for n in body["items"]], body["unread_count"]


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


async def test_reset_refetches_the_page_once_and_shows_nothing_twice(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    page = await context.new_page()
    await page.add_init_script(RECORD_TOASTS)
    reads: list[str] = []  # every REST read of the vendor's notifications or count
    page.on(
        "request",
        lambda r: (
            reads.append(r.url) if r.method == "GET" and "/api/v1/notifications" in r.url else None
        ),
    )
    held = asyncio.Event()
    release = asyncio.Event()

    async def resume_from_an_unknown_id(route: Route) -> None:
        # The first stream with a cursor waits, then asks for an id past the log's head.
        url = route.request.url
        found = re.search(r"last_event_id=([^&_]+)_(\d+)", url)
        if found is None or held.is_set():
            await route.continue_()
            return
        held.set()
        await release.wait()
        unknown = f"{found.group(1)}_{int(found.group(2)) + 1000}"
        await route.continue_(url=url.replace(found.group(0), f"last_event_id={unknown}"))

    await page.route(STREAM, resume_from_an_unknown_id)
    page = await open_dashboard(context, web.url, vendor, page=page)
    await asyncio.wait_for(held.wait(), 10)
    await expect(badge(page)).to_have_text("0", timeout=5000)
    await expect(page.locator("[data-empty]")).to_be_visible()

    # Between the page's first fetch and its stream, two notifications the stream will not replay.
    publish(web.url, vendor, "Missed 1")
    publish(web.url, vendor, "Missed 2")
    before = resets(web.url, "unknown_id")
    reads_before = len(reads)
    release.set()

    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    await expect(badge(page)).to_have_text("2", timeout=5000)
    await expect(rows(page).locator(".item-title")).to_have_text(["Missed 2", "Missed 1"])
    publish(web.url, vendor, "After the reset")
    await expect(badge(page)).to_have_text("3", timeout=3000)
    await expect(toasts(page, "After the reset")).to_have_count(1)
    titles = ["After the reset", "Missed 2", "Missed 1"]
    await expect(rows(page).locator(".item-title")).to_have_text(titles)
    assert rest_state(web.url, vendor) == (titles, 3)
    # Refetched, not replayed: no toast for what the reset covered.
    assert await toasts_shown(page) == ["After the reset"]
    assert resets(web.url, "unknown_id") == before + 1

    # One request: the shown list, whose answer carries the unread count.
    refetched = reads[reads_before:]
    assert len(refetched) == 1, refetched
    assert re.search(r"/api/v1/notifications\?archived=false&limit=15$", refetched[0])

    # The bell's list, hidden at the reset, reloads when opened.
    await page.locator("[data-bell]").click()
    await expect(page.locator("[data-menu-list] [data-tocsin='notification']")).to_have_count(3)
    assert len(reads) == reads_before + 2


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
