"""The test Redis Cluster that `scripts/services` starts: 3 masters, each with a replica."""

from __future__ import annotations

import redis


def test_the_test_cluster_has_three_masters_each_with_a_replica(redis_cluster_url: str) -> None:
    client = redis.Redis.from_url(redis_cluster_url, decode_responses=True)
    try:
        nodes = [line.split() for line in client.execute_command("CLUSTER", "NODES").splitlines()]
    finally:
        client.close()
    masters = {n[0] for n in nodes if "master" in n[2] and "fail" not in n[2]}
    replicas = [n for n in nodes if "slave" in n[2] and "fail" not in n[2]]
    assert len(masters) == 3
    assert sorted(n[3] for n in replicas) == sorted(masters)
