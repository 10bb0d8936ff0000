from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests._server import API_KEY


async def open_raw_stream(url: str, token: str, rcvbuf: int | None = None) -> socket.socket:
    """An open `GET /api/v1/stream` on a raw non-blocking socket, its response head read.

    What came with the head (the `retry:` frame, a replay) is read too, and dropped.
    """
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    request = (
        f"GET /api/v1/stream HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
        assert chunk, "closed before the response head"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


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


async def until_logged(
    base_url: str, token: str, after: str, count: int, timeout: float = 15.0
) -> str:
    """Wait until `count` events after `after` are in the log (the relay runs after
    each commit, not inside it); the id of the last of them."""
    events: list[dict[str, Any]] = []
    cursor = after
    while len(events) < count:
        page = await poll(base_url, token, after=cursor, wait=min(timeout, 5))
        assert not page["reset"], page
        events += page["events"]
        cursor = page["last_id"]
        timeout -= 5
        assert timeout > -5, f"only {len(events)} of {count} events were logged"
    return str(events[count - 1]["id"])


async def subscribers(base_url: str) -> float:
    """The server's `tocsin_subscribers` gauge: its open streams and waiting polls."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    for family in text_string_to_metric_families(r.text):
        if family.name == "tocsin_subscribers":
            return float(family.samples[0].value)
    raise AssertionError("/metrics has no tocsin_subscribers gauge")


async def settled_subscribers(base_url: str, still: float = 0.1, timeout: float = 10.0) -> float:
    """The gauge once it has held still for `still` seconds, so that a stream closed
    just before (its server side notices a moment later) no longer counts."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    count = await subscribers(base_url)
    since = loop.time()
    while loop.time() - since < still:
        assert loop.time() < deadline, f"the subscriber count did not settle in {timeout} s"
        await asyncio.sleep(0.02)
        now = await subscribers(base_url)
        if now != count:
            count, since = now, loop.time()
    return count


async def until_subscribed(base_url: str, above: float, timeout: float = 10.0) -> None:
    """Wait until the server holds more than `above` subscribers: a poll is waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (count := await subscribers(base_url)) <= above:
        assert loop.time() < deadline, f"still {count} subscribers after {timeout} s"
        await asyncio.sleep(0.01)
