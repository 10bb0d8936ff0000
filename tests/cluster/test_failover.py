"""A Redis Cluster master SIGKILLed under load: nothing lost, nothing twice, or a `reset`."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.cluster import _cluster
from tests.cluster._follow import Follower, in_order_once, read_log
from tests.conftest import ServerFactory, mint_token
from tests.stream._helpers import poll, publish

cluster_only = pytest.mark.parametrize("backend", ["cluster"], indirect=True, scope="session")


async def _until(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(0.1)


class _Fleet:
    """24 vendors, on every master, each followed by a client as a browser follows it;
    what was published to each."""

    def __init__(self, url: str, vendor: str) -> None:
        self.url = url
        self.vendors = [f"{vendor}-{n}" for n in range(24)]
        self.tokens = {v: mint_token(url, v) for v in self.vendors}
        self.created: dict[str, list[str]] = {v: [] for v in self.vendors}
        self.first: dict[str, str] = {}
        self.followers: dict[str, Follower] = {}

    async def start(self) -> _Fleet:
        self.first = {v: (await poll(self.url, t))["last_id"] for v, t in self.tokens.items()}
        self.followers = {
            v: Follower(self.url, self.tokens[v], self.first[v]).start() for v in self.vendors
        }
        return self

    async def publish_round(self, n: int) -> None:
        # Every publish answers 201: SQL commits it, the outbox carries it to the log.
        answers = await asyncio.gather(*(publish(self.url, v, f"#{n}") for v in self.vendors))
        for v, answer in zip(self.vendors, answers, strict=True):
            self.created[v].append(answer["id"])

    async def stop(self) -> None:
        for follower in self.followers.values():
            await follower.stop()


@cluster_only
@pytest.mark.timeout(180)
async def test_a_master_killed_under_load_loses_nothing_and_repeats_nothing(
    make_server: ServerFactory, redis_cluster_url: str, vendor: str
) -> None:
    server = make_server()
    fleet = await _Fleet(server.url, vendor).start()
    vendors, tokens, first = fleet.vendors, fleet.tokens, fleet.first
    followers, created, publish_round = fleet.followers, fleet.created, fleet.publish_round
    readiness: list[tuple[float, int]] = []
    stop = asyncio.Event()

    async def watch_readiness() -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            while not stop.is_set():
                readiness.append((time.monotonic(), (await client.get("/readyz")).status_code))
                await asyncio.sleep(0.1)

    victim = _cluster.masters(redis_cluster_url)[0]
    ready_task = asyncio.create_task(watch_readiness())
    try:
        for n in range(5):
            await publish_round(n)
        await _until(
            lambda: _all_delivered(followers, created), 20, "events before the kill delivered"
        )
        killed_at = time.monotonic()
        _cluster.kill(victim)
        n = 5
        # Under load through the failover, until a replica serves the victim's slots.
        while not _promoted(redis_cluster_url, victim) or n < 8:
            await publish_round(n)
            n += 1
            assert time.monotonic() - killed_at < 90, "no replica took over"
        promoted_at = time.monotonic()
        for m in range(n, n + 5):
            await publish_round(m)
        # Every client ends up with everything, or with a reset (then refetches).
        await _until(
            lambda: _all_settled(followers, created), 60, "clients resumed on the new master"
        )
        await _until(lambda: _ready(readiness, promoted_at), 30, "readiness back to 200")
    finally:
        stop.set()
        await ready_task
        await fleet.stop()
        _cluster.restart(victim)

    # Readiness only ever says ready or not (never a 500). Whether a 503 shows up
    # depends on the race between the promotion and the cluster client's own retries
    # (which learn the new map and succeed): a ping that answered 200 had every
    # master answering by then.
    assert {code for _, code in readiness} <= {200, 503}, readiness
    resets = 0
    for v in vendors:
        follower = followers[v]
        assert all(in_order_once(s, created[v]) for s in follower.segments), (v, follower.segments)
        if follower.resets:
            resets += 1
            assert set(follower.resets) <= {"log_changed", "unknown_id"}, follower.resets
        else:
            assert follower.received == created[v], v
        logged, reason = await read_log(server.url, tokens[v], first[v])
        assert in_order_once(logged, created[v]), (v, logged)
        if reason is None:
            assert logged == created[v], v
        else:
            assert reason == "log_changed", reason
    # The victim's vendors were on a node that is gone: their clients were told.
    assert resets > 0


@cluster_only
@pytest.mark.timeout(120)
async def test_a_planned_failover_keeps_every_stream_live(
    make_server: ServerFactory, redis_cluster_url: str, vendor: str
) -> None:
    """`CLUSTER FAILOVER` on a replica (maintenance, an upgrade): the old master stays up as
    a replica, so no connection breaks, and it tells its shard-channel subscribers they are
    unsubscribed. Streams of the vendors it served go on getting what is published after,
    nothing lost or twice (or a `reset` first: the log's epoch changes with its master)."""
    server = make_server()
    fleet = await _Fleet(server.url, vendor).start()
    followers, created, publish_round = fleet.followers, fleet.created, fleet.publish_round
    try:
        for n in range(3):
            await publish_round(n)
        await _until(lambda: _all_delivered(followers, created), 20, "events before the failover")
        await asyncio.to_thread(_cluster.fail_over, _cluster.masters(redis_cluster_url)[0])
        for n in range(3, 6):
            await publish_round(n)
        await _until(
            lambda: _all_settled(followers, created), 30, "streams live after the failover"
        )
    finally:
        await fleet.stop()
    for v in fleet.vendors:
        follower = followers[v]
        assert all(in_order_once(s, created[v]) for s in follower.segments), (v, follower.segments)
        assert set(follower.resets) <= {"log_changed"}, follower.resets


async def _all_delivered(followers: dict[str, Follower], created: dict[str, list[str]]) -> bool:
    return all(f.received == created[v] for v, f in followers.items())


async def _all_settled(followers: dict[str, Follower], created: dict[str, list[str]]) -> bool:
    """The last event published reached every client, or its reset came after it (the page
    refetched it over REST then): the client stands at the log's head."""
    for v, f in followers.items():
        if f.segments[-1][-1:] == created[v][-1:]:
            continue
        if not f.resets or f.cursor != (await poll(f.url, f.token))["last_id"]:
            return False
    return True


def _promoted(url: str, victim: _cluster.Node) -> bool:
    return any(m.slots == victim.slots and m.id != victim.id for m in _cluster.masters(url))


async def _ready(readiness: list[tuple[float, int]], since: float) -> bool:
    return bool(readiness) and readiness[-1][0] > since and readiness[-1][1] == 200
