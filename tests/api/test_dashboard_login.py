"""Signing the dashboard in and out: another site can make a browser do neither (login CSRF).

The sign-in link only shows a confirmation page; its "Continue" post, with the
page's CSRF token and the browser's pre-login cookie, signs in. Sign-out needs
the token the dashboard's pages carry.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from tests._server import Server
from tests.conftest import mint_token


@pytest.fixture
async def browser(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """A client that keeps cookies, as a browser does."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


def form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(token|csrf_token)" value="([^"]*)"', html))


def set_cookies(r: httpx.Response) -> list[str]:
    return r.headers.get_list("set-cookie")


async def signed_in(client: httpx.AsyncClient) -> bool:
    r = await client.get("/dashboard")
    return r.status_code == 200


async def confirm(client: httpx.AsyncClient, server: Server, vendor: str) -> httpx.Response:
    page = await client.get(f"/dashboard/login?token={mint_token(server.url, vendor)}")
    assert page.status_code == 200
    return await client.post("/dashboard/login", data=form_fields(page.text))


async def test_login_link_alone_signs_nobody_in(
    browser: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    r = await browser.get(f"/dashboard/login?token={mint_token(server.url, vendor)}")
    assert r.status_code == 200
    assert f"<strong data-login-vendor>{vendor}</strong>" in r.text
    assert "data-login-continue" in r.text
    assert r.headers["referrer-policy"] == "no-referrer"
    assert not any(c.startswith("tocsin_token=") for c in set_cookies(r))
    assert "tocsin_token" not in browser.cookies
    assert not await signed_in(browser)


async def test_login_confirmation_post_signs_in(
    browser: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    r = await confirm(browser, server, vendor)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/dashboard"
    session = [c for c in set_cookies(r) if c.startswith("tocsin_token=")]
    assert len(session) == 1
    assert "httponly" in session[0].lower()
    assert "samesite=lax" in session[0].lower()
    assert await signed_in(browser)


@pytest.mark.parametrize("csrf", [None, "", "forged", "0" * 64])
async def test_cross_site_login_post_without_csrf_is_403_and_sets_no_cookie(
    browser: httpx.AsyncClient, server: Server, vendor: str, csrf: str | None
) -> None:
    # The victim's browser has even seen a sign-in page (it holds a pre-login cookie).
    await browser.get(f"/dashboard/login?token={mint_token(server.url, vendor)}")
    attacker = mint_token(server.url, "attacker")
    form = {"token": attacker} if csrf is None else {"token": attacker, "csrf_token": csrf}
    r = await browser.post("/dashboard/login", data=form)
    assert r.status_code == 403
    assert set_cookies(r) == []
    assert not await signed_in(browser)


async def test_login_csrf_from_the_attackers_own_page_is_403(
    browser: httpx.AsyncClient, server: Server
) -> None:
    """The attacker loads the confirmation page of its own token, then posts its form from
    another site: the victim's browser lacks the pre-login cookie the token is bound to."""
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as attacker:
        page = await attacker.get(f"/dashboard/login?token={mint_token(server.url, 'attacker')}")
        fields = form_fields(page.text)
    assert set(fields) == {"token", "csrf_token"}
    r = await browser.post("/dashboard/login", data=fields)
    assert r.status_code == 403
    assert set_cookies(r) == []
    # Nor does a pre-login cookie of the victim's own make the attacker's token pass.
    await browser.get(f"/dashboard/login?token={mint_token(server.url, 'someone')}")
    r = await browser.post("/dashboard/login", data=fields)
    assert r.status_code == 403
    assert not await signed_in(browser)


async def test_login_csrf_is_bound_to_the_token(
    browser: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    page = await browser.get(f"/dashboard/login?token={mint_token(server.url, vendor)}")
    fields = {**form_fields(page.text), "token": mint_token(server.url, "attacker")}
    r = await browser.post("/dashboard/login", data=fields)
    assert r.status_code == 403
    assert not await signed_in(browser)


async def test_two_sign_in_links_in_two_tabs_both_work(
    browser: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    first = await browser.get(f"/dashboard/login?token={mint_token(server.url, vendor)}")
    second = await browser.get(f"/dashboard/login?token={mint_token(server.url, vendor)}")
    assert set_cookies(second) == [], "a live pre-login cookie is kept"
    r = await browser.post("/dashboard/login", data=form_fields(first.text))
    assert r.status_code == 303
    assert await signed_in(browser)


async def test_login_with_a_bad_token_is_401(browser: httpx.AsyncClient) -> None:
    r = await browser.get("/dashboard/login?token=not-a-token")
    assert r.status_code == 401
    assert set_cookies(r) == []


@pytest.mark.parametrize("csrf", [None, "", "forged"])
async def test_cross_site_logout_without_csrf_is_403_and_keeps_the_cookie(
    browser: httpx.AsyncClient, server: Server, vendor: str, csrf: str | None
) -> None:
    assert (await confirm(browser, server, vendor)).status_code == 303
    r = await browser.post("/dashboard/logout", data={} if csrf is None else {"csrf_token": csrf})
    assert r.status_code == 403
    assert set_cookies(r) == []
    assert await signed_in(browser)


async def test_logout_from_the_dashboards_form_signs_out(
    browser: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    assert (await confirm(browser, server, vendor)).status_code == 303
    page = await browser.get("/dashboard")
    csrf = re.search(
        r'action="/dashboard/logout"[^>]*><input type="hidden" name="csrf_token" value="(\w+)"',
        page.text,
    )
    assert csrf is not None
    r = await browser.post("/dashboard/logout", data={"csrf_token": csrf[1]})
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard/signin"
    assert any(c.startswith('tocsin_token=""') for c in set_cookies(r))
    assert not await signed_in(browser)
