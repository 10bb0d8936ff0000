"""Admin sessions live server-side: signing out revokes the cookie, wherever it was copied."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests._server import Server
from tests.api.conftest import ADMIN_PASSWORD, CSRF_FIELD, admin_sign_in
from tests.browser.conftest import create_admin


@pytest.fixture
async def client(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as c:
        yield c


async def sign_out(client: httpx.AsyncClient) -> None:
    page = await client.get("/admin")
    assert page.status_code == 200
    csrf = CSRF_FIELD.search(page.text)
    assert csrf is not None
    r = await client.post("/admin/logout", data={"csrf_token": csrf[1]})
    assert r.status_code == 303
    assert r.headers["location"] == "/admin/login"


async def replay(server: Server, cookie: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.url, cookies={"tocsin_admin": cookie}, timeout=10)


async def test_admin_logout_revokes_a_copied_cookie(
    client: httpx.AsyncClient, server: Server, admin: str, vendor: str
) -> None:
    cookie = await admin_sign_in(client, admin)
    async with await replay(server, cookie) as copy:
        assert (await copy.get("/admin")).status_code == 200
        page = await copy.get(f"/admin/vendors/{vendor}")
        csrf = CSRF_FIELD.search(page.text)
        assert csrf is not None

        await sign_out(client)

        r = await copy.get("/admin")
        assert r.status_code == 303
        assert r.headers["location"] == "/admin/login"
        # A form post with the copied cookie and its CSRF token goes nowhere either.
        r = await copy.post(
            f"/admin/vendors/{vendor}/notifications",
            data={"csrf_token": csrf[1], "type": "test", "title": "after logout"},
        )
        assert r.status_code == 303
        assert r.headers["location"] == "/admin/login"
        r = await copy.get("/admin/login")
        assert r.status_code == 200, "the login form, not a redirect into the admin pages"
    page = await client.get(f"/admin/vendors/{vendor}")
    assert page.status_code == 303


async def test_admin_logout_ends_only_that_session(
    client: httpx.AsyncClient, server: Server, admin: str
) -> None:
    await admin_sign_in(client, admin)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as other_device:
        await admin_sign_in(other_device, admin)
        await sign_out(client)
        assert (await other_device.get("/admin")).status_code == 200
    assert (await client.get("/admin")).status_code == 303


async def test_new_admin_password_revokes_every_session(
    client: httpx.AsyncClient, server: Server, admin: str
) -> None:
    cookie = await admin_sign_in(client, admin)
    create_admin(server, admin, ADMIN_PASSWORD)
    async with await replay(server, cookie) as copy:
        assert (await copy.get("/admin")).status_code == 303
