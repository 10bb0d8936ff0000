"""Create, read, change and delete single notifications; the unread count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.api.conftest import assert_problem, create, ids, listed


async def test_create_answers_the_stored_notification(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    r = await publisher.post(
        f"/api/v1/vendors/{vendor}/notifications",
        json={
            "type": "payment_received",
            "title": "Payment received",
            "body": "€12.50 for order #42",
            "data": {"order_id": "42", "amount": 12.5, "items": [1, 2], "nested": {"a": None}},
            "priority": "high",
            "link": "https://shop.example/orders/42",
        },
    )
    assert r.status_code == 201, r.text
    n = r.json()
    assert r.headers["location"] == f"/api/v1/notifications/{n['id']}"
    assert n["vendor_id"] == vendor
    assert n["type"] == "payment_received"
    assert n["title"] == "Payment received"
    assert n["body"] == "€12.50 for order #42"
    assert n["data"] == {"order_id": "42", "amount": 12.5, "items": [1, 2], "nested": {"a": None}}
    assert n["priority"] == "high"
    assert n["link"] == "https://shop.example/orders/42"
    assert n["read_at"] is None
    assert n["archived_at"] is None
    assert n["dedupe_key"] is None
    created = datetime.fromisoformat(n["created_at"])
    assert before <= created <= datetime.now(UTC) + timedelta(seconds=5)

    got = await as_vendor.get(f"/api/v1/notifications/{n['id']}")
    assert got.status_code == 200
    assert got.json() == n


async def test_create_fills_defaults(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor, title="Only a title")
    assert n["body"] == ""
    assert n["data"] == {}
    assert n["priority"] == "normal"
    assert n["link"] is None
    assert await ids(as_vendor) == [n["id"]]


async def test_create_accepts_a_relative_link(publisher: httpx.AsyncClient, vendor: str) -> None:
    n = await create(publisher, vendor, link="/orders/7")
    assert n["link"] == "/orders/7"


async def test_list_is_newest_first_with_unread_count(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [await create(publisher, vendor, title=f"n{i}") for i in range(4)]
    r = await as_vendor.get("/api/v1/notifications")
    assert r.status_code == 200
    page = r.json()
    assert [n["id"] for n in page["items"]] == [n["id"] for n in reversed(made)]
    assert page["items"][0] == made[-1]
    assert page["next_cursor"] is None
    assert page["unread_count"] == 4


async def test_mark_read_and_unread(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    other = await create(publisher, vendor)
    r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"read": True})
    assert r.status_code == 200, r.text
    assert r.json()["read_at"] is not None
    assert r.json()["title"] == n["title"]
    assert (await as_vendor.get("/api/v1/notifications/unread-count")).json()["total"] == 1
    assert await ids(as_vendor, unread="true") == [other["id"]]

    again = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"read": True})
    assert again.status_code == 200
    assert again.json()["read_at"] == r.json()["read_at"]

    r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"read": False})
    assert r.status_code == 200
    assert r.json()["read_at"] is None
    assert (await as_vendor.get("/api/v1/notifications/unread-count")).json()["total"] == 2


async def test_archive_and_unarchive(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"archived": True})
    assert r.status_code == 200
    assert r.json()["archived_at"] is not None
    assert r.json()["read_at"] is None
    assert await ids(as_vendor) == []
    assert await ids(as_vendor, archived="true") == [n["id"]]
    assert (await as_vendor.get(f"/api/v1/notifications/{n['id']}")).status_code == 200

    r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"archived": False})
    assert r.status_code == 200
    assert r.json()["archived_at"] is None
    assert await ids(as_vendor) == [n["id"]]
    assert await ids(as_vendor, archived="true") == []


async def test_patch_read_and_archived_together(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    r = await as_vendor.patch(
        f"/api/v1/notifications/{n['id']}", json={"read": True, "archived": True}
    )
    assert r.status_code == 200
    assert r.json()["read_at"] is not None
    assert r.json()["archived_at"] is not None


async def test_empty_patch_changes_nothing(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    for body in ({}, {"read": None, "archived": None}):
        r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json=body)
        assert r.status_code == 200
        assert r.json() == n


async def test_delete(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    keep = await create(publisher, vendor)
    r = await as_vendor.delete(f"/api/v1/notifications/{n['id']}")
    assert r.status_code == 204
    assert r.content == b""
    assert_problem(await as_vendor.get(f"/api/v1/notifications/{n['id']}"), 404)
    assert_problem(await as_vendor.delete(f"/api/v1/notifications/{n['id']}"), 404)
    assert_problem(
        await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"read": True}), 404
    )
    assert await ids(as_vendor) == [keep["id"]]
    assert await ids(as_vendor, archived="true") == []


async def test_delete_an_archived_notification(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json={"archived": True})
    assert (await as_vendor.delete(f"/api/v1/notifications/{n['id']}")).status_code == 204
    assert await ids(as_vendor, archived="true") == []


async def test_unread_count_total_and_by_type(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    empty = await as_vendor.get("/api/v1/notifications/unread-count")
    assert empty.status_code == 200
    assert empty.json() == {"total": 0, "by_type": {}}

    a = await create(publisher, vendor, type="order_created")
    await create(publisher, vendor, type="order_created")
    b = await create(publisher, vendor, type="payment_received")
    c = await create(publisher, vendor, type="order.status_changed")
    await create(publisher, vendor, type="payment_received")
    r = await as_vendor.get("/api/v1/notifications/unread-count")
    assert r.json() == {
        "total": 5,
        "by_type": {"order_created": 2, "payment_received": 2, "order.status_changed": 1},
    }

    await as_vendor.patch(f"/api/v1/notifications/{a['id']}", json={"read": True})
    await as_vendor.patch(f"/api/v1/notifications/{b['id']}", json={"archived": True})
    await as_vendor.delete(f"/api/v1/notifications/{c['id']}")
    r = await as_vendor.get("/api/v1/notifications/unread-count")
    assert r.json() == {"total": 2, "by_type": {"order_created": 1, "payment_received": 1}}
    page = (await as_vendor.get("/api/v1/notifications")).json()
    assert page["unread_count"] == 2


async def test_page_unread_count_ignores_the_page_filters(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    """`unread_count` in a page is the vendor's total, whatever the page's filters."""
    await create(publisher, vendor, type="order_created")
    await create(publisher, vendor, type="payment_received")
    page = (await as_vendor.get("/api/v1/notifications", params={"type": "nothing_here"})).json()
    assert page["items"] == []
    assert page["unread_count"] == 2


async def test_data_round_trips_unicode_and_escapes(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    data = {
        "emoji": "🛒✨",
        "rtl": "שלום",
        "nul": "a\u0000b",
        "key\u0000": 1,
        "big": 123456789012345678901234567890,
        "neg": -0.5,
        "bool": False,
        "list": [{"x": [None, True, "\\"]}],
    }
    n = await create(publisher, vendor, title="Ünïcödé 🛎️", body="tab\there\nnewline", data=data)
    got = (await as_vendor.get(f"/api/v1/notifications/{n['id']}")).json()
    assert got["data"] == data
    assert got["title"] == "Ünïcödé 🛎️"
    assert got["body"] == "tab\there\nnewline"
    assert (await listed(as_vendor))[0]["data"] == data
