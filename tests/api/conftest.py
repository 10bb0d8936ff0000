"""Helpers for the REST contract suite: creating notifications, checking problems."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests._server import Server
from tests.browser.conftest import create_admin
from tests.conftest import mint_token

PROBLEM = "application/problem+json"


async def create(publisher: httpx.AsyncClient, vendor: str, **fields: Any) -> dict[str, Any]:
    """Create a notification for `vendor` (defaults filled in); its wire form."""
    body = {"type": "order_created", "title": "Order #1 placed", **fields}
    r = await publisher.post(f"/api/v1/vendors/{vendor}/notifications", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def listed(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every notification the vendor's list answers for `params`, across all pages."""
    items: list[dict[str, Any]] = []
    query = {"limit": 100, **params}
    while True:
        r = await client.get("/api/v1/notifications", params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        if page["next_cursor"] is None:
            return items
        query["cursor"] = page["next_cursor"]


async def ids(client: httpx.AsyncClient, **params: Any) -> list[str]:
    return [n["id"] for n in await listed(client, **params)]


def assert_problem(r: httpx.Response, status: int, *fields: str) -> dict[str, Any]:
    """`r` is a problem+json answer with `status`; for 422 its `errors` name each of `fields`."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].split(";")[0] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert "Traceback" not in r.text
    assert 'File "' not in r.text
    if status == 422:
        named = [e["field"] for e in body["errors"]]
        assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])
        for field in fields:
            assert any(n == field or n.startswith(field + ".") for n in named), (field, named)
    return dict(body)


@pytest.fixture
def vendor_b() -> str:
    return f"w-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def as_vendor_b(server: Server, vendor_b: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second vendor, for isolation tests."""
    token = mint_token(server.url, vendor_b)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        yield client


@pytest.fixture
async def anonymous(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


# -- admin pages ----------------------------------------------------------------

ADMIN_PASSWORD = "a long enough password"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def admin(server: Server) -> str:
    """A new admin account (`tocsin create-admin`) on `server`; its username."""
    username = f"ops-{uuid.uuid4().hex[:8]}"
    create_admin(server, username, ADMIN_PASSWORD)
    return username


async def admin_sign_in(client: httpx.AsyncClient, username: str) -> str:
    """Sign `client` in through the admin login form; its session cookie."""
    form = await client.get("/admin/login")
    csrf = CSRF_FIELD.search(form.text)
    assert csrf is not None
    r = await client.post(
        "/admin/login",
        data={"username": username, "password": ADMIN_PASSWORD, "csrf_token": csrf[1]},
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin"
    return str(client.cookies["tocsin_admin"])
