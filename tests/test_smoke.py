from __future__ import annotations

import httpx

from tests._server import Server


async def test_health_and_create(server: Server, publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str) -> None:
    r = await publisher.post(f"/api/v1/vendors/{vendor}/notifications", json={"type": "order_created", "title": "hi"})
    assert r.status_code == 201
    r = await as_vendor.get("/api/v1/notifications")
    assert [n["title"] for n in r.json()["items"]] == ["hi"]
