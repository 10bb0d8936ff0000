"""The delivery audit's edges on both backends: who may read it, the admin page, the metrics.

The story across channels is told end to end in `tests/events/test_audit.py`.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests._server import Server
from tests.api.conftest import admin_sign_in, assert_problem, create
from tests.conftest import mint_token
from tests.events.conftest import wait_until
from tests.stream._sse import Stream

UNKNOWN = "01JD0000000000000000000000"


def _latency_count(server: Server) -> float:
    text = httpx.get(server.url + "/metrics").text
    found = re.search(r"^tocsin_publish_to_stream_seconds_count (\S+)$", text, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_another_vendors_notification_is_as_absent_as_an_unknown_one(
    publisher: httpx.AsyncClient,
    as_vendor: httpx.AsyncClient,
    as_vendor_b: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    vendor: str,
    vendor_b: str,
) -> None:
    n = await create(publisher, vendor)
    mine = await as_vendor.get(f"/api/v1/notifications/{n['id']}/deliveries")
    assert mine.status_code == 200
    assert mine.json()["notification"] == n
    assert mine.json()["deliveries"] == []
    assert [s["what"] for s in mine.json()["timeline"]] == ["created"]

    theirs = await as_vendor_b.get(f"/api/v1/notifications/{n['id']}/deliveries")
    unknown = await as_vendor_b.get(f"/api/v1/notifications/{UNKNOWN}/deliveries")
    body = assert_problem(theirs, 404)
    other = assert_problem(unknown, 404)
    assert body == {**other, "detail": other["detail"].replace(UNKNOWN, n["id"])}
    assert_problem(await as_vendor.get("/api/v1/notifications/not-an-id/deliveries"), 404)
    assert_problem(await anonymous.get(f"/api/v1/notifications/{n['id']}/deliveries"), 401)

    path = "/api/v1/vendors/{}/notifications/{}/deliveries"
    assert (await publisher.get(path.format(vendor, n["id"]))).json() == mine.json()
    assert_problem(await publisher.get(path.format(vendor_b, n["id"])), 404)
    assert_problem(await publisher.get(path.format("bad vendor!", n["id"])), 422, "vendor_id")
    assert_problem(await as_vendor.get(path.format(vendor, n["id"])), 403)


async def test_the_admin_page_tells_the_story_escaped(
    server: Server,
    publisher: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    admin: str,
    vendor: str,
) -> None:
    hostile = '<script>alert("x")</script>'
    before = _latency_count(server)
    async with Stream(server.url, mint_token(server.url, vendor)) as tab:
        n = await create(publisher, vendor, title=hostile, data={"note": "<b>bold</b>"})
        assert (await tab.next()).data["notification"]["id"] == n["id"]
    assert _latency_count(server) >= before + 1, "the publish→stream latency was observed"
    page_path = f"/admin/vendors/{vendor}/notifications/{n['id']}"
    assert (await anonymous.get(page_path)).headers["location"] == "/admin/login"

    await admin_sign_in(anonymous, admin)
    vendor_page = await anonymous.get(f"/admin/vendors/{vendor}")
    assert f'href="{page_path}"' in vendor_page.text

    async def counted() -> httpx.Response | None:
        page = await anonymous.get(page_path)
        return page if '<b data-audit="tabs">1</b>' in page.text else None

    page = await wait_until(counted, what="the tab counted on the admin page")
    assert page.status_code == 200
    assert hostile not in page.text
    assert "<b>bold</b>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert 'data-audit="seen">—<' in page.text
    missing = await anonymous.get(f"/admin/vendors/{vendor}/notifications/{UNKNOWN}")
    assert missing.status_code == 404


async def test_the_story_counts_a_poll_as_a_tab(
    publisher: httpx.AsyncClient, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    head = (await as_vendor.get("/api/v1/stream/poll")).json()["last_id"]
    n = await create(publisher, vendor)
    for _ in range(2):
        polled = await as_vendor.get("/api/v1/stream/poll", params={"after": head, "wait": 5})
        assert [e["data"]["notification"]["id"] for e in polled.json()["events"]] == [n["id"]]

    async def counted() -> dict[str, Any] | None:
        r = await as_vendor.get(f"/api/v1/notifications/{n['id']}/deliveries")
        story: dict[str, Any] = r.json()
        return story if story["streamed"]["tabs"] == 2 else None

    story = await wait_until(counted, what="two polls counted")
    assert (story["streamed"]["streams"], story["streamed"]["polls"]) == (0, 2)
