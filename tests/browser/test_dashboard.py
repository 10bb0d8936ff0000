"""The vendor dashboard in a real Chromium: bell, toasts, tabs, proxies, restarts, escaping."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, Response, Route, expect

from tests._nginx import CONFIG, run_nginx
from tests._server import API_KEY, Server
from tests.browser.conftest import HEARTBEAT, login_url, sign_in
from tests.conftest import ServerFactory


def publish(base_url: str, vendor: str, title: str, **fields: object) -> dict[str, object]:
    r = httpx.post(
        f"{base_url}/api/v1/vendors/{vendor}/notifications",
        json={"type": "order_created", "title": title, **fields},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def open_dashboard(
    context: BrowserContext, base_url: str, vendor: str, page: Page | None = None
) -> Page:
    """Sign `vendor` in and land on its dashboard, in a new page or in `page`."""
    page = page or await context.new_page()
    await sign_in(page, base_url, vendor)
    assert page.url == f"{base_url}/dashboard", "the login redirect keeps the token out of the URL"
    return page


def status(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("[data-tocsin='status']")


def badge(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("[data-tocsin='unread-count']")


@pytest.mark.parametrize("site", ["web", "pg_web"])
async def test_published_notification_rings_the_bell_within_a_second(
    context: BrowserContext, site: str, vendor: str, request: pytest.FixtureRequest
) -> None:
    web: Server = request.getfixturevalue(site)
    page = await open_dashboard(context, web.url, vendor)
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    await expect(badge(page)).to_have_text("0")

    started = time.monotonic()
    publish(web.url, vendor, "New order #1042", body="Ada ordered 2 boards", priority="high")
    await expect(badge(page)).to_have_text("1", timeout=1000)
    toasts = page.locator("[data-tocsin='toast']")
    await expect(toasts).to_have_count(1, timeout=1000)
    assert time.monotonic() - started < 1.0
    await expect(toasts.first).to_contain_text("New order #1042")
    await expect(page.locator("[data-list] [data-tocsin='notification']")).to_have_count(1)
    # Toasts go by themselves.
    await expect(toasts).to_have_count(0, timeout=10_000)


async def test_mark_all_read_in_one_tab_updates_another(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    first = await open_dashboard(context, web.url, vendor)
    second = await context.new_page()
    await second.goto(f"{web.url}/dashboard/notifications")
    for page in (first, second):
        await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    for n in range(3):
        publish(web.url, vendor, f"Order {n}")
    for page in (first, second):
        await expect(badge(page)).to_have_text("3", timeout=3000)

    await first.locator("[data-bell]").click()
    await first.locator("[data-mark-all]").click()
    for page in (first, second):
        await expect(badge(page)).to_have_text("0", timeout=3000)
    rows = second.locator("[data-list] [data-tocsin='notification']")
    await expect(rows).to_have_count(3)
    await expect(
        second.locator("[data-list] [data-tocsin='notification'][data-read='false']")
    ).to_have_count(0)

    # The two tabs share one stream: the leader tab's.
    async def open_streams() -> int:
        text = httpx.get(f"{web.url}/metrics", timeout=5).text
        match = re.search(r"^tocsin_open_streams (\S+)$", text, re.M)
        return int(float(match.group(1))) if match else -1

    deadline = time.monotonic() + 10
    while await open_streams() != 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert await open_streams() == 1


async def test_through_the_streaming_nginx_config_the_bell_rings_within_a_second(
    context: BrowserContext, web: Server, vendor: str, tmp_path: Path
) -> None:
    nginx = run_nginx(web.port, tmp_path / "nginx")
    try:
        page = await context.new_page()

        def probe(response: Response) -> bool:
            return response.request.resource_type == "fetch" and "/api/v1/stream" in response.url

        # The byte probe (a fetch of the stream) ends once its first chunk came.
        async with page.expect_response(probe, timeout=10_000) as probed:
            await sign_in(page, nginx.url, vendor)
        await (await probed.value).finished()
        await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
        publish(web.url, vendor, "Through nginx")
        await expect(badge(page)).to_have_text("1", timeout=1000)
        await expect(status(page)).to_have_attribute("data-state", "live")
    finally:
        nginx.stop()


async def test_buffering_proxy_falls_back_to_polling_and_misses_nothing(
    context: BrowserContext, web: Server, vendor: str, tmp_path: Path
) -> None:
    # A stream location that holds bytes back: buffering on, the upstream's
    # `X-Accel-Buffering: no` ignored, and compression waiting for a full buffer.
    site = CONFIG.read_text().replace(
        "proxy_buffering off;\n        proxy_cache off;\n        gzip off;",
        "proxy_buffering on;\n        proxy_ignore_headers X-Accel-Buffering;\n"
        "        proxy_cache off;\n        gzip on;\n        gzip_types text/event-stream;",
        1,
    )
    assert "gzip_types text/event-stream" in site
    nginx = run_nginx(web.port, tmp_path / "nginx", site)
    try:
        page = await open_dashboard(context, nginx.url, vendor)
        publish(web.url, vendor, "Before the fallback")
        await expect(status(page)).to_have_attribute(
            "data-state", "polling", timeout=2 * int(HEARTBEAT) * 1000 + 8000
        )
        await expect(badge(page)).to_have_text("1", timeout=5000)
        for n in range(3):
            publish(web.url, vendor, f"While polling {n}")
            await expect(badge(page)).to_have_text(str(2 + n), timeout=5000)
        titles = page.locator("[data-list] [data-tocsin='notification'] .item-title")
        await expect(titles).to_have_text(
            ["While polling 2", "While polling 1", "While polling 0", "Before the fallback"]
        )
        await expect(status(page)).to_have_attribute("data-state", "polling")
    finally:
        nginx.stop()


async def test_a_notification_published_while_the_page_finds_its_place_is_not_missed(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    # The client first reads the log's head; the page's REST state must come after it,
    # or a notification committed in between is in neither. Hold that first read back
    # and publish meanwhile.
    page = await context.new_page()
    reached, release = asyncio.Event(), asyncio.Event()

    async def hold_the_head(route: Route) -> None:
        if "after=" not in route.request.url and not reached.is_set():
            reached.set()
            await release.wait()
        await route.continue_()

    await page.route(lambda url: "/api/v1/stream/poll" in url, hold_the_head)
    await open_dashboard(context, web.url, vendor, page)
    await asyncio.wait_for(reached.wait(), 10)
    publish(web.url, vendor, "While the page found its place")
    release.set()
    await expect(badge(page)).to_have_text("1", timeout=5000)
    titles = page.locator("[data-list] [data-tocsin='notification'] .item-title")
    await expect(titles).to_have_text(["While the page found its place"])
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)


async def test_page_resumes_after_a_server_restart_with_nothing_missed(
    context: BrowserContext, make_server: ServerFactory, vendor: str
) -> None:
    env = {"TOCSIN_HEARTBEAT_SECONDS": HEARTBEAT}
    srv = make_server(env)
    page = await open_dashboard(context, srv.url, vendor)
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    publish(srv.url, vendor, "Before the restart")
    await expect(badge(page)).to_have_text("1", timeout=2000)

    srv.stop()
    await expect(status(page)).not_to_have_attribute("data-state", "live", timeout=10_000)
    # While the page's server is down, another process on the same database takes events.
    other = make_server(env)
    for n in range(3):
        publish(other.url, vendor, f"While down {n}")
    other.stop()

    make_server(env, port=srv.port)
    await expect(badge(page)).to_have_text("4", timeout=20_000)
    titles = page.locator("[data-list] [data-tocsin='notification'] .item-title")
    await expect(titles).to_have_text(
        ["While down 2", "While down 1", "While down 0", "Before the restart"]
    )
    await expect(status(page)).to_have_attribute("data-state", re.compile("live|polling"))


async def test_hostile_title_stays_text(context: BrowserContext, web: Server, vendor: str) -> None:
    hostile = '<img src=x onerror="window.__pwned = 1">Refund <b>now</b>'
    page = await open_dashboard(context, web.url, vendor)
    await expect(status(page)).to_have_attribute("data-state", "live", timeout=10_000)
    publish(web.url, vendor, hostile, body="<script>window.__pwned = 2</script>")
    toast = page.locator("[data-tocsin='toast']").first
    await expect(toast.locator(".toast-title")).to_have_text(hostile, timeout=2000)
    item = page.locator("[data-list] [data-tocsin='notification']").first
    await expect(item.locator(".item-title")).to_have_text(hostile)
    assert await page.locator("img, script:not([src]), b").count() == 0
    assert await page.evaluate("window.__pwned") is None

    # After a reload (rendered from REST, not from the stream) it is still text.
    await page.reload()
    await expect(item.locator(".item-title")).to_have_text(hostile)
    assert await page.locator("img, b").count() == 0
    assert await page.evaluate("window.__pwned") is None


async def test_pages_send_a_content_security_policy(web: Server, vendor: str) -> None:
    async with httpx.AsyncClient(base_url=web.url) as client:
        r = await client.get(login_url(web.url, vendor).removeprefix(web.url))
        assert r.status_code == 200
        assert "unsafe-inline" not in r.headers["content-security-policy"]
        fields = dict(re.findall(r'name="(token|csrf_token)" value="([^"]+)"', r.text))
        r = await client.post("/dashboard/login", data=fields)
        assert r.status_code == 303
        assert r.headers["location"] == "/dashboard"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        r = await client.get("/dashboard")
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "<script>" not in r.text


async def test_without_eventsource_the_client_polls(
    context: BrowserContext, web: Server, vendor: str
) -> None:
    await context.add_init_script("delete window.EventSource;")
    page = await open_dashboard(context, web.url, vendor)
    await expect(status(page)).to_have_attribute("data-state", "polling", timeout=10_000)
    publish(web.url, vendor, "Polled")
    await expect(badge(page)).to_have_text("1", timeout=2000)
    await expect(page.locator("[data-tocsin='toast']")).to_contain_text("Polled")
