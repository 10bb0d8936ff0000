"""Keyset pagination: `limit`, `cursor`, `next_cursor` at the edges."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_problem, create


async def page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    r = await client.get("/api/v1/notifications", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def make(publisher: httpx.AsyncClient, vendor: str, count: int) -> list[str]:
    """`count` notifications, one after another; their ids newest first."""
    return [(await create(publisher, vendor, title=f"#{i}"))["id"] for i in range(count)][::-1]


async def test_empty(as_vendor: httpx.AsyncClient) -> None:
    assert await page(as_vendor) == {"items": [], "next_cursor": None, "unread_count": 0}
    assert (await page(as_vendor, limit=1))["next_cursor"] is None


async def test_exactly_one_page(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = await make(publisher, vendor, 3)
    p = await page(as_vendor, limit=3)
    assert [n["id"] for n in p["items"]] == made
    assert p["next_cursor"] is None


@pytest.mark.parametrize(("count", "limit"), [(5, 2), (4, 2), (3, 1), (7, 3)])
async def test_pages_cover_everything_once(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, count: int, limit: int
) -> None:
    made = await make(publisher, vendor, count)
    seen: list[str] = []
    sizes = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        p = await page(as_vendor, **params)
        sizes.append(len(p["items"]))
        seen += [n["id"] for n in p["items"]]
        cursor = p["next_cursor"]
        if cursor is None:
            break
        assert cursor == p["items"][-1]["id"]
    assert seen == made
    # No empty last page: the last page holds what is left.
    assert sizes == [limit] * (count // limit) + ([count % limit] if count % limit else [])


async def test_limit_bounds_and_default(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = await make(publisher, vendor, 101)
    p = await page(as_vendor)
    assert [n["id"] for n in p["items"]] == made[:20]
    assert p["next_cursor"] == made[19]
    p = await page(as_vendor, limit=1)
    assert [n["id"] for n in p["items"]] == made[:1]
    p = await page(as_vendor, limit=100)
    assert [n["id"] for n in p["items"]] == made[:100]
    last = await page(as_vendor, limit=100, cursor=p["next_cursor"])
    assert [n["id"] for n in last["items"]] == made[100:]
    assert last["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "1e2", "99999999999999999999"])
async def test_limit_out_of_bounds_is_422(as_vendor: httpx.AsyncClient, limit: str) -> None:
    assert_problem(
        await as_vendor.get("/api/v1/notifications", params={"limit": limit}), 422, "limit"
    )


async def test_inserts_between_pages_neither_skip_nor_repeat(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = await make(publisher, vendor, 5)
    first = await page(as_vendor, limit=2)
    newer = await make(publisher, vendor, 3)
    seen = [n["id"] for n in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        p = await page(as_vendor, limit=2, cursor=cursor)
        seen += [n["id"] for n in p["items"]]
        cursor = p["next_cursor"]
    assert seen == made
    assert [n["id"] for n in (await page(as_vendor, limit=100))["items"]] == newer + made


async def test_concurrent_inserts_while_paging(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = await make(publisher, vendor, 6)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        p, _ = await asyncio.gather(
            page(as_vendor, **params), create(publisher, vendor, title="meanwhile")
        )
        seen += [n["id"] for n in p["items"] if n["title"] != "meanwhile"]
        cursor = p["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert len(seen) == len(set(seen))


async def test_deletes_between_pages_do_not_skip(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = await make(publisher, vendor, 6)
    first = await page(as_vendor, limit=2)
    # Delete the row the cursor names, and one further down.
    await as_vendor.delete(f"/api/v1/notifications/{made[1]}")
    await as_vendor.delete(f"/api/v1/notifications/{made[3]}")
    rest = await page(as_vendor, limit=100, cursor=first["next_cursor"])
    assert [n["id"] for n in rest["items"]] == [made[2], made[4], made[5]]


async def test_cursor_combines_with_filters(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = []
    for i in range(6):
        made.append(await create(publisher, vendor, type="a_type" if i % 2 else "b_type"))
    wanted = [n["id"] for n in reversed(made) if n["type"] == "a_type"]
    p = await page(as_vendor, type="a_type", limit=2)
    assert [n["id"] for n in p["items"]] == wanted[:2]
    p = await page(as_vendor, type="a_type", limit=2, cursor=p["next_cursor"])
    assert [n["id"] for n in p["items"]] == wanted[2:]
    assert p["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "abc",
        "x" * 27,
        "0" * 25 + "\u0000",
        "zzzzzzzzzzzzzzzzzzzzzzzzzz",
        "' OR 1=1 --              ",
    ],
)
async def test_a_cursor_not_from_the_api_is_422(as_vendor: httpx.AsyncClient, cursor: str) -> None:
    r = await as_vendor.get("/api/v1/notifications", params={"cursor": cursor})
    assert_problem(r, 422, "cursor")
