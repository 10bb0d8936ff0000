"""Input that once answered 500 or dropped the connection: now a 422 (401 at the admin login).

PostgreSQL cannot store a NUL byte in text, and a mail header cannot hold a
line break; both backends answer the same, so a client learns it from either.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import assert_problem, ids

NOTE = {"type": "order_created", "title": "Order #1 placed"}
# Control characters no text field may hold (a body may span lines: \t \n \r are fine there).
CONTROLS = ["\x00", "\x01", "\x1b", "\x7f"]


def url(vendor: str) -> str:
    return f"/api/v1/vendors/{vendor}/notifications"


@pytest.mark.parametrize("cursor", ["9223372036854775808", "%C2%B2", "1" * 40, "-1", "%EF%BC%91"])
async def test_deliveries_cursor_past_int64_or_not_ascii_is_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, cursor: str
) -> None:
    for client, path in (
        (as_vendor, "/api/v1/deliveries"),
        (publisher, f"/api/v1/vendors/{vendor}/deliveries"),
    ):
        r = await client.get(f"{path}?cursor={cursor}")
        assert_problem(r, 422, "cursor")


async def test_deliveries_cursor_at_int64_max_is_an_empty_page(
    as_vendor: httpx.AsyncClient,
) -> None:
    r = await as_vendor.get("/api/v1/deliveries", params={"cursor": str(2**63 - 1)})
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize("char", CONTROLS)
async def test_nul_and_control_characters_in_link_are_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, char: str
) -> None:
    r = await publisher.post(url(vendor), json={**NOTE, "link": f"/orders/1{char}x"})
    assert_problem(r, 422, "link")
    assert await ids(as_vendor) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"dedupe_key": "k\x00"},
        {"dedupe_key": "k\n"},
        {"title": "a\x00b"},
        {"body": "a\x00b"},
        {"type": "order_created\n"},
    ],
    ids=["dedupe-nul", "dedupe-newline", "title-nul", "body-nul", "type-newline"],
)
async def test_control_characters_in_notification_fields_are_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, fields: dict[str, str]
) -> None:
    r = await publisher.post(url(vendor), json={**NOTE, **fields})
    assert_problem(r, 422, *fields)
    assert await ids(as_vendor) == []


async def test_a_body_may_span_lines(publisher: httpx.AsyncClient, vendor: str) -> None:
    r = await publisher.post(url(vendor), json={**NOTE, "body": "line 1\r\n\tline 2\n"})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "line 1\r\n\tline 2\n"


# The server itself refuses most control bytes in a header; these get through it.
@pytest.mark.parametrize("key", [b"a\tb", b"a\x85b"])
async def test_idempotency_key_with_control_characters_is_422(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str, key: bytes
) -> None:
    r = await publisher.post(url(vendor), json=NOTE, headers={"Idempotency-Key": key})
    assert_problem(r, 422, "Idempotency-Key")
    assert await ids(as_vendor) == []


@pytest.mark.parametrize(
    "contact",
    [
        {"email": "a\x00@example.com"},
        {"email": "a@example.com\n"},
        {"email": "a@example.com\r\nBcc: x@example.com"},
        {"phone": "+4915112345678\n"},
        {"phone": "+49151\x0012345678"},
    ],
    ids=[
        "email-nul",
        "email-trailing-newline",
        "email-header-injection",
        "phone-newline",
        "phone-nul",
    ],
)
async def test_contact_with_nul_or_newline_is_422(
    publisher: httpx.AsyncClient, vendor: str, contact: dict[str, str]
) -> None:
    r = await publisher.put(f"/api/v1/vendors/{vendor}/contact", json=contact)
    assert_problem(r, 422, *contact)


async def test_a_valid_contact_is_still_accepted(publisher: httpx.AsyncClient, vendor: str) -> None:
    body = {"email": "shop@example.com", "phone": "+4915112345678"}
    r = await publisher.put(f"/api/v1/vendors/{vendor}/contact", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"vendor_id": vendor, **body, "locale": "en", "timezone": "UTC"}


@pytest.mark.parametrize(
    ("name", "value"),
    [("q", "a\x00b"), ("type", "order_created\x00"), ("cursor", "\x00"), ("priority", "\x00")],
)
async def test_nul_in_list_query_params_is_422(
    as_vendor: httpx.AsyncClient, name: str, value: str
) -> None:
    r = await as_vendor.get("/api/v1/notifications", params={name: value})
    assert_problem(r, 422, name)


async def test_nul_in_bulk_ids_and_filter_is_422(as_vendor: httpx.AsyncClient) -> None:
    r = await as_vendor.post(
        "/api/v1/notifications/bulk", json={"action": "mark_read", "ids": ["01\x00"]}
    )
    assert_problem(r, 422, "ids")
    r = await as_vendor.post(
        "/api/v1/notifications/bulk",
        json={"action": "mark_read", "all": True, "filter": {"q": "\x00"}},
    )
    assert_problem(r, 422, "filter.q")


@pytest.mark.parametrize(
    "change",
    [{"id": "evt\x00"}, {"data": {"order_id": "1\x00"}}, {"data": {"status": "shipped\r\n"}}],
    ids=["event-id-nul", "order-id-nul", "status-newline"],
)
async def test_control_characters_in_event_payload_strings_are_422(
    publisher: httpx.AsyncClient, vendor: str, change: dict[str, object]
) -> None:
    data = {"order_id": "1", "vendor_id": vendor, "status": "shipped"}
    event = {
        "id": "evt-1",
        "type": "order.status_changed",
        "occurred_at": "2024-05-01T10:00:00Z",
        "data": {**data, **change.get("data", {})},  # type: ignore[dict-item]
    }
    if "id" in change:
        event["id"] = change["id"]
    r = await publisher.post("/api/v1/events", json=event)
    field = "id" if "id" in change else "data"
    assert_problem(r, 422, field)


async def test_admin_login_with_nul_in_username_is_401(anonymous: httpx.AsyncClient) -> None:
    form = await anonymous.get("/admin/login")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf is not None
    r = await anonymous.post(
        "/admin/login",
        data={"username": "admin\x00", "password": "whatever-long", "csrf_token": csrf[1]},
    )
    assert r.status_code == 401, r.text
    assert "Wrong username or password." in r.text
    assert "Traceback" not in r.text
