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


async def test_admin_overview_shows_table_sizes_and_the_last_purge(
    anonymous: httpx.AsyncClient, server: Server, admin: str, vendor: str, backend: str
) -> None:
    r = httpx.post(
        f"{server.url}/api/v1/vendors/{vendor}/notifications",
        json={"type": "order_created", "title": "Order #2 placed"},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert r.status_code == 201
    await admin_sign_in(anonymous, admin)
    page = (await anonymous.get("/admin")).text
    rows = re.search(
        r'data-table="notifications"><td><code>notifications</code></td>'
        r'<td class="num" data-rows>(\d+)</td>(<td class="num" data-bytes>([\d.]+ [KMG]?B)</td>)?',
        page,
    )
    assert rows is not None, page
    assert int(rows.group(1)) >= 1
    assert (rows.group(3) is not None) == (backend == "postgres"), "bytes on PostgreSQL only"
    for table in ("processed_events", "deliveries", "delivery_attempts", "bulk_jobs"):
        assert f'data-table="{table}"' in page
    # The worker purges once at start-up: the overview says when, and how much went.
    assert re.search(r"data-purge-at>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</time>", page), page
    assert re.search(r"data-purge-removed>\d+</b> rows removed", page)
