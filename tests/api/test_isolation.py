"""A vendor can neither see nor change another vendor's notifications."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_problem, create, ids, listed


@pytest.fixture
async def theirs(
    publisher: httpx.AsyncClient, as_vendor_b: httpx.AsyncClient, vendor_b: str
) -> list[dict[str, Any]]:
    """Vendor B's notifications: two unread, one read."""
    made = [
        await create(publisher, vendor_b, title=f"theirs-secret-{i}", type="order_created")
        for i in range(3)
    ]
    r = await as_vendor_b.patch(f"/api/v1/notifications/{made[2]['id']}", json={"read": True})
    made[2] = r.json()
    return made


async def snapshot(client: httpx.AsyncClient) -> tuple[list[dict[str, Any]], Any]:
    unread = (await client.get("/api/v1/notifications/unread-count")).json()
    return await listed(client) + await listed(client, archived="true"), unread


async def test_a_cannot_read_bs_notifications(
    as_vendor: httpx.AsyncClient, theirs: list[dict[str, Any]]
) -> None:
    for n in theirs:
        body = assert_problem(await as_vendor.get(f"/api/v1/notifications/{n['id']}"), 404)
        assert n["title"] not in body["detail"]
    assert await listed(as_vendor) == []
    assert await listed(as_vendor, archived="true") == []
    assert await listed(as_vendor, q="theirs-secret") == []
    unread = await as_vendor.get("/api/v1/notifications/unread-count")
    assert unread.json() == {"total": 0, "by_type": {}}


async def test_a_cannot_change_or_delete_bs_notifications(
    as_vendor: httpx.AsyncClient, as_vendor_b: httpx.AsyncClient, theirs: list[dict[str, Any]]
) -> None:
    before = await snapshot(as_vendor_b)
    for n in theirs:
        url = f"/api/v1/notifications/{n['id']}"
        for change in ({"read": True}, {"read": False}, {"archived": True}, {}):
            assert_problem(await as_vendor.patch(url, json=change), 404)
        assert_problem(await as_vendor.delete(url), 404)
    assert await snapshot(as_vendor_b) == before


@pytest.mark.parametrize("action", ["mark_read", "mark_unread", "archive", "unarchive", "delete"])
async def test_a_cannot_bulk_change_bs_by_ids(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    as_vendor_b: httpx.AsyncClient,
    vendor: str,
    theirs: list[dict[str, Any]],
    action: str,
) -> None:
    before = await snapshot(as_vendor_b)
    r = await as_vendor.post(
        "/api/v1/notifications/bulk", json={"action": action, "ids": [n["id"] for n in theirs]}
    )
    assert r.status_code == 200
    assert r.json() == {"updated": 0}
    assert await snapshot(as_vendor_b) == before

    # Mixed with one of A's own: only A's changes.
    mine = await create(publisher, vendor)
    if action in ("mark_unread", "unarchive"):
        pre = "mark_read" if action == "mark_unread" else "archive"
        await as_vendor.post(
            "/api/v1/notifications/bulk", json={"action": pre, "ids": [mine["id"]]}
        )
    r = await as_vendor.post(
        "/api/v1/notifications/bulk",
        json={"action": action, "ids": [mine["id"]] + [n["id"] for n in theirs]},
    )
    assert r.json() == {"updated": 1}
    assert await snapshot(as_vendor_b) == before


@pytest.mark.parametrize("action", ["mark_read", "mark_unread", "archive", "unarchive", "delete"])
async def test_a_cannot_bulk_change_bs_by_filter(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    as_vendor_b: httpx.AsyncClient,
    vendor: str,
    theirs: list[dict[str, Any]],
    action: str,
) -> None:
    before = await snapshot(as_vendor_b)
    for f in (None, {}, {"type": ["order_created"]}, {"archived": True}, {"q": "theirs-secret"}):
        body: dict[str, Any] = {"action": action, "all": True}
        if f is not None:
            body["filter"] = f
        r = await as_vendor.post("/api/v1/notifications/bulk", json=body)
        assert r.json() == {"updated": 0}
    assert await snapshot(as_vendor_b) == before

    mine = await create(publisher, vendor, type="order_created", title="B-lookalike")
    if action in ("mark_unread", "unarchive"):
        pre = "mark_read" if action == "mark_unread" else "archive"
        await as_vendor.post(
            "/api/v1/notifications/bulk", json={"action": pre, "ids": [mine["id"]]}
        )
    r = await as_vendor.post("/api/v1/notifications/bulk", json={"action": action, "all": True})
    assert r.json() == {"updated": 1}
    assert await snapshot(as_vendor_b) == before


async def test_b_still_sees_its_own(
    as_vendor_b: httpx.AsyncClient, theirs: list[dict[str, Any]]
) -> None:
    assert await ids(as_vendor_b) == [n["id"] for n in reversed(theirs)]
    r = await as_vendor_b.get(f"/api/v1/notifications/{theirs[0]['id']}")
    assert r.json() == theirs[0]
