"""`TOCSIN_PUBLISHER_RATE`: requests a second per publisher API key, 429 beyond."""

from __future__ import annotations

import asyncio

import httpx

from tests.api.conftest import assert_problem
from tests.conftest import ServerFactory

KEYS = ("key-one-0123456789", "key-two-0123456789")
RATE = 5


async def _create(client: httpx.AsyncClient, key: str, vendor: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/vendors/{vendor}/notifications",
        json={"type": "order_created", "title": "t"},
        headers={"Authorization": f"Bearer {key}"},
    )


async def test_a_publisher_over_its_rate_gets_429_with_retry_after(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_PUBLISHER_RATE": str(RATE), "TOCSIN_API_KEYS": ",".join(KEYS)})
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        loop = asyncio.get_running_loop()
        began = loop.time()
        answers = [await _create(client, KEYS[0], vendor) for _ in range(3 * RATE)]
        elapsed = loop.time() - began
        created = [a for a in answers if a.status_code == 201]
        refused = [a for a in answers if a.status_code != 201]
        # A burst of RATE, then what the elapsed time refilled.
        assert RATE <= len(created) <= RATE + int(elapsed * RATE) + 1
        assert refused
        for r in refused:
            assert_problem(r, 429)
            assert int(r.headers["retry-after"]) >= 1
        # Another key has a bucket of its own; an unknown key is 401, not counted.
        assert (await _create(client, KEYS[1], vendor)).status_code == 201
        assert (await _create(client, "not-a-key", vendor)).status_code == 401
        # After the wait it names, the first key publishes again.
        await asyncio.sleep(int(refused[-1].headers["retry-after"]))
        assert (await _create(client, KEYS[0], vendor)).status_code == 201
        # Vendors are not publishers: their reads are not limited by it.
        tokens = await client.post(
            "/api/v1/tokens",
            json={"vendor_id": vendor, "ttl": 60},
            headers={"Authorization": f"Bearer {KEYS[1]}"},
        )
        assert tokens.status_code == 201, tokens.text
        vendor_auth = {"Authorization": f"Bearer {tokens.json()['token']}"}
        reads = [
            await client.get("/api/v1/notifications", headers=vendor_auth) for _ in range(3 * RATE)
        ]
        assert {r.status_code for r in reads} == {200}


async def test_the_openapi_document_names_429_and_503_with_retry_after(
    make_server: ServerFactory,
) -> None:
    server = make_server({"TOCSIN_PUBLISHER_RATE": str(RATE), "TOCSIN_API_KEYS": ",".join(KEYS)})
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        doc = (await client.get("/openapi.json")).json()
    limited = {
        ("/api/v1/vendors/{vendor_id}/notifications", "post"),  # a publisher's rate
        ("/api/v1/events", "post"),
        ("/api/v1/tokens", "post"),
        ("/api/v1/stream", "get"),  # a vendor's open streams
        ("/api/v1/stream/poll", "get"),
    }
    for path, operations in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method == "parameters":
                continue
            answers = operation["responses"]
            codes = ("429", "503") if (path, method) in limited else ("503",)
            for code in codes:
                assert code in answers, (path, method, code)
                assert "Retry-After" in answers[code]["headers"], (path, method, code)
                problem = answers[code]["content"]["application/problem+json"]
                assert problem["schema"]["$ref"].endswith("/Problem")
            if (path, method) not in limited and operation.get("security") != [{"apiKey": []}]:
                assert "429" not in answers, (path, method)
