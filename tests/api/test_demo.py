"""The dashboard's "Send sample events": sample notifications reach the vendor's stream."""

from __future__ import annotations

import httpx

from tests._server import Server
from tests.conftest import mint_token
from tests.stream._sse import Stream


async def test_send_sample_events_creates_three_notifications_on_the_stream(
    as_vendor: httpx.AsyncClient, server: Server, vendor: str
) -> None:
    async with Stream(server.url, mint_token(server.url, vendor)) as stream:
        r = await as_vendor.post("/dashboard/demo", json={})
        assert r.status_code == 202, r.text
        assert r.json() == {"scheduled": 3}
        titles = []
        while len(titles) < 3:
            event = await stream.next(timeout=15)
            if event.event == "new_notification":
                titles.append(event.data["notification"]["title"])
    assert all(
        t.startswith(("New order #", "Payment received", "A payment failed")) for t in titles
    )
    page = (await as_vendor.get("/api/v1/notifications")).json()
    assert len(page["items"]) == 3
    assert page["unread_count"] == 3


async def test_send_sample_events_needs_json(as_vendor: httpx.AsyncClient) -> None:
    r = await as_vendor.post("/dashboard/demo", data={"x": "1"})
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
