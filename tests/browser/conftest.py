"""Fixtures for tests in a real headless Chromium (Debian's, driven by Playwright).

These tests run on the embedded backend (`backend` is overridden here): what
they check is the browser side, and the stream contract they rely on is
tested on both backends elsewhere. The bell test also runs on PostgreSQL +
Redis (`pg_web`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests._server import Server
from tests.conftest import backend_env, mint_token

CHROMIUM = os.environ.get("TOCSIN_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Short heartbeats, so that a buffering proxy is noticed in two seconds.
HEARTBEAT = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def backend() -> str:
    return "sqlite"


@pytest.fixture(scope="session")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One tocsin (embedded backend, 1 s heartbeats) for the browser tests that share it."""
    tmp = tmp_path_factory.mktemp("browser")
    env = backend_env("sqlite", tmp, "", "")
    env["TOCSIN_HEARTBEAT_SECONDS"] = HEARTBEAT
    srv = Server(env, tmp / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def pg_web(
    tmp_path_factory: pytest.TempPathFactory, pg_url: str, redis_url: str
) -> Iterator[Server]:
    """A tocsin on the production backend (PostgreSQL + Redis Streams), 1 s heartbeats."""
    tmp = tmp_path_factory.mktemp("browser-pg")
    env = backend_env("postgres", tmp, pg_url, redis_url)
    env["TOCSIN_HEARTBEAT_SECONDS"] = HEARTBEAT
    srv = Server(env, tmp / "server.log").start()
    yield srv
    srv.stop()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    yield ctx
    await ctx.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def login_url(base_url: str, vendor: str) -> str:
    return f"{base_url}/dashboard/login?token={mint_token(base_url, vendor)}"


async def sign_in(page: Page, base_url: str, vendor: str) -> None:
    """Follow `vendor`'s sign-in link and click "Continue", as a newcomer would."""
    await page.goto(login_url(base_url, vendor))
    await page.locator("[data-login-continue]").click()
    await page.wait_for_url(f"{base_url}/dashboard")


def create_admin(server: Server, username: str, password: str) -> None:
    """`tocsin create-admin`, the password on stdin, against `server`'s database."""
    env = {**os.environ, **server.env, "TOCSIN_LOG_LEVEL": "warning"}
    env.setdefault("TOCSIN_ENV", "test")
    done = subprocess.run(
        [sys.executable, "-m", "tocsin.cli", "create-admin", username],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
