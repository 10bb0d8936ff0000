"""Through a real nginx configured by `nginx/tocsin.conf`: events stream, nothing is held back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._nginx import CONFIG, Nginx, run_nginx
from tests.conftest import ServerFactory, mint_token
from tests.stream._helpers import poll, publish, settled_subscribers, until_subscribed
from tests.stream._sse import Stream

HEARTBEAT = 15.0


@pytest.fixture
def proxied(make_server: ServerFactory, tmp_path: Path) -> Iterator[tuple[str, Nginx]]:
    server = make_server({"TOCSIN_HEARTBEAT_SECONDS": str(HEARTBEAT)})
    proxy = run_nginx(server.port, tmp_path / "nginx")
    yield server.url, proxy
    proxy.stop()


async def test_each_event_passes_nginx_at_once(proxied: tuple[str, Nginx], vendor: str) -> None:
    direct, proxy = proxied
    token = mint_token(direct, vendor)
    async with Stream(proxy.url, token) as stream:
        assert stream.response is not None
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in stream.response.headers
        delays = []
        for n in range(5):
            sent = time.monotonic()
            await publish(proxy.url, vendor, f"n{n}")
            event = await stream.next(timeout=HEARTBEAT / 3)
            delays.append(time.monotonic() - sent)
            assert event.data["notification"]["title"] == f"n{n}"
    # Each one came through on its own, long before a heartbeat could have pushed it out.
    assert max(delays) < HEARTBEAT / 3


async def test_resume_and_poll_through_nginx(proxied: tuple[str, Nginx], vendor: str) -> None:
    direct, proxy = proxied
    token = mint_token(direct, vendor)
    start = (await poll(proxy.url, token))["last_id"]
    await publish(proxy.url, vendor, "a")
    await publish(proxy.url, vendor, "b")
    async with Stream(proxy.url, token, last_event_id=start) as stream:
        replayed = await stream.take(2)
    assert [e.data["notification"]["title"] for e in replayed] == ["a", "b"]
    idle = await settled_subscribers(direct)
    waiting = asyncio.create_task(poll(proxy.url, token, after=replayed[-1].id, wait=20))
    await until_subscribed(direct, above=idle)
    assert not waiting.done()
    await publish(proxy.url, vendor, "c")
    answer = await asyncio.wait_for(waiting, 15)
    assert [e["data"]["notification"]["title"] for e in answer["events"]] == ["c"]


async def test_api_errors_pass_nginx_unchanged(proxied: tuple[str, Nginx]) -> None:
    _, proxy = proxied
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        r = await client.get("/api/v1/notifications")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


async def test_a_buffering_proxy_holds_events_back(
    make_server: ServerFactory, tmp_path: Path, vendor: str
) -> None:
    """The control for the tests above: with buffering on, the same check fails.

    This is the proxy the poll endpoint exists for.
    """
    server = make_server({"TOCSIN_HEARTBEAT_SECONDS": str(HEARTBEAT)})
    buffering = CONFIG.read_text().replace(
        "proxy_buffering off;\n        proxy_cache off;\n        gzip off;",
        "proxy_buffering on;\n        proxy_ignore_headers X-Accel-Buffering;\n"
        "        gzip on;\n        gzip_types text/event-stream;\n        gzip_min_length 0;",
        1,
    )
    assert buffering != CONFIG.read_text()
    proxy = run_nginx(server.port, tmp_path / "nginx", buffering)
    try:
        token = mint_token(server.url, vendor)
        start = (await poll(proxy.url, token))["last_id"]

        await publish(server.url, vendor, "held back")

        async def first_event() -> object:
            # Resuming from before the publish: a streaming proxy passes it at once.
            async with Stream(proxy.url, token, last_event_id=start) as stream:
                return await stream.next(timeout=30)

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(first_event(), 3)
        # The poll endpoint gets the event through the same proxy.
        answer = await poll(proxy.url, token, after=start)
        assert [e["data"]["notification"]["title"] for e in answer["events"]] == ["held back"]
    finally:
        proxy.stop()


async def test_tokens_in_urls_stay_out_of_nginx_access_log(
    proxied: tuple[str, Nginx], vendor: str
) -> None:
    direct, proxy = proxied
    token = mint_token(direct, vendor, ttl=600)
    async with Stream(proxy.url, token, via_query=True) as stream:
        await publish(proxy.url, vendor, "x")
        await stream.next()
    async with httpx.AsyncClient(base_url=proxy.url) as client:
        await client.get("/api/v1/stream/poll", params={"access_token": token})
    proxy.stop()  # flushes the log
    log = proxy.access_log.read_text()
    assert "/api/v1/stream " in log
    assert "/api/v1/stream/poll " in log
    assert token not in log
    assert "access_token" not in log
