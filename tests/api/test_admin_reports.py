"""The admin pages' reports, on both backends."""

from __future__ import annotations

import re

import httpx

from tests._server import API_KEY, Server
from tests.api.conftest import admin_sign_in


async def test_admin_overview_is_not_a_500_on_postgres(
    anonymous: httpx.AsyncClient, server: Server, admin: str, vendor: str
) -> None:
    """Its unread sum bound 1 and 0 as parameters, which PostgreSQL typed as text."""
    r = httpx.post(
        f"{server.url}/api/v1/vendors/{vendor}/notifications",
        json={"type": "order_created", "title": "Order #1 placed"},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == 201
    await admin_sign_in(anonymous, admin)
    page = await anonymous.get("/admin")
    assert page.status_code == 200
    row = re.search(
        rf"{vendor}</a></td>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">(\d+)", page.text
    )
    assert row is not None, page.text
    assert row.groups() == ("1", "1")
