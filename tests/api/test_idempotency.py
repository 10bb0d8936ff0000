"""Creating twice with the same `dedupe_key` or `Idempotency-Key` stores one notification."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_problem, create, ids

NOTE = {"type": "order_created", "title": "Order #7 placed"}


def url(vendor: str) -> str:
    return f"/api/v1/vendors/{vendor}/notifications"


async def test_dedupe_key_returns_the_first_notification(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    first = await publisher.post(url(vendor), json={**NOTE, "dedupe_key": "order-7"})
    assert first.status_code == 201
    again = await publisher.post(
        url(vendor), json={**NOTE, "title": "a different title", "dedupe_key": "order-7"}
    )
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert first.json()["dedupe_key"] == "order-7"
    assert await ids(as_vendor) == [first.json()["id"]]
    other = await publisher.post(url(vendor), json={**NOTE, "dedupe_key": "order-8"})
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


async def test_idempotency_key_header(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    headers = {"Idempotency-Key": "req-0001"}
    first = await publisher.post(url(vendor), json=NOTE, headers=headers)
    assert first.status_code == 201
    again = await publisher.post(url(vendor), json=NOTE, headers=headers)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert await ids(as_vendor) == [first.json()["id"]]
    unread = await as_vendor.get("/api/v1/notifications/unread-count")
    assert unread.json()["total"] == 1


async def test_without_a_key_every_post_creates(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    a = await create(publisher, vendor, **NOTE)
    b = await create(publisher, vendor, **NOTE)
    assert a["id"] != b["id"]
    assert len(await ids(as_vendor)) == 2


async def test_keys_are_per_vendor(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    as_vendor_b: httpx.AsyncClient,
    vendor: str,
    vendor_b: str,
) -> None:
    a = await publisher.post(url(vendor), json={**NOTE, "dedupe_key": "k"})
    b = await publisher.post(url(vendor_b), json={**NOTE, "dedupe_key": "k"})
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert await ids(as_vendor) == [a.json()["id"]]
    assert await ids(as_vendor_b) == [b.json()["id"]]


async def test_dedupe_key_outlives_read_and_archive(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    first = await create(publisher, vendor, dedupe_key="stay")
    await as_vendor.patch(
        f"/api/v1/notifications/{first['id']}", json={"read": True, "archived": True}
    )
    again = await publisher.post(url(vendor), json={**NOTE, "dedupe_key": "stay"})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["archived_at"] is not None


@pytest.mark.parametrize("how", ["header", "dedupe_key"])
async def test_concurrent_duplicates_create_exactly_one(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, how: str
) -> None:
    body = dict(NOTE)
    headers = {}
    if how == "header":
        headers["Idempotency-Key"] = "burst-1"
    else:
        body["dedupe_key"] = "burst-1"
    answers = await asyncio.gather(
        *(publisher.post(url(vendor), json=body, headers=headers) for _ in range(20))
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200] * 19 + [201], [r.text for r in answers if r.status_code >= 300]
    named = {r.json()["id"] for r in answers}
    assert len(named) == 1
    assert await ids(as_vendor) == list(named)
    assert (await as_vendor.get("/api/v1/notifications/unread-count")).json()["total"] == 1


async def test_concurrent_distinct_keys_all_create(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    answers = await asyncio.gather(
        *(publisher.post(url(vendor), json={**NOTE, "dedupe_key": f"k{i}"}) for i in range(20))
    )
    assert [r.status_code for r in answers] == [201] * 20
    assert len(set(await ids(as_vendor))) == 20


@pytest.mark.parametrize("key", ["", "k" * 201])
async def test_bad_idempotency_key_is_422_and_writes_nothing(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, key: str
) -> None:
    r = await publisher.post(url(vendor), json=NOTE, headers={"Idempotency-Key": key})
    assert_problem(r, 422, "Idempotency-Key")
    assert await ids(as_vendor) == []


@pytest.mark.parametrize("key", ["", "k" * 201, "tab\there", 5])
async def test_bad_dedupe_key_is_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, key: object
) -> None:
    # A key is one line, like the Idempotency-Key header it shares its column with: no tab.
    r = await publisher.post(url(vendor), json={**NOTE, "dedupe_key": key})
    assert_problem(r, 422, "dedupe_key")
    assert await ids(as_vendor) == []


@pytest.mark.parametrize(
    "change",
    [
        {"title": "a different title"},
        {"body": "another body"},
        {"data": {"order_id": "8"}},
        {"priority": "urgent"},
        {"link": "/orders/8"},
        {"type": "order_cancelled"},
    ],
    ids=["title", "body", "data", "priority", "link", "type"],
)
async def test_idempotency_key_reused_with_a_different_body_is_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, change: dict[str, Any]
) -> None:
    headers = {"Idempotency-Key": "req-reused"}
    note = {**NOTE, "data": {"order_id": "7"}, "link": "/orders/7"}
    first = await publisher.post(url(vendor), json=note, headers=headers)
    assert first.status_code == 201
    r = await publisher.post(url(vendor), json={**note, **change}, headers=headers)
    assert_problem(r, 422, "Idempotency-Key")
    assert await ids(as_vendor) == [first.json()["id"]]
    # The same body again is still the original.
    again = await publisher.post(url(vendor), json=note, headers=headers)
    assert again.status_code == 200
    assert again.json() == first.json()


async def test_dedupe_key_in_the_body_wins_over_the_header(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    """A `dedupe_key` names the notification, not the request: another body gets the original."""
    body = {**NOTE, "dedupe_key": "order-9"}
    first = await publisher.post(url(vendor), json=body, headers={"Idempotency-Key": "k9"})
    assert first.status_code == 201
    again = await publisher.post(
        url(vendor), json={**body, "title": "changed"}, headers={"Idempotency-Key": "k9"}
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
