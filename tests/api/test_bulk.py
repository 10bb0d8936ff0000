"""`POST /api/v1/notifications/bulk`: by ids and by filter."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_problem, create, ids, listed

BULK = "/api/v1/notifications/bulk"


async def bulk(client: httpx.AsyncClient, **body: Any) -> int:
    r = await client.post(BULK, json=body)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"updated"}
    return int(r.json()["updated"])


async def unread_total(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/notifications/unread-count")).json()["total"])


async def test_mark_read_and_unread_by_ids(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [(await create(publisher, vendor))["id"] for _ in range(4)]
    assert await bulk(as_vendor, action="mark_read", ids=made[:3]) == 3
    assert await ids(as_vendor, unread="true") == [made[3]]
    # Already read: nothing changes.
    assert await bulk(as_vendor, action="mark_read", ids=made[:2]) == 0
    assert await bulk(as_vendor, action="mark_read", ids=[made[0], made[0], made[3]]) == 1
    assert await unread_total(as_vendor) == 0
    assert await bulk(as_vendor, action="mark_unread", ids=made[1:]) == 3
    assert await ids(as_vendor, unread="false") == [made[0]]


async def test_archive_unarchive_delete_by_ids(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [(await create(publisher, vendor))["id"] for _ in range(4)]
    assert await bulk(as_vendor, action="archive", ids=made[:2]) == 2
    assert sorted(await ids(as_vendor, archived="true")) == sorted(made[:2])
    assert await unread_total(as_vendor) == 2
    assert await bulk(as_vendor, action="unarchive", ids=made[:1]) == 1
    assert await bulk(as_vendor, action="unarchive", ids=made[:1]) == 0
    assert await bulk(as_vendor, action="delete", ids=[made[1], made[2]]) == 2
    assert await bulk(as_vendor, action="delete", ids=[made[1], made[2]]) == 0
    assert sorted(await ids(as_vendor)) == sorted([made[0], made[3]])
    assert await ids(as_vendor, archived="true") == []


async def test_unknown_and_malformed_ids_change_nothing(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    junk = ["01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", "' OR 1=1 --", "", "%", n["id"].lower()]
    assert await bulk(as_vendor, action="mark_read", ids=junk) == 0
    assert await bulk(as_vendor, action="delete", ids=junk) == 0
    assert await bulk(as_vendor, action="archive", ids=[]) == 0
    assert (await listed(as_vendor)) == [n]


async def test_mark_all_read(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [(await create(publisher, vendor, type=t))["id"] for t in ("a_t", "b_t", "a_t")]
    await as_vendor.patch(f"/api/v1/notifications/{made[0]}", json={"read": True})
    assert await bulk(as_vendor, action="mark_read", all=True) == 2
    assert await unread_total(as_vendor) == 0
    assert await ids(as_vendor, unread="true") == []
    assert await bulk(as_vendor, action="mark_read", all=True) == 0


async def test_all_with_a_filter(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    a1 = await create(publisher, vendor, type="a_t", priority="high")
    b1 = await create(publisher, vendor, type="b_t", priority="high")
    a2 = await create(publisher, vendor, type="a_t", priority="low", title="find me")
    changed = await bulk(as_vendor, action="mark_read", all=True, filter={"type": ["a_t"]})
    assert changed == 2
    assert await ids(as_vendor, unread="true") == [b1["id"]]
    changed = await bulk(
        as_vendor, action="archive", all=True, filter={"priority": ["high"], "unread": False}
    )
    assert changed == 1
    assert await ids(as_vendor, archived="true") == [a1["id"]]
    assert await bulk(as_vendor, action="delete", all=True, filter={"q": "FIND"}) == 1
    assert await ids(as_vendor) == [b1["id"]]
    assert a2["id"] not in await ids(as_vendor, archived="true")


async def test_all_with_a_time_filter(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [await create(publisher, vendor) for _ in range(3)]
    pivot = made[1]["created_at"]
    expected = sum(1 for n in made if n["created_at"] >= pivot)
    changed = await bulk(as_vendor, action="mark_read", all=True, filter={"since": pivot})
    assert changed == expected
    assert await unread_total(as_vendor) == 3 - expected


async def test_delete_all_reaches_archived_ones(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    made = [(await create(publisher, vendor))["id"] for _ in range(3)]
    await as_vendor.patch(f"/api/v1/notifications/{made[0]}", json={"archived": True})
    assert await bulk(as_vendor, action="delete", all=True) == 3
    assert await ids(as_vendor) == []
    assert await ids(as_vendor, archived="true") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "mark_read"}, "ids"),
        ({"action": "mark_read", "ids": ["x"], "all": True}, "ids"),
        ({"action": "explode", "ids": []}, "action"),
        ({"ids": []}, "action"),
        ({"action": "mark_read", "ids": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "ids"),
        ({"action": "mark_read", "ids": [1]}, "ids"),
        ({"action": "mark_read", "ids": ["x" * 65]}, "ids"),
        ({"action": "mark_read", "ids": ["x"] * 1001}, "ids"),
        ({"action": "mark_read", "all": "yes"}, "all"),
        ({"action": "mark_read", "all": True, "filter": {"priority": ["loud"]}}, "filter"),
        ({"action": "mark_read", "all": True, "filter": {"colour": "red"}}, "filter"),
        (
            {"action": "mark_read", "all": True, "filter": {"since": "2024-01-01T00:00:00"}},
            "filter",
        ),
        ({"action": "mark_read", "all": True, "filter": {"q": "a\u0000"}}, "filter"),
        ({"action": "mark_read", "ids": [], "everything": True}, "everything"),
    ],
)
async def test_invalid_bulk_is_422_and_changes_nothing(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    vendor: str,
    body: dict[str, Any],
    field: str,
) -> None:
    n = await create(publisher, vendor)
    assert_problem(await as_vendor.post(BULK, json=body), 422, field)
    assert await listed(as_vendor) == [n]
