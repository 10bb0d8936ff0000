"""`TOCSIN_MAX_STREAMS_PER_VENDOR`: one vendor's token cannot hold every socket."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx

from tests.conftest import ServerFactory, mint_token, redis_backend_only
from tests.stream._helpers import poll, publish
from tests.stream._sse import Stream

CAP = 3


def _capped(**extra: str) -> dict[str, str]:
    return {"TOCSIN_MAX_STREAMS_PER_VENDOR": str(CAP), **extra}


async def _poll_answer(base_url: str, token: str, after: str, wait: float) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=wait + 10) as client:
        return await client.get(
            "/api/v1/stream/poll",
            params={"after": after, "wait": wait},
            headers={"Authorization": f"Bearer {token}"},
        )


async def _assert_429(r: httpx.Response) -> dict[str, Any]:
    await r.aread()  # a stream's answer is read as it comes
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["retry-after"]) >= 1
    body: dict[str, Any] = r.json()
    assert body["status"] == 429
    assert "TOCSIN_MAX_STREAMS_PER_VENDOR" in body["detail"]
    return body


async def _until_stream_opens(base_url: str, token: str, timeout: float) -> Stream:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        stream = Stream(base_url, token)
        await stream.__aenter__()
        assert stream.response is not None
        if stream.response.status_code == 200:
            return stream
        await _assert_429(stream.response)
        await stream.close()
        assert loop.time() < deadline, f"no slot freed in {timeout} s"
        await asyncio.sleep(0.2)


async def test_no_cap_on_streams_one_vendor_starves_the_rest(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server(_capped())
    token = mint_token(server.url, vendor)
    other = mint_token(server.url, vendor + "-other")
    head = (await poll(server.url, token))["last_id"]
    async with contextlib.AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(Stream(server.url, token)) for _ in range(CAP)]
        assert all(s.response and s.response.status_code == 200 for s in streams)
        async with Stream(server.url, token) as over:
            assert over.response is not None
            await _assert_429(over.response)
        # A waiting poll takes a slot like a stream; one that does not wait needs none.
        await _assert_429(await _poll_answer(server.url, token, head, wait=5))
        assert (await _poll_answer(server.url, token, head, wait=0)).status_code == 200
        # Another vendor is not affected, and the open streams still deliver.
        async with Stream(server.url, other) as theirs:
            assert theirs.response is not None
            assert theirs.response.status_code == 200
        created = await publish(server.url, vendor, "still live")
        for s in streams:
            assert (await s.next()).data["notification"] == created
        # A stream that closes gives its slot back.
        await streams[0].close()
        again = await _until_stream_opens(server.url, token, timeout=10)
        await again.close()
    # All closed: waiting polls are welcome again, and they give their slots back too.
    answers = await asyncio.gather(
        *(_poll_answer(server.url, token, head, wait=0.5) for _ in range(CAP))
    )
    assert [a.status_code for a in answers] == [200] * CAP
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(CAP):
            s = await stack.enter_async_context(Stream(server.url, token))
            assert s.response is not None
            assert s.response.status_code == 200


@redis_backend_only
async def test_the_stream_cap_counts_across_processes(
    make_server: ServerFactory, vendor: str
) -> None:
    one = make_server(_capped())
    two = make_server(_capped())
    token = mint_token(one.url, vendor)
    async with contextlib.AsyncExitStack() as stack:
        for url in (one.url, one.url, two.url):
            s = await stack.enter_async_context(Stream(url, token))
            assert s.response is not None
            assert s.response.status_code == 200
        for url in (one.url, two.url):
            async with Stream(url, token) as over:
                assert over.response is not None
                await _assert_429(over.response)


@redis_backend_only
async def test_a_killed_process_does_not_hold_its_stream_slots_forever(
    make_server: ServerFactory, vendor: str
) -> None:
    ttl = 3
    doomed = make_server(_capped(TOCSIN_SLOT_TTL_SECONDS=str(ttl)))
    survivor = make_server(_capped(TOCSIN_SLOT_TTL_SECONDS=str(ttl)))
    token = mint_token(survivor.url, vendor)
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(CAP):
            s = await stack.enter_async_context(Stream(doomed.url, token))
            assert s.response is not None
            assert s.response.status_code == 200
        # Past one TTL the holder's renewals keep its slots.
        await asyncio.sleep(ttl + 1)  # nothing to await but the clock
        async with Stream(survivor.url, token) as over:
            assert over.response is not None
            await _assert_429(over.response)
        doomed.kill()  # SIGKILL: no release, no renewal
        stream = await _until_stream_opens(survivor.url, token, timeout=ttl + 5)
        await stream.close()
