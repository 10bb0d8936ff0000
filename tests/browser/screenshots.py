"""Screenshots of the dashboard and the admin overview for the README (`scripts/screenshots`).

Starts a throwaway tocsin (embedded mode), seeds the demo vendors, signs in
as one of them and as an admin, and writes `docs/dashboard.png` and
`docs/admin.png` (and `docs/dashboard-menu.png`, the bell's dropdown).
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

REPO = Path(__file__).resolve().parent.parent.parent
DOCS = REPO / "docs"
VENDOR = "acme-tools"


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
        await browser.close()


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"TOCSIN_DATABASE_URL": f"sqlite:///{tmp}/tocsin.db"}
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
    for name in ("dashboard.png", "dashboard-menu.png", "admin.png"):
        print(DOCS / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
