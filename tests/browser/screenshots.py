"""Screenshots of the dashboard and the admin overview for the README (`scripts/screenshots`).

Starts a throwaway tocsin (embedded mode), seeds the demo vendors, signs in
as one of them and as an admin, and writes `docs/dashboard.png` and
`docs/admin.png` (and `docs/dashboard-menu.png`, the bell's dropdown), and the
phone layout at 390 x 844: `docs/phone-home.png`, `docs/phone-notifications.png`,
`docs/phone-preferences.png`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright, expect

from tests._server import Server
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, create_admin, sign_in
from tocsin.delivery.push import generate_keys

REPO = Path(__file__).resolve().parent.parent.parent
DOCS = REPO / "docs"
VENDOR = "acme-tools"
PHONE_PAGES = {"home": "/dashboard", "notifications": "/dashboard/notifications"}


async def shoot(srv: Server) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
        dashboard = await ctx.new_page()
        await sign_in(dashboard, srv.url, VENDOR)
        status = dashboard.locator("[data-tocsin='status']")
        await expect(status).to_have_attribute("data-state", "live", timeout=10_000)
        await dashboard.locator("[data-demo]").click()
        await expect(dashboard.locator("[data-tocsin='toast']")).to_have_count(3, timeout=10_000)
        await dashboard.screenshot(path=str(DOCS / "dashboard.png"))
        await expect(dashboard.locator("[data-tocsin='toast']")).to_have_count(0, timeout=15_000)
        await dashboard.locator("[data-bell]").click()
        await expect(dashboard.locator("[data-menu]")).to_be_visible()
        await dashboard.screenshot(path=str(DOCS / "dashboard-menu.png"))

        admin = await ctx.new_page()
        await admin.goto(f"{srv.url}/admin/login")
        await admin.fill("input[name=username]", "admin")
        await admin.fill("input[name=password]", "screenshot-password")
        await admin.click("button[type=submit]")
        await expect(admin.locator("h1")).to_have_text("Overview")
        await admin.screenshot(path=str(DOCS / "admin.png"), full_page=True)

        phone = await browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page = await phone.new_page()
        await sign_in(page, srv.url, VENDOR)
        for name, path in PHONE_PAGES.items():
            await page.goto(srv.url + path)
            await expect(page.locator("[data-tocsin='status']")).to_have_attribute(
                "data-state", "live", timeout=10_000
            )
            await expect(
                page.locator("[data-list] [data-tocsin='notification']").first
            ).to_be_visible()
            await page.screenshot(path=str(DOCS / f"phone-{name}.png"))
        await page.goto(srv.url + "/dashboard/preferences")
        await expect(page.locator("[data-prefs]")).to_be_visible()
        await page.screenshot(path=str(DOCS / "phone-preferences.png"))
        await browser.close()


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        public, private = generate_keys()
        env = {
            "TOCSIN_DATABASE_URL": f"sqlite:///{tmp}/tocsin.db",
            # Web Push configured, so the pages offer "Notify me on this device".
            "TOCSIN_VAPID_PUBLIC_KEY": public,
            "TOCSIN_VAPID_PRIVATE_KEY": private,
        }
        srv = Server(env, Path(tmp) / "server.log").start()
        try:
            subprocess.run(
                [sys.executable, "-m", "tocsin.cli", "demo", "--base-url", srv.url],
                env={**os.environ, **env},
                check=True,
                capture_output=True,
            )
            create_admin(srv, "admin", "screenshot-password")
            asyncio.run(shoot(srv))
        finally:
            srv.stop()
    phone = [f"phone-{name}.png" for name in [*PHONE_PAGES, "preferences"]]
    for name in ("dashboard.png", "dashboard-menu.png", "admin.png", *phone):
        print(DOCS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
