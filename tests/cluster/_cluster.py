"""The test Redis Cluster: its masters, connections by name, killing and restarting a node."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

CLUSTER_DIR = Path(
    os.environ.get(
        "TOCSIN_CLUSTER_DIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "tocsin-redis-cluster")
    )
)


@dataclass(frozen=True)
class Node:
    id: str
    port: int
    master: bool
    slots: str  # "0-5460" for a master
    of: str = "-"  # a replica's master's id

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=5)


def nodes(url: str) -> list[Node]:
    """The cluster as a live node sees it (failed nodes left out)."""
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    for candidate in [port, *range(7000, 7006)]:
        try:
            with redis.Redis(port=candidate, decode_responses=True, socket_timeout=2) as c:
                text = str(c.execute_command("CLUSTER", "NODES"))
            break
        except redis.ConnectionError:
            continue
    found = []
    for line in text.splitlines():
        parts = line.split()
        if "fail" in parts[2] or "disconnected" in parts[7:8]:
            continue
        address = parts[1].split("@")[0]
        found.append(
            Node(
                parts[0],
                int(address.rsplit(":", 1)[1]),
                "master" in parts[2],
                " ".join(parts[8:]),
                parts[3],
            )
        )
    return found


def masters(url: str) -> list[Node]:
    return [n for n in nodes(url) if n.master and n.slots]


def connections(node: Node, name: str) -> int:
    """Open connections on `node` whose client name is `name` or starts with `name-`."""
    with node.client() as c:
        text = str(c.execute_command("CLIENT", "LIST"))
    return len(re.findall(rf"name={re.escape(name)}(?:-[a-z]+)?\s", text))


def state_ok(port: int) -> bool:
    try:
        with redis.Redis(port=port, decode_responses=True, socket_timeout=2) as c:
            return "cluster_state:ok" in str(c.execute_command("CLUSTER", "INFO"))
    except redis.ConnectionError:
        return False


def kill(node: Node) -> None:
    """SIGKILL the node's process (the id it reports itself)."""
    with node.client() as c:
        pid = int(c.info("server")["process_id"])
    os.kill(pid, signal.SIGKILL)


def fail_over(master: Node, timeout: float = 30.0) -> Node:
    """A planned failover (`CLUSTER FAILOVER` on `master`'s replica), as for maintenance:
    the old master stays up and becomes a replica. The new master, once it serves the slots."""
    url = f"redis://127.0.0.1:{master.port}"
    [replica] = [n for n in nodes(url) if n.of == master.id]
    with replica.client() as c:
        c.execute_command("CLUSTER", "FAILOVER")
    deadline = time.monotonic() + timeout
    while not (
        any(m.id == replica.id and m.slots == master.slots for m in masters(url))
        and _is_replica(master)
    ):
        assert time.monotonic() < deadline, f"{replica.port} did not take over {master.port}"
        time.sleep(0.1)
    return replica


def restart(node: Node, timeout: float = 30.0) -> None:
    """Start the node again as `scripts/services` does; it rejoins as a replica."""
    directory = CLUSTER_DIR / str(node.port)
    subprocess.run(
        [
            "redis-server",
            "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(node.port),
            "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", "2000", "--cluster-replica-validity-factor", "0",
            "--cluster-require-full-coverage", "no",
            "--dir", str(directory), "--logfile", str(directory / "redis.log"),
            "--save", "", "--appendonly", "no",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + timeout
    while not (state_ok(node.port) and _is_replica(node)):
        assert time.monotonic() < deadline, f"node {node.port} did not rejoin as a replica"
        time.sleep(0.2)


def _is_replica(node: Node) -> bool:
    try:
        with node.client() as c:
            info = c.info("replication")
    except redis.ConnectionError:
        return False
    return info.get("role") == "slave" and info.get("master_link_status") == "up"
