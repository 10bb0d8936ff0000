"""Malformed and hostile input: a problem+json answer with the right status, and no write.

Every rejected write is followed by a look at the vendor's list: nothing was stored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests._server import API_KEY
from tests.api.conftest import assert_problem, create, ids
from tests.conftest import ServerFactory

VALID = {"type": "order_created", "title": "Order #1 placed"}


def url(vendor: str) -> str:
    return f"/api/v1/vendors/{vendor}/notifications"


async def raw(
    client: httpx.AsyncClient, path: str, content: bytes, ctype: str = "application/json"
) -> httpx.Response:
    return await client.post(path, content=content, headers={"Content-Type": ctype})


# -- 400 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b'{"type": "order_created", "title": "x",}',
        b"{'type': 'order_created'}",
        b'{"type": "order_created"} trailing',
        b"nul\x00",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"type": "order_created", "title": "x", "data": {"n": NaN}}',
        b'{"type": "order_created", "title": "x", "data": {"n": Infinity}}',
        b'{"type": "order_created", "title": "x", "data": {"n": -Infinity}}',
        b'{"type": "order_created", "title": "x", "data": {"n": 1e999}}',
        b'{"type": "order_created", "title": "\\ud800"}',
        b'{"type": "order_created", "title": "x", "data": {"s": "\\udfff"}}',
        b'\xef\xbb\xbf{"type": "order_created", "title": "x"}',
        b'{"type": "order_created", "title": "x", "data": {"n": ' + b"9" * 5000 + b"}}",
    ],
    ids=[
        "empty",
        "truncated",
        "trailing-comma",
        "single-quotes",
        "trailing-text",
        "nul",
        "deep-nesting",
        "nan",
        "infinity",
        "minus-infinity",
        "overflowing-number",
        "lone-surrogate-title",
        "lone-surrogate-data",
        "bom",
        "5000-digit-integer",
    ],
)
async def test_malformed_json_is_400(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, content: bytes
) -> None:
    assert_problem(await raw(publisher, url(vendor), content), 400)
    assert await ids(as_vendor) == []


@pytest.mark.parametrize(
    "content",
    [
        b'{"type": "order_created", "title": "caf\xe9"}',
        b'{"type": "order_created", "title": "\xff\xfe"}',
        b'{"type": "order_created", "title": "\xc3"}',
        '{"type": "order_created", "title": "x"}'.encode("utf-16"),
    ],
    ids=["latin-1", "invalid-bytes", "truncated-sequence", "utf-16"],
)
async def test_non_utf8_is_400(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, content: bytes
) -> None:
    assert_problem(await raw(publisher, url(vendor), content), 400)
    assert await ids(as_vendor) == []


async def test_malformed_json_on_vendor_routes_is_400(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    headers = {"Content-Type": "application/json"}
    for method, path in (
        ("PATCH", f"/api/v1/notifications/{n['id']}"),
        ("POST", "/api/v1/notifications/bulk"),
    ):
        r = await as_vendor.request(method, path, content=b'{"read": tru', headers=headers)
        assert_problem(r, 400)
        r = await as_vendor.request(method, path, content=b'{"read": "\xff"}', headers=headers)
        assert_problem(r, 400)
    assert_problem(await raw(publisher, "/api/v1/tokens", b"{"), 400)
    assert (await ids(as_vendor, unread="true")) == [n["id"]]


# -- 422 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x"}, "type"),
        ({"type": "order_created"}, "title"),
        ({}, "type"),
        ({**VALID, "title": 5}, "title"),
        ({**VALID, "title": ""}, "title"),
        ({**VALID, "title": "x" * 201}, "title"),
        ({**VALID, "title": "bell\u0007"}, "title"),
        ({**VALID, "title": None}, "title"),
        ({**VALID, "body": ["a"]}, "body"),
        ({**VALID, "body": "x" * 5001}, "body"),
        ({**VALID, "body": "esc\u001b[31m"}, "body"),
        ({**VALID, "type": "Order Created"}, "type"),
        ({**VALID, "type": "1order"}, "type"),
        ({**VALID, "type": "o" * 65}, "type"),
        ({**VALID, "type": "order'; DROP TABLE notifications; --"}, "type"),
        ({**VALID, "type": 1}, "type"),
        ({**VALID, "data": []}, "data"),
        ({**VALID, "data": "{}"}, "data"),
        ({**VALID, "priority": "critical"}, "priority"),
        ({**VALID, "priority": "HIGH"}, "priority"),
        ({**VALID, "priority": 3}, "priority"),
        ({**VALID, "link": "javascript:alert(1)"}, "link"),
        ({**VALID, "link": "ftp://files.example"}, "link"),
        ({**VALID, "link": "https://a b"}, "link"),
        ({**VALID, "link": "//evil.example/login"}, "link"),
        ({**VALID, "link": "https://shop.example/\n"}, "link"),
        ({**VALID, "link": "/\\evil.example/login"}, "link"),
        ({**VALID, "link": "https://x/" + "a" * 2048}, "link"),
        ({**VALID, "dedupe_key": 5}, "dedupe_key"),
        ({**VALID, "vendor_id": "someone-else"}, "vendor_id"),
        ({**VALID, "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "id"),
        ({**VALID, "read_at": "2024-01-01T00:00:00Z"}, "read_at"),
        ({**VALID, "Title": "x"}, "Title"),
    ],
)
async def test_invalid_notification_is_422_naming_the_field(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    vendor: str,
    body: dict[str, Any],
    field: str,
) -> None:
    r = await publisher.post(url(vendor), json=body)
    problem = assert_problem(r, 422, field)
    assert field in problem["detail"]
    assert await ids(as_vendor) == []


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"1", b"null", b"true"])
async def test_a_body_that_is_not_an_object_is_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, content: bytes
) -> None:
    assert_problem(await raw(publisher, url(vendor), content), 422)
    assert await ids(as_vendor) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"read": "yes"}, "read"),
        ({"read": 1}, "read"),
        ({"archived": "true"}, "archived"),
        ({"read": True, "archived": "x"}, "archived"),
        ({"read": True, "deleted": True}, "deleted"),
        ({"title": "renamed"}, "title"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    vendor: str,
    body: dict[str, Any],
    field: str,
) -> None:
    n = await create(publisher, vendor)
    r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", json=body)
    assert_problem(r, 422, field)
    assert (await as_vendor.get(f"/api/v1/notifications/{n['id']}")).json() == n


@pytest.mark.parametrize(
    "vendor_id",
    [
        "has space",
        "x" * 65,
        "ünïcode",
        "semi;colon",
        "quote'",
        "new%0Aline",
        "trailing%0A",
        "tab%09",
        "nul%00",
        "%FF",
        "*",
        "%25",
    ],
)
async def test_invalid_vendor_id_in_path_is_422(
    publisher: httpx.AsyncClient, vendor_id: str
) -> None:
    r = await publisher.post(f"/api/v1/vendors/{vendor_id}/notifications", json=VALID)
    assert_problem(r, 422, "vendor_id")


async def test_longest_vendor_id_is_accepted(publisher: httpx.AsyncClient) -> None:
    vendor = "V" + "-_." * 21
    assert len(vendor) == 64
    n = await create(publisher, vendor)
    assert n["vendor_id"] == vendor


# -- stored verbatim ------------------------------------------------------------


async def test_sql_looking_strings_are_stored_and_returned_verbatim(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    hostile = {
        "type": "order_created",
        "title": "Robert'); DROP TABLE notifications;--",
        "body": "1' OR '1'='1' UNION SELECT * FROM api_keys; -- \\ % _ \" `",
        "data": {"q": '" OR 1=1 --', "$where": "1", "k'); --": ["%_", None]},
        "dedupe_key": "x' OR 'x'='x",
        "link": "/orders?id=1'--&q=%25",
    }
    n = await create(publisher, vendor, **hostile)
    for key, value in hostile.items():
        assert n[key] == value
    assert (await as_vendor.get(f"/api/v1/notifications/{n['id']}")).json() == n
    again = await publisher.post(url(vendor), json=hostile)
    assert again.status_code == 200
    assert again.json()["id"] == n["id"]
    assert await ids(as_vendor) == [n["id"]]
    assert await ids(as_vendor, q="DROP TABLE") == [n["id"]]


# -- 413, 415 -------------------------------------------------------------------


@pytest.fixture
async def small(make_server: ServerFactory) -> AsyncIterator[httpx.AsyncClient]:
    """A publisher client on a server that takes bodies of at most 1 KiB."""
    srv = make_server({"TOCSIN_MAX_BODY_BYTES": "1024"})
    async with httpx.AsyncClient(
        base_url=srv.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    ) as client:
        yield client


async def test_body_at_the_limit_is_accepted_and_over_it_is_413(
    small: httpx.AsyncClient, vendor: str
) -> None:
    def body(size: int) -> bytes:
        head = json.dumps({**VALID, "body": ""}).encode()
        return head[:-2] + b"x" * (size - len(head)) + b'"}'

    assert len(body(1024)) == 1024
    r = await raw(small, url(vendor), body(1024))
    assert r.status_code == 201, r.text
    assert_problem(await raw(small, url(vendor), body(1025)), 413)
    assert_problem(await raw(small, url(vendor), body(4000)), 413)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield body(1024)[:512]

    r = await small.post(
        url(vendor), content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(r, 413)
    # Only the first request stored anything.
    token = await small.post("/api/v1/tokens", json={"vendor_id": vendor})
    listing = await small.get(
        "/api/v1/notifications", headers={"Authorization": f"Bearer {token.json()['token']}"}
    )
    assert len(listing.json()["items"]) == 1


async def test_huge_body_is_413(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    big = json.dumps({**VALID, "data": {"blob": "x" * (1024 * 1024)}}).encode()
    assert_problem(await raw(publisher, url(vendor), big), 413)
    assert await ids(as_vendor) == []


@pytest.mark.parametrize(
    "ctype",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "",
        "json",
    ],
)
async def test_wrong_content_type_is_415(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, ctype: str
) -> None:
    content = json.dumps(VALID).encode()
    assert_problem(await raw(publisher, url(vendor), content, ctype), 415)
    assert await ids(as_vendor) == []


async def test_json_content_type_variants_are_accepted(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    content = json.dumps(VALID).encode()
    for ctype in ("application/json; charset=utf-8", "Application/JSON", "application/merge+json"):
        r = await raw(publisher, url(vendor), content, ctype)
        assert r.status_code == 201, (ctype, r.text)
    assert len(await ids(as_vendor)) == 3


async def test_wrong_content_type_on_vendor_routes_is_415(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    r = await as_vendor.patch(f"/api/v1/notifications/{n['id']}", content=b"read=1", headers=form)
    assert_problem(r, 415)
    r = await as_vendor.post("/api/v1/notifications/bulk", content=b"action=delete", headers=form)
    assert_problem(r, 415)
    assert await ids(as_vendor, unread="true") == [n["id"]]


# -- 404, 405 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "notification_id",
    [
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "00000000000000000000000000",
        "nope",
        "x" * 5000,
        "' OR '1'='1",
        "%00",
        "%25",
        "..",
    ],
)
async def test_unknown_notification_is_404(
    as_vendor: httpx.AsyncClient, notification_id: str
) -> None:
    path = f"/api/v1/notifications/{notification_id}"
    assert_problem(await as_vendor.get(path), 404)
    assert_problem(await as_vendor.patch(path, json={"read": True}), 404)
    assert_problem(await as_vendor.delete(path), 404)


async def test_an_id_in_lower_case_is_not_found(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    n = await create(publisher, vendor)
    assert_problem(await as_vendor.get(f"/api/v1/notifications/{n['id'].lower()}"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api",
        "/api/v1",
        "/api/v2/notifications",
        "/api/v1/notification",
        "/api/v1/notifications/a/b",
        "/api/v1/vendors/x",
        "/api/v1/vendors/x/notifications/y",
        "/api/v1/../../etc/passwd",
        "/api/v1/notifications%2Fbulk",
        "/api/v1/vendors/a%2Fb/notifications",
    ],
)
async def test_unknown_route_is_404(as_vendor: httpx.AsyncClient, path: str) -> None:
    body = assert_problem(await as_vendor.get(path), 404)
    assert body["title"] == "Not found"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/tokens"),
        ("DELETE", "/api/v1/tokens"),
        ("GET", "/api/v1/vendors/x/notifications"),
        ("DELETE", "/api/v1/vendors/x/notifications"),
        ("POST", "/api/v1/notifications"),
        ("DELETE", "/api/v1/notifications"),
        ("PUT", "/api/v1/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ("POST", "/api/v1/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        ("POST", "/api/v1/notifications/unread-count"),
        ("POST", "/healthz"),
        ("DELETE", "/openapi.json"),
    ],
)
async def test_wrong_method_is_405(publisher: httpx.AsyncClient, method: str, path: str) -> None:
    r = await publisher.request(method, path)
    assert_problem(r, 405)
    assert r.headers["allow"]
    assert method not in r.headers["allow"].replace(" ", "").split(",")


async def test_no_error_answer_is_a_500(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    """A last sweep of odd requests: every answer is a well-formed client error."""
    weird: list[tuple[httpx.AsyncClient, str, str, dict[str, Any]]] = [
        (
            as_vendor,
            "GET",
            "/api/v1/notifications",
            {"params": {"since": "9999-12-31T23:59:59-14:00"}},
        ),
        (
            as_vendor,
            "GET",
            "/api/v1/notifications",
            {"params": {"since": "0001-01-01T00:00:00+14:00"}},
        ),
        (as_vendor, "GET", "/api/v1/notifications", {"params": {"since": "1" * 30}}),
        (as_vendor, "GET", "/api/v1/notifications", {"params": {"q": "%ff\ud7ff"}}),
        (as_vendor, "GET", "/api/v1/notifications", {"params": {"type": "," * 50}}),
        (as_vendor, "GET", "/api/v1/notifications", {"params": {"limit": "1" * 5000}}),
        (publisher, "POST", url(vendor), {"json": {**VALID, "data": {"x" * 10000: 1}}}),
        (publisher, "POST", url(vendor), {"json": {**VALID, "data": {"n": 10**400}}}),
        (
            publisher,
            "POST",
            url(vendor),
            {"json": {**VALID, "data": {"deep": [[[[[[[[[[1]]]]]]]]]]}}},
        ),
    ]
    for client, method, path, kwargs in weird:
        r = await client.request(method, path, **kwargs)
        assert r.status_code < 500, (method, path, kwargs, r.text)
        if r.status_code >= 400:
            assert_problem(r, r.status_code)
