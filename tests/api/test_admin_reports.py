"""The admin pages' reports, on both backends."""

from __future__ import annotations

import re
import uuid

import httpx
import sqlalchemy as sa

from tests._server import API_KEY, Server
from tests.api.conftest import admin_sign_in
from tocsin.http.admin import VENDORS_SHOWN
from tocsin.storage import migrate


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
    page = await anonymous.get("/admin", params={"from": vendor})
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
        r'<td class="num" data-rows data-kind="exact">(\d+)</td>'
        r'(<td class="num" data-bytes>([\d.]+ [KMG]?B)</td>)?',
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


def _count(server: Server, sql: str) -> int:
    engine = sa.create_engine(
        migrate.sync_url(server.env["TOCSIN_DATABASE_URL"]), poolclass=sa.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar_one())
    finally:
        engine.dispose()


async def test_admin_overview_figures_are_exact_where_it_says_so(
    anonymous: httpx.AsyncClient,
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    server: Server,
    admin: str,
    vendor: str,
) -> None:
    """Unread from the kept counts and small tables' rows equal a real count."""
    made = []
    for i in range(3):
        r = await publisher.post(
            f"/api/v1/vendors/{vendor}/notifications",
            json={"type": "order_created", "title": f"Order #{i} placed"},
        )
        assert r.status_code == 201
        made.append(r.json()["id"])
    assert (
        await as_vendor.patch(f"/api/v1/notifications/{made[0]}", json={"read": True})
    ).is_success
    await admin_sign_in(anonymous, admin)
    page = (await anonymous.get("/admin", params={"from": vendor})).text
    row = re.search(
        rf"{vendor}</a></td>\s*<td class=\"num\">(\d+)</td>\s*<td class=\"num\">(\d+)", page
    )
    assert row is not None, page
    assert row.groups() == ("3", "2")
    # This vendor's row comes first: the table starts at the vendor asked for.
    assert re.findall(r'data-vendor="([^"]+)"', page)[0] == vendor

    unread = re.search(r'data-stat="unread" data-kind="exact">(\d+)</b>', page)
    assert unread is not None, page
    real_unread = _count(
        server, "SELECT count(*) FROM notifications WHERE read_at IS NULL AND archived_at IS NULL"
    )
    assert int(unread.group(1)) == real_unread
    for table in ("notifications", "vendors", "unread_counts"):
        cell = re.search(
            rf'data-table="{table}"><td><code>{table}</code></td>'
            r'<td class="num" data-rows data-kind="(\w+)">(\d+)</td>',
            page,
        )
        assert cell is not None, page
        if cell.group(1) == "exact":  # a shared test server stays below the bound
            assert int(cell.group(2)) == _count(server, f"SELECT count(*) FROM {table}")
        else:
            assert cell.group(1) == "estimate"
            assert f"≈ {cell.group(2)}" in page


async def test_admin_overview_pages_vendors_by_id(
    anonymous: httpx.AsyncClient, publisher: httpx.AsyncClient, admin: str
) -> None:
    prefix = f"page-{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}-{i:02d}" for i in range(VENDORS_SHOWN + 2)]
    for name in names:
        r = await publisher.put(
            f"/api/v1/vendors/{name}/contact", json={"email": "shop@example.com"}
        )
        assert r.is_success, r.text
    await admin_sign_in(anonymous, admin)
    page = (await anonymous.get("/admin", params={"from": names[0]})).text
    shown = re.findall(r'data-vendor="([^"]+)"', page)
    assert shown == names[:VENDORS_SHOWN]
    following = re.search(r'href="/admin\?from=([^"]+)" data-vendors-next', page)
    assert following is not None
    assert following.group(1) == names[VENDORS_SHOWN]
    page = (await anonymous.get("/admin", params={"from": names[VENDORS_SHOWN]})).text
    assert re.findall(r'data-vendor="([^"]+)"', page)[:2] == names[VENDORS_SHOWN:]
