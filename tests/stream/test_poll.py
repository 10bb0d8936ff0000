"""The poll endpoint serves the stream's events, ids and payloads."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests._server import Server
from tests.conftest import mint_token
from tests.stream._helpers import poll, publish, settled_subscribers, until_logged, until_subscribed
from tests.stream._sse import Stream


async def test_poll_serves_the_same_events_as_the_stream(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    async with Stream(server.url, token) as stream:
        for title in ("a", "b", "c"):
            await publish(server.url, vendor, title)
        streamed = await stream.take(3)
    polled = await poll(server.url, token, after=start)
    assert polled["reset"] is False
    assert [(e["id"], e["event"], e["data"]) for e in polled["events"]] == [
        (e.id, e.event, e.data) for e in streamed
    ]
    assert polled["last_id"] == streamed[-1].id


async def test_switching_transports_keeps_the_place(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    await publish(server.url, vendor, "a")
    page = await poll(server.url, token, after=start, limit=1, wait=10)
    await publish(server.url, vendor, "b")
    async with Stream(server.url, token, last_event_id=page["last_id"]) as stream:
        event = await stream.next()
    assert [e["data"]["notification"]["title"] for e in page["events"]] == ["a"]
    assert event.data["notification"]["title"] == "b"
    after_stream = await poll(server.url, token, after=event.id)
    assert after_stream["events"] == []
    assert after_stream["last_id"] == event.id


async def test_limit_pages_through_in_order(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    cursor = (await poll(server.url, token))["last_id"]
    for n in range(5):
        await publish(server.url, vendor, f"n{n}")
    await until_logged(server.url, token, cursor, 5)
    titles: list[str] = []
    for _ in range(3):
        page = await poll(server.url, token, after=cursor, limit=2)
        titles += [e["data"]["notification"]["title"] for e in page["events"]]
        cursor = page["last_id"]
    assert titles == [f"n{n}" for n in range(5)]


async def test_long_poll_returns_when_an_event_arrives(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    idle = await settled_subscribers(server.url)
    began = time.monotonic()
    waiting = asyncio.create_task(poll(server.url, token, after=start, wait=25))
    await until_subscribed(server.url, above=idle)  # waiting: the point of the test
    assert not waiting.done()
    await publish(server.url, vendor, "wake up")
    answer = await asyncio.wait_for(waiting, 20)
    elapsed = time.monotonic() - began
    assert [e["data"]["notification"]["title"] for e in answer["events"]] == ["wake up"]
    assert elapsed < 20  # woken by the event, not by the end of `wait`


async def test_long_poll_with_nothing_new_waits_then_answers_empty(
    server: Server, vendor: str
) -> None:
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    answer = await poll(server.url, token, after=start, wait=0.5)
    assert answer == {"events": [], "last_id": start, "reset": False}


async def test_wait_out_of_range_is_422_naming_it(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.get(
            "/api/v1/stream/poll",
            params={"wait": "31"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "wait"
