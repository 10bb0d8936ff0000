"""Redis clients for one node or a Redis Cluster, whichever `TOCSIN_REDIS_URL` names.

Any node of a cluster will do: `INFO cluster` says `cluster_enabled:1` there,
and a `RedisCluster` client then learns the slot map from it and follows
`MOVED` and failovers. A plain `Redis` pointed at a cluster node would fail
with `MovedError` on the first key of another node.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import RedisClusterException, RedisError

Client = Redis | RedisCluster

# What a Redis (or a cluster) that is down, restarting or failing over raises. A
# cluster's "cannot be connected" and "slots not covered" are not `RedisError`s.
ERRORS: tuple[type[BaseException], ...] = (RedisError, RedisClusterException, OSError)

_TIMEOUTS = {"socket_connect_timeout": 2, "decode_responses": True}


async def is_cluster(url: str) -> bool:
    """Whether the node `url` names has cluster mode on (raises if it cannot be reached)."""
    probe = Redis.from_url(url, socket_timeout=5, **_TIMEOUTS)  # type: ignore[arg-type]
    try:
        info: Any = await probe.info("cluster")
    finally:
        await probe.aclose()
    return bool(int(info.get("cluster_enabled", 0)))


def connect(url: str, cluster: bool, *, size: int, socket_timeout: float, name: str) -> Client:
    """A client with at most `size` connections (per master, on a cluster)."""
    if cluster:
        return RedisCluster.from_url(
            url,
            max_connections=size,
            socket_timeout=socket_timeout,
            client_name=name,
            **_TIMEOUTS,  # type: ignore[arg-type]
        )
    return Redis(
        connection_pool=BlockingConnectionPool.from_url(
            url,
            max_connections=size,
            timeout=5,
            socket_timeout=socket_timeout,
            client_name=name,
            **_TIMEOUTS,  # type: ignore[arg-type]
        )
    )


def node_client(
    url: str, node: ClusterNode | None, *, socket_timeout: float | None, name: str
) -> Redis:
    """A client of one node: `node` of a cluster, or the node `url` names (`node=None`)."""
    if node is None:
        return Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            client_name=name,
            **_TIMEOUTS,  # type: ignore[arg-type]
        )
    # The URL's credentials and TLS settings, the node's address.
    client = Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        client_name=name,
        **_TIMEOUTS,  # type: ignore[arg-type]
    )
    kwargs = client.connection_pool.connection_kwargs
    kwargs["host"], kwargs["port"] = node.host, node.port
    return client


async def aclose(client: Client) -> None:
    if isinstance(client, RedisCluster):
        await client.aclose()
    else:
        # A pool handed in is not closed by `aclose` alone.
        await client.aclose(close_connection_pool=True)
