"""SIGKILL while publishing: nothing answered 2xx is lost, and nothing appears twice."""

from __future__ import annotations

import random
import time

from tests.conftest import ServerFactory, mint_token
from tests.faults._load import REPEAT, Load, assert_exactly_once, committed, until_all_logged
from tests.stream._helpers import poll
from tests.stream._sse import Stream

KILLS = 10  # per backend, times TOCSIN_FAULT_REPEAT: 20 in the normal run


async def test_sigkill_during_publishing_loses_and_duplicates_nothing(
    make_server: ServerFactory, vendor: str
) -> None:
    kills = KILLS * REPEAT
    rng = random.Random(vendor)
    # The relay runs after each commit: a kill lands between commit, append and
    # the outbox's delete as often as anywhere else.
    env = {"TOCSIN_RELAY_INTERVAL_SECONDS": "0.2"}
    server = make_server(env)
    port = server.port
    token = mint_token(server.url, vendor)
    first = (await poll(server.url, token))["last_id"]
    began = time.monotonic()
    loads: list[Load] = []
    for kill in range(kills):
        load = Load(server.url, vendor, rate=200, concurrency=4, tag=f"k{kill}").start()
        loads.append(load)
        await load.until_answered(rng.randint(3, 15))
        server.kill()  # SIGKILL, requests in flight
        await load.stop()
        server = make_server(env, port=port)
    elapsed = time.monotonic() - began

    everything = Load(server.url, vendor)
    for load in loads:
        everything.accepted.update(load.accepted)
        everything.unanswered += load.unanswered
        everything.refused.update(load.refused)
        everything.refused_titles += load.refused_titles
    assert not everything.refused, everything.refused
    notifications = await committed(server.url, token)
    events = await until_all_logged(server.url, token, first, len(notifications))
    assert_exactly_once(everything, notifications, events)
    # The stream, resumed from the first cursor, replays the same events in the same order.
    async with Stream(server.url, token, last_event_id=first) as stream:
        replayed = await stream.take(len(events))
    assert [e.id for e in replayed] == [e["id"] for e in events]
    print(
        f"{kills} kills in {elapsed:.1f} s: {len(everything.accepted)} creates answered 201, "
        f"{len(everything.unanswered)} in flight at a kill (no answer), "
        f"{len(notifications)} committed, each once on the stream"
    )
