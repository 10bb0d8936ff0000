"""tocsin on a Redis Cluster: connections per master, not per vendor or stream."""

from __future__ import annotations

import asyncio

import pytest

from tests.cluster import _cluster
from tests.conftest import ServerFactory, mint_token
from tests.stream._helpers import publish
from tests.stream._sse import Stream

cluster_only = pytest.mark.parametrize("backend", ["cluster"], indirect=True, scope="session")


@cluster_only
async def test_one_live_connection_per_master_whatever_the_vendors_and_streams(
    make_server: ServerFactory, redis_cluster_url: str, vendor: str
) -> None:
    server = make_server()
    assert server.proc is not None
    name = f"tocsin-{server.proc.pid}"
    vendors = [f"{vendor}-{n}" for n in range(60)]  # every master holds some of them
    tokens = [mint_token(server.url, v) for v in vendors]
    streams = [Stream(server.url, t) for t in tokens for _ in range(2)]
    await asyncio.gather(*(s.__aenter__() for s in streams))
    try:
        created = await asyncio.gather(*(publish(server.url, v, "hello") for v in vendors))
        received = await asyncio.gather(*(s.next() for s in streams))
        assert [e.data["notification"]["id"] for e in received] == [
            c["id"] for c in created for _ in range(2)
        ]
        masters = _cluster.masters(redis_cluster_url)
        live = [_cluster.connections(m, name + "-live") for m in masters]
        total = [_cluster.connections(m, name) for m in masters]
    finally:
        await asyncio.gather(*(s.__aexit__(None, None, None) for s in streams))
    assert live == [1, 1, 1], f"live connections per master: {live}"
    # The command pool's cap (16 per master) and the delivery queue's, for 120 streams.
    assert max(total) <= 2 * 16 + 1, f"connections per master: {total}"
