"""Seen beside read: a live tab marks what it displayed (`POST /api/v1/notifications/seen`)."""

from __future__ import annotations

import httpx

from tests._server import Server
from tests.api.conftest import assert_problem, create, ids
from tests.conftest import mint_token
from tests.stream._helpers import poll


async def test_seen_marks_once_and_keeps_read_apart(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    a = await create(publisher, vendor, title="A")
    b = await create(publisher, vendor, title="B")
    assert a["seen_at"] is None

    r = await as_vendor.post("/api/v1/notifications/seen", json={"ids": [a["id"]]})
    assert r.status_code == 200, r.text
    assert r.json() == {"updated": 1}
    again = await as_vendor.post("/api/v1/notifications/seen", json={"ids": [a["id"], b["id"]]})
    assert again.json() == {"updated": 1}
    third = await as_vendor.post("/api/v1/notifications/seen", json={"ids": [a["id"]]})
    assert third.json() == {"updated": 0}

    got = (await as_vendor.get(f"/api/v1/notifications/{a['id']}")).json()
    assert got["seen_at"] is not None
    assert got["read_at"] is None, "seen is not read"
    count = (await as_vendor.get("/api/v1/notifications/unread-count")).json()
    assert count["total"] == 2


async def test_the_list_filters_by_seen(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    a = await create(publisher, vendor, title="A")
    b = await create(publisher, vendor, title="B")
    await as_vendor.post("/api/v1/notifications/seen", json={"ids": [a["id"]]})
    assert await ids(as_vendor, seen="true") == [a["id"]]
    assert await ids(as_vendor, seen="false") == [b["id"]]
    assert await ids(as_vendor) == [b["id"], a["id"]]
    bad = await as_vendor.get("/api/v1/notifications", params={"seen": "maybe"})
    assert_problem(bad, 422)


async def test_another_vendors_notification_is_not_marked(
    publisher: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    theirs = await create(publisher, "someone-else-" + vendor, title="Not yours")
    token = mint_token(server.url, vendor)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as me:
        r = await me.post("/api/v1/notifications/seen", json={"ids": [theirs["id"], "not-an-id"]})
    assert r.json() == {"updated": 0}


async def test_seen_is_checked(as_vendor: httpx.AsyncClient) -> None:
    assert_problem(await as_vendor.post("/api/v1/notifications/seen", json={}), 422)
    too_many = {"ids": ["x"] * 1001}
    assert_problem(await as_vendor.post("/api/v1/notifications/seen", json=too_many), 422)
    unauthenticated = await as_vendor.post(
        "/api/v1/notifications/seen", json={"ids": []}, headers={"Authorization": ""}
    )
    assert_problem(unauthenticated, 401)


async def test_seen_emits_one_notification_update(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    a = await create(publisher, vendor, title="A")
    b = await create(publisher, vendor, title="B")
    token = mint_token(server.url, vendor)
    start = await poll(server.url, token)
    await as_vendor.post("/api/v1/notifications/seen", json={"ids": [a["id"], b["id"]]})
    await as_vendor.post("/api/v1/notifications/seen", json={"ids": [a["id"]]})  # no change
    page = await poll(server.url, token, after=start["last_id"], wait=5)
    updates = [e for e in page["events"] if e["event"] == "notification_update"]
    assert len(updates) == 1, page
    assert sorted(updates[0]["data"]["ids"]) == sorted([a["id"], b["id"]])
    assert updates[0]["data"]["changes"] == {"seen": True}
    assert updates[0]["data"]["unread_count"] == 2
