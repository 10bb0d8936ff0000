"""A bulk change over more than `TOCSIN_BULK_SYNC_LIMIT` rows, over HTTP and a live stream:
202 with a job at once, chunks announced as they land (`ids: null`), counts exact after."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests._server import API_KEY
from tests.conftest import ServerFactory, mint_token
from tests.stream._sse import Stream

BULK = "/api/v1/notifications/bulk"
COUNT = 240


async def test_a_large_change_answers_202_and_its_job_completes(
    make_server: ServerFactory, vendor: str
) -> None:
    server = make_server({"TOCSIN_BULK_SYNC_LIMIT": "50", "TOCSIN_BULK_CHUNK": "40"})
    publisher = httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
    )
    token = mint_token(server.url, vendor)
    client = httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    async with publisher, client:
        for start in range(0, COUNT, 40):
            made = await asyncio.gather(
                *(
                    publisher.post(
                        f"/api/v1/vendors/{vendor}/notifications",
                        json={"type": "order_created" if i % 3 else "low_stock", "title": f"n{i}"},
                    )
                    for i in range(start, start + 40)
                )
            )
            assert all(r.status_code == 201 for r in made)
        # Small changes stay synchronous: one by filter under the limit.
        r = await client.post(
            BULK, json={"action": "archive", "all": True, "filter": {"type": ["low_stock"]}}
        )
        assert r.status_code == 202, "80 low_stock notifications are more than 50"
        small = await client.post(BULK, json={"action": "mark_read", "ids": []})
        assert small.json() == {"updated": 0}
        archive_job = r.json()["job"]
        async with Stream(server.url, token) as stream:
            began = time.monotonic()
            r = await client.post(BULK, json={"action": "mark_read", "all": True})
            assert time.monotonic() - began < 2
            assert r.status_code == 202, r.text
            job = r.json()["job"]
            assert job["status"] == "running"
            assert job["action"] == "mark_read"
            assert r.headers["location"] == f"{BULK}/{job['id']}"
            # Chunks land as notification_update events naming no ids, the last with 0 unread.
            chunks = 0
            while True:
                event = await stream.next(timeout=15)
                if event.event != "notification_update" or event.data["changes"] != {"read": True}:
                    continue
                assert event.data["ids"] is None
                chunks += 1
                if event.data["unread_count"] == 0:
                    break
            assert chunks >= 2
        for job_id, updated in ((job["id"], COUNT), (archive_job["id"], COUNT // 3)):
            for _ in range(100):
                status = (await client.get(f"{BULK}/{job_id}")).json()["job"]
                if status["status"] != "running":
                    break
                await asyncio.sleep(0.05)  # the job is marked done just after its last chunk
            assert status["status"] == "done", status
            assert status["error"] is None
            assert status["finished_at"] is not None
            if job_id == job["id"]:
                assert status["updated"] == updated
        counts = (await client.get("/api/v1/notifications/unread-count")).json()
        assert counts == {"total": 0, "by_type": {}}
        unread = (await client.get("/api/v1/notifications?unread=true&archived=")).json()
        assert unread["items"] == []
        read = await client.get("/api/v1/notifications?unread=false&limit=100")
        assert len(read.json()["items"]) == 100

        # Another vendor sees no such job.
        other = mint_token(server.url, vendor + "-b")
        r = await client.get(f"{BULK}/{job['id']}", headers={"Authorization": f"Bearer {other}"})
        assert r.status_code == 404
