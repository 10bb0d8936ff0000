from __future__ import annotations

from typing import Any

import httpx

from tests._server import API_KEY


async def publish(base_url: str, vendor: str, title: str, **extra: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        r = await client.post(
            f"/api/v1/vendors/{vendor}/notifications",
            json={"type": "order_created", "title": title, **extra},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def poll(
    base_url: str, token: str, after: str | None = None, wait: float = 0, limit: int = 100
) -> dict[str, Any]:
    params: dict[str, Any] = {"wait": wait, "limit": limit}
    if after is not None:
        params["after"] = after
    async with httpx.AsyncClient(base_url=base_url, timeout=wait + 10) as client:
        r = await client.get(
            "/api/v1/stream/poll", params=params, headers={"Authorization": f"Bearer {token}"}
        )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body
