"""A tocsin process SIGKILLed behind nginx: every client resumes on the other, losing nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests._nginx import CONFIG, run_nginx
from tests.cluster._follow import Follower, read_log
from tests.conftest import ServerFactory, mint_token
from tests.stream._helpers import poll, publish

cluster_only = pytest.mark.parametrize("backend", ["cluster"], indirect=True, scope="session")


@cluster_only
@pytest.mark.timeout(120)
async def test_a_process_killed_behind_nginx_loses_no_clients_events(
    make_server: ServerFactory, tmp_path: Path, vendor: str
) -> None:
    one, two = make_server(), make_server()
    site = CONFIG.read_text().replace(
        "server 127.0.0.1:8000;", f"server 127.0.0.1:8000;\n    server 127.0.0.1:{two.port};"
    )
    nginx = run_nginx(one.port, tmp_path / "nginx", site)
    try:
        vendors = [f"{vendor}-{n}" for n in range(12)]
        tokens = {v: mint_token(nginx.url, v) for v in vendors}
        first = {v: (await poll(nginx.url, tokens[v]))["last_id"] for v in vendors}
        followers = {v: Follower(nginx.url, tokens[v], first[v]).start() for v in vendors}
        created: dict[str, list[str]] = {v: [] for v in vendors}

        async def publish_rounds(rounds: range) -> None:
            for n in rounds:
                answers = await asyncio.gather(*(publish(nginx.url, v, f"#{n}") for v in vendors))
                for v, answer in zip(vendors, answers, strict=True):
                    created[v].append(answer["id"])

        async def everything_arrived() -> bool:
            return all(f.received == created[v] for v, f in followers.items())

        await publish_rounds(range(3))
        await _until(everything_arrived, 20)
        # nginx spreads the streams over both processes: some are on the one that dies.
        assert {f.reconnects for f in followers.values()} == {0}
        one.kill()
        async with httpx.AsyncClient(base_url=nginx.url, timeout=10) as client:
            for _ in range(4):  # nginx finds the dead upstream on requests it may retry
                assert (await client.get("/healthz")).status_code == 200
        await publish_rounds(range(3, 8))
        await _until(everything_arrived, 30)
        try:
            assert sum(f.reconnects for f in followers.values()) > 0, "no stream was on it"
            for v, f in followers.items():
                assert f.resets == [], (v, f.resets)
                assert f.received == created[v], v
                assert await read_log(nginx.url, tokens[v], first[v]) == (created[v], None)
        finally:
            for f in followers.values():
                await f.stop()
    finally:
        nginx.stop()


async def _until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within the time"
        await asyncio.sleep(0.1)
