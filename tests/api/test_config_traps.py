"""Configuration traps, tried against a live server: a CORS wildcard and redirects."""

from __future__ import annotations

import httpx

from tests.conftest import ServerFactory, mint_token


async def test_cors_wildcard_does_not_reflect_the_origin_with_credentials(
    make_server: ServerFactory, vendor: str
) -> None:
    srv = make_server({"TOCSIN_CORS_ORIGINS": "*"})
    token = mint_token(srv.url, vendor)
    async with httpx.AsyncClient(base_url=srv.url) as client:
        r = await client.get(
            "/api/v1/notifications/unread-count",
            headers={"Origin": "https://evil.example", "Cookie": f"tocsin_token={token}"},
        )
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in r.headers
        pre = await client.options(
            "/api/v1/notifications",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "GET",
            },
        )
        assert pre.headers.get("access-control-allow-origin") == "*"
        assert "access-control-allow-credentials" not in pre.headers


async def test_cors_named_origins_keep_credentials(make_server: ServerFactory) -> None:
    srv = make_server({"TOCSIN_CORS_ORIGINS": "https://shop.example"})
    async with httpx.AsyncClient(base_url=srv.url) as client:
        ok = await client.get("/healthz", headers={"Origin": "https://shop.example"})
        assert ok.headers["access-control-allow-origin"] == "https://shop.example"
        assert ok.headers["access-control-allow-credentials"] == "true"
        other = await client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_trailing_slash_redirect_is_relative_whatever_the_host(
    anonymous: httpx.AsyncClient,
) -> None:
    r = await anonymous.get("/healthz/?x=1", headers={"Host": "evil.example"})
    assert r.status_code == 307
    assert r.headers["location"] == "/healthz?x=1"
    r = await anonymous.get("/dashboard/", headers={"Host": "evil.example"})
    assert r.status_code == 307
    assert r.headers["location"] == "/dashboard"


async def test_no_redirect_to_another_host_through_double_slashes(
    anonymous: httpx.AsyncClient,
) -> None:
    r = await anonymous.get("//evil.example/")
    assert r.status_code == 404
    assert "location" not in r.headers
