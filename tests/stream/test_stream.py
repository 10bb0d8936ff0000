"""The stream contract on both backends: live delivery, resume, reset, heartbeats, limits."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests._server import API_KEY, SECRET, Server
from tests.conftest import ServerFactory, mint_token
from tests.stream._helpers import poll, publish, until_logged
from tests.stream._sse import Stream
from tocsin.credentials import mint
from tocsin.settings import Settings


async def test_live_event_carries_the_notification_and_unread_count(
    server: Server, vendor: str
) -> None:
    token = mint_token(server.url, vendor)
    async with Stream(server.url, token) as stream:
        assert stream.response is not None
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"] == "no-cache"
        assert stream.response.headers["x-accel-buffering"] == "no"
        created = await publish(server.url, vendor, "Order #1", body="2 x mug")
        event = await stream.next()
        assert stream.retry is not None
        assert stream.retry > 0
    assert event.event == "new_notification"
    assert event.data["notification"] == created
    assert event.data["unread_count"] == 1
    assert event.id


async def test_a_vendor_never_receives_another_vendors_events(server: Server, vendor: str) -> None:
    other = vendor + "-other"
    async with Stream(server.url, mint_token(server.url, vendor)) as mine:
        await publish(server.url, other, "not for you")
        await publish(server.url, vendor, "for you")
        event = await mine.next()
    assert event.data["notification"]["title"] == "for you"
    assert event.data["notification"]["vendor_id"] == vendor


async def test_resume_sends_exactly_what_was_missed_then_live(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    async with Stream(server.url, token) as stream:
        await publish(server.url, vendor, "a")
        first = await stream.next()
    for title in ("b", "c", "d"):
        await publish(server.url, vendor, title)
    async with Stream(server.url, token, last_event_id=first.id) as stream:
        missed = await stream.take(3)
        await publish(server.url, vendor, "e")
        live = await stream.next()
    assert [e.data["notification"]["title"] for e in missed] == ["b", "c", "d"]
    assert live.data["notification"]["title"] == "e"
    ids = [first.id] + [e.id for e in missed] + [live.id]
    assert len(set(ids)) == 5


async def test_resume_by_query_parameter_and_query_token(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor, ttl=600)
    start = (await poll(server.url, token))["last_id"]
    await publish(server.url, vendor, "a")
    await publish(server.url, vendor, "b")
    first = await until_logged(server.url, token, start, 2)
    await publish(server.url, vendor, "c")
    async with Stream(server.url, token, via_query=True, query={"last_event_id": first}) as stream:
        event = await stream.next()
    assert event.data["notification"]["title"] == "c"


async def test_long_lived_tokens_are_refused_in_the_url(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor, ttl=7 * 86400)
    async with httpx.AsyncClient(base_url=server.url) as client:
        r = await client.get("/api/v1/stream/poll", params={"access_token": token})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("make_id", "reason"),
    [
        (lambda head: "not-an-id", "malformed_id"),
        (lambda head: "abcdefgh_" + head.partition("_")[2], "log_changed"),
        (lambda head: head.partition("_")[0] + "_99999999999999-0", "unknown_id"),
        (
            lambda head: head.partition("_")[0] + "_18446744073709551615-18446744073709551615",
            "unknown_id",
        ),
    ],
    ids=["malformed", "other-epoch", "future", "largest"],
)
async def test_unusable_last_event_id_gets_reset_then_live(
    server: Server, vendor: str, make_id: object, reason: str
) -> None:
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    await publish(server.url, vendor, "before")
    head = await until_logged(server.url, token, start, 1)
    bad = make_id(head)  # type: ignore[operator]
    if server.env.get("TOCSIN_REDIS_URL") is None and reason == "unknown_id":
        bad = bad.partition("-")[0]  # the embedded log's ids have no `-n` part
    async with Stream(server.url, token, last_event_id=bad) as stream:
        reset = await stream.next()
        await publish(server.url, vendor, "after")
        live = await stream.next()
    assert reset.event == "reset"
    assert reset.data == {"reason": reason}
    assert reset.id == head
    assert live.data["notification"]["title"] == "after"
    # The poll endpoint answers the same id the same way.
    answer = await poll(server.url, token, after=bad)
    assert answer["reset"] is True
    assert answer["reason"] == reason
    assert answer["events"] == []


async def test_updates_are_events_with_the_new_unread_count(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        Stream(server.url, token) as stream,
        httpx.AsyncClient(base_url=server.url, headers=headers) as api,
    ):
        a = await publish(server.url, vendor, "a")
        b = await publish(server.url, vendor, "b")
        c = await publish(server.url, vendor, "c")
        await stream.take(3)
        await api.patch(f"/api/v1/notifications/{a['id']}", json={"read": True})
        read = await stream.next()
        await api.patch(f"/api/v1/notifications/{a['id']}", json={"read": False})
        unread = await stream.next()
        await api.patch(f"/api/v1/notifications/{b['id']}", json={"archived": True})
        archived = await stream.next()
        await api.delete(f"/api/v1/notifications/{c['id']}")
        deleted = await stream.next()
        r = await api.post("/api/v1/notifications/bulk", json={"action": "mark_read", "all": True})
        assert r.json() == {"updated": 2}  # `all` without a filter includes the archived
        bulk = await stream.next()
    assert (read.event, read.data) == (
        "notification_update",
        {"ids": [a["id"]], "changes": {"read": True}, "unread_count": 2},
    )
    assert unread.data == {"ids": [a["id"]], "changes": {"read": False}, "unread_count": 3}
    assert archived.data == {"ids": [b["id"]], "changes": {"archived": True}, "unread_count": 2}
    assert deleted.data == {"ids": [c["id"]], "changes": {"deleted": True}, "unread_count": 1}
    assert sorted(bulk.data.pop("ids")) == sorted([a["id"], b["id"]])
    assert bulk.data == {"changes": {"read": True}, "unread_count": 0}


async def test_reconnects_racing_publishes_lose_and_repeat_nothing(
    server: Server, vendor: str
) -> None:
    """A publisher never pauses while the client drops and resumes its stream many times."""
    token = mint_token(server.url, vendor)
    total = 60
    published: list[str] = []

    async def publisher() -> None:
        for n in range(total):
            published.append((await publish(server.url, vendor, f"n{n}"))["id"])
            await asyncio.sleep(0)

    received: list[str] = []
    last: str | None = (await poll(server.url, token))["last_id"]
    task = asyncio.create_task(publisher())
    ended = 0
    while len(received) < total:
        async with Stream(server.url, token, last_event_id=last) as stream:
            for _ in range(7):  # drop the connection every few events
                if len(received) == total:
                    break
                try:
                    event = await stream.next(timeout=15)
                except StopAsyncIteration:
                    # The server ended the stream (as it may): resume, as EventSource does.
                    ended += 1
                    break
                received.append(event.data["notification"]["id"])
                last = event.id
    await task
    assert received == published
    assert ended <= 3, f"the server ended {ended} streams"


async def test_heartbeats_arrive_at_the_configured_interval(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_HEARTBEAT_SECONDS": "0.3"})
    token = mint_token(server.url, vendor)
    comments = 0
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
        client.stream(
            "GET", "/api/v1/stream", headers={"Authorization": f"Bearer {token}"}
        ) as response,
    ):
        lines = response.aiter_lines()
        while comments < 3:
            line = await asyncio.wait_for(lines.__anext__(), 5)
            if line.startswith(":"):
                comments += 1
    assert comments == 3


async def test_a_stream_ends_after_its_maximum_lifetime(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_STREAM_MAX_SECONDS": "1"})
    async with Stream(server.url, mint_token(server.url, vendor)) as stream:
        assert await stream.ended(timeout=10)


async def test_a_replay_larger_than_the_cap_is_a_reset(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_REPLAY_MAX_EVENTS": "5"})
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    for n in range(6):
        await publish(server.url, vendor, f"n{n}")
    await until_logged(server.url, token, start, 6)
    async with Stream(server.url, token, last_event_id=start) as stream:
        reset = await stream.next()
    assert reset.event == "reset"
    assert reset.data == {"reason": "too_many_events"}
    # Five fit: replayed in full.
    first = await poll(server.url, token, after=start, limit=1)
    async with Stream(server.url, token, last_event_id=first["last_id"]) as stream:
        replay = await stream.take(5)
    assert [e.data["notification"]["title"] for e in replay] == [f"n{n}" for n in range(1, 6)]


async def test_metrics_count_streams_and_deliveries(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    async with Stream(server.url, token) as stream:
        await publish(server.url, vendor, "x")
        await stream.next()
        async with httpx.AsyncClient(base_url=server.url) as client:
            text = (await client.get("/metrics")).text
    assert "tocsin_open_streams" in text
    open_streams = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("tocsin_open_streams ")
    )
    assert open_streams >= 1
    assert 'tocsin_events_delivered_total{transport="sse"}' in text


async def test_a_resume_from_beyond_the_retention_is_a_reset(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_RETENTION_EVENTS": "3"})
    token = mint_token(server.url, vendor)
    start = (await poll(server.url, token))["last_id"]
    await publish(server.url, vendor, "first")
    first = await until_logged(server.url, token, start, 1)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as client:
        for n in range(10):
            r = await client.post(
                f"/api/v1/vendors/{vendor}/notifications",
                json={"type": "order_created", "title": f"n{n}"},
            )
            assert r.status_code == 201
    async with Stream(server.url, token, last_event_id=first) as stream:
        reset = await stream.next()
    assert reset.event == "reset"
    assert reset.data == {"reason": "expired"}
    # The reset's id is the head: resuming from it is clean (and may see events
    # the relay appended since).
    tail = await poll(server.url, token, after=reset.id)
    assert tail["reset"] is False
    assert all(e["data"]["notification"]["title"].startswith("n") for e in tail["events"])


def _gauge(text: str, name: str) -> float:
    return next(
        float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")
    )


async def test_head_requests_on_the_stream_leave_no_subscriber_behind(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server()
    token = mint_token(server.url, vendor)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for _ in range(5):
            r = await client.head("/api/v1/stream")
            assert r.status_code == 200
        async with Stream(server.url, token):
            during = (await client.get("/metrics")).text
        after = (await client.get("/metrics")).text
    assert _gauge(during, "tocsin_subscribers") == 1
    assert _gauge(during, "tocsin_open_streams") == 1
    # The stream's end is noticed by the server a moment after the client closes it.
    deadline = asyncio.get_running_loop().time() + 10
    async with httpx.AsyncClient(base_url=server.url) as client:
        while _gauge(after, "tocsin_subscribers") != 0:
            assert asyncio.get_running_loop().time() < deadline, after
            await asyncio.sleep(0.05)
            after = (await client.get("/metrics")).text
    assert _gauge(after, "tocsin_open_streams") == 0


async def test_a_patch_of_read_and_archived_is_one_event(server: Server, vendor: str) -> None:
    token = mint_token(server.url, vendor)
    async with (
        Stream(server.url, token) as stream,
        httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as api,
    ):
        a = await publish(server.url, vendor, "a")
        await stream.next()
        r = await api.patch(
            f"/api/v1/notifications/{a['id']}", json={"read": True, "archived": True}
        )
        assert r.status_code == 200
        await publish(server.url, vendor, "b")
        update = await stream.next()
        following = await stream.next()
    assert update.event == "notification_update"
    assert update.data == {
        "ids": [a["id"]],
        "changes": {"read": True, "archived": True},
        "unread_count": 0,
    }
    assert following.data["notification"]["title"] == "b"


async def test_a_stream_ends_when_its_token_expires(server: Server, vendor: str) -> None:
    """A token minted for a short ttl: the stream it opened ends at the token's `exp`."""
    token, expires = mint(Settings(secret_key=SECRET), vendor, 2)
    async with Stream(server.url, token) as stream:
        await publish(server.url, vendor, "while valid")
        assert (await stream.next()).data["notification"]["title"] == "while valid"
        assert await stream.ended(timeout=10)
    assert time.time() >= expires.timestamp() - 0.01
    assert time.time() < expires.timestamp() + 3
    # The server refuses the expired token: the client mints a fresh one and resumes.
    async with Stream(server.url, token) as stream:
        assert stream.response is not None
        assert stream.response.status_code == 401


async def test_the_stream_keeps_the_apps_cors_policy_and_problem_answers(
    make_server: ServerFactory, vendor: str
) -> None:
    """The stream is served in front of Starlette's middleware; it answers as if behind it."""
    server = make_server({"TOCSIN_CORS_ORIGINS": "https://shop.example"})
    token = mint_token(server.url, vendor)
    shop = {"Origin": "https://shop.example"}
    async with Stream(server.url, token, headers=shop) as stream:
        assert stream.response is not None
        headers = stream.response.headers
        assert headers["access-control-allow-origin"] == "https://shop.example"
        assert headers["access-control-allow-credentials"] == "true"
        assert headers["content-type"].startswith("text/event-stream")
        created = await publish(server.url, vendor, "through the front door")
        assert (await stream.next()).data["notification"]["id"] == created["id"]
    async with httpx.AsyncClient(base_url=server.url) as client:
        denied = await client.get("/api/v1/stream", headers=shop)
        assert denied.status_code == 401
        assert denied.headers["content-type"] == "application/problem+json"
        assert denied.headers["www-authenticate"].startswith("Bearer")
        assert denied.headers["access-control-allow-origin"] == "https://shop.example"
        other = await client.get(
            "/api/v1/stream",
            headers={"Origin": "https://evil.example", "Authorization": f"Bearer {token}x"},
        )
        assert other.status_code == 401
        assert "access-control-allow-origin" not in other.headers
        posted = await client.post("/api/v1/stream", headers=shop)
        assert posted.status_code == 405
        assert posted.headers["content-type"] == "application/problem+json"
        preflight = await client.options(
            "/api/v1/stream",
            headers={**shop, "Access-Control-Request-Method": "GET"},
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://shop.example"
