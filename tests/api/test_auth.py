"""Who may call what: publisher keys, vendor tokens (header, cookie), and their failures."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from tests._server import API_KEY, SECRET, Server
from tests.api.conftest import assert_problem, create, ids
from tests.conftest import mint_token

NOTE = {"type": "order_created", "title": "hi"}


def craft(vendor: str, *, secret: str = SECRET, alg: str = "HS256", **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": vendor, "iat": now, "exp": now + 600, "typ": "vendor", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=alg)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


VENDOR_ROUTES = [
    ("GET", "/api/v1/notifications", None),
    ("GET", "/api/v1/notifications/unread-count", None),
    ("GET", "/api/v1/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV", None),
    ("PATCH", "/api/v1/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV", {"read": True}),
    ("DELETE", "/api/v1/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV", None),
    ("POST", "/api/v1/notifications/bulk", {"action": "mark_read", "all": True}),
]


async def test_minted_token(
    publisher: httpx.AsyncClient, anonymous: httpx.AsyncClient, vendor: str
) -> None:
    r = await publisher.post("/api/v1/tokens", json={"vendor_id": vendor, "ttl": 120})
    assert r.status_code == 201, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(seconds=120))) < timedelta(seconds=10)
    claims = jwt.decode(body["token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == vendor
    assert claims["exp"] - claims["iat"] == 120
    ok = await anonymous.get("/api/v1/notifications", headers=bearer(body["token"]))
    assert ok.status_code == 200


async def test_token_ttl_defaults_to_an_hour(publisher: httpx.AsyncClient, vendor: str) -> None:
    r = await publisher.post("/api/v1/tokens", json={"vendor_id": vendor})
    assert r.status_code == 201
    claims = jwt.decode(r.json()["token"], SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"vendor_id": "ok", "ttl": 59}, "ttl"),
        ({"vendor_id": "ok", "ttl": 30 * 86400 + 1}, "ttl"),
        ({"vendor_id": "ok", "ttl": "3600"}, "ttl"),
        ({"vendor_id": "ok", "ttl": True}, "ttl"),
        ({"vendor_id": "ok", "ttl": 3600.5}, "ttl"),
        ({"vendor_id": "has space"}, "vendor_id"),
        ({"vendor_id": "x" * 65}, "vendor_id"),
        ({"vendor_id": ""}, "vendor_id"),
        ({"vendor_id": "abc\n"}, "vendor_id"),
        ({"vendor_id": 7}, "vendor_id"),
        ({}, "vendor_id"),
        ({"vendor_id": "ok", "role": "admin"}, "role"),
    ],
)
async def test_bad_token_request_is_422(
    publisher: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    assert_problem(await publisher.post("/api/v1/tokens", json=body), 422, field)


@pytest.mark.parametrize(("method", "path", "body"), VENDOR_ROUTES)
async def test_vendor_routes_need_a_token(
    anonymous: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    r = await anonymous.request(method, path, json=body)
    assert_problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/api/v1/tokens", "/api/v1/vendors/some-vendor/notifications"])
async def test_publisher_routes_need_a_key(anonymous: httpx.AsyncClient, path: str) -> None:
    assert_problem(await anonymous.post(path, json={"vendor_id": "x", **NOTE}), 401)
    r = await anonymous.post(path, json=NOTE, headers=bearer("not-a-key"))
    assert_problem(r, 401)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "Bearer",
        craft("v-x", secret="another-secret-0123456789abcdef0123456789"),
        craft("v-x", exp=int(time.time()) - 10, iat=int(time.time()) - 100),
        craft("v-x", typ=None),
        craft("v-x", typ="admin"),
        craft("has space"),
        craft("v-x", exp=None),
        craft("v-x", iat=None),
        # {"alg": "none"}: an unsigned token.
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ2LXgiLCJ0eXAiOiJ2ZW5kb3IifQ.",
    ],
    ids=[
        "garbage",
        "dots",
        "word",
        "wrong-signature",
        "expired",
        "no-typ",
        "other-typ",
        "bad-sub",
        "no-exp",
        "no-iat",
        "alg-none",
    ],
)
async def test_bad_tokens_are_401(anonymous: httpx.AsyncClient, token: str) -> None:
    for headers, cookies in ((bearer(token), None), (None, {"tocsin_token": token})):
        client_headers = headers or {}
        anonymous.cookies.clear()
        if cookies:
            anonymous.cookies.update(cookies)
        r = await anonymous.get("/api/v1/notifications", headers=client_headers)
        assert_problem(r, 401)
        assert token not in r.text or len(token) < 8


async def test_expired_token_says_so(anonymous: httpx.AsyncClient, vendor: str) -> None:
    now = int(time.time())
    token = craft(vendor, iat=now - 7200, exp=now - 3600)
    r = await anonymous.get("/api/v1/notifications", headers=bearer(token))
    assert "expired" in assert_problem(r, 401)["detail"]


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc", f"bearer{API_KEY}"]
)
async def test_malformed_authorization_is_401(anonymous: httpx.AsyncClient, header: str) -> None:
    r = await anonymous.get("/api/v1/notifications", headers={"Authorization": header})
    assert_problem(r, 401)
    r = await anonymous.post(
        "/api/v1/tokens", json={"vendor_id": "x"}, headers={"Authorization": header}
    )
    assert_problem(r, 401)


async def test_vendor_token_on_publisher_routes_is_403(
    as_vendor: httpx.AsyncClient, vendor: str, publisher: httpx.AsyncClient
) -> None:
    assert_problem(await as_vendor.post("/api/v1/tokens", json={"vendor_id": vendor}), 403)
    r = await as_vendor.post(f"/api/v1/vendors/{vendor}/notifications", json=NOTE)
    assert_problem(r, 403)
    r = await as_vendor.post(
        f"/api/v1/vendors/{vendor}/notifications", json=NOTE, headers={"Idempotency-Key": "z"}
    )
    assert_problem(r, 403)
    assert await ids(as_vendor) == []


async def test_expired_vendor_token_on_publisher_route_is_401(
    anonymous: httpx.AsyncClient, vendor: str
) -> None:
    now = int(time.time())
    token = craft(vendor, iat=now - 7200, exp=now - 3600)
    r = await anonymous.post("/api/v1/tokens", json={"vendor_id": vendor}, headers=bearer(token))
    assert_problem(r, 401)


@pytest.mark.parametrize(("method", "path", "body"), VENDOR_ROUTES)
async def test_publisher_key_on_vendor_routes_is_403(
    publisher: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    assert_problem(await publisher.request(method, path, json=body), 403)


async def test_cookie_auth(server: Server, publisher: httpx.AsyncClient, vendor: str) -> None:
    n = await create(publisher, vendor)
    token = mint_token(server.url, vendor)
    async with httpx.AsyncClient(
        base_url=server.url, cookies={"tocsin_token": token}, timeout=10
    ) as client:
        assert await ids(client) == [n["id"]]
        r = await client.patch(f"/api/v1/notifications/{n['id']}", json={"read": True})
        assert r.status_code == 200
        count = await client.get("/api/v1/notifications/unread-count")
        assert count.json()["total"] == 0


async def test_bearer_wins_over_cookie(
    server: Server, publisher: httpx.AsyncClient, vendor: str, vendor_b: str
) -> None:
    mine = await create(publisher, vendor)
    await create(publisher, vendor_b)
    async with httpx.AsyncClient(
        base_url=server.url,
        cookies={"tocsin_token": mint_token(server.url, vendor_b)},
        headers=bearer(mint_token(server.url, vendor)),
        timeout=10,
    ) as client:
        assert await ids(client) == [mine["id"]]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/notifications",
        "/api/v1/notifications/unread-count",
        "/api/v1/notifications/01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ],
)
async def test_query_access_token_is_refused_on_rest_routes(
    server: Server, anonymous: httpx.AsyncClient, vendor: str, path: str
) -> None:
    token = mint_token(server.url, vendor, ttl=300)
    assert_problem(await anonymous.get(path, params={"access_token": token}), 401)
    r = await anonymous.post(
        "/api/v1/notifications/bulk",
        params={"access_token": token},
        json={"action": "mark_read", "all": True},
    )
    assert_problem(r, 401)


async def test_api_key_as_query_is_refused(anonymous: httpx.AsyncClient, vendor: str) -> None:
    r = await anonymous.post(
        f"/api/v1/vendors/{vendor}/notifications", params={"access_token": API_KEY}, json=NOTE
    )
    assert_problem(r, 401)
