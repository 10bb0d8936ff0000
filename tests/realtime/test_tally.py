"""Counting the tabs a notification reached: the hub's counts, and their flush to SQL.

The hub adds a count per event (not per stream); a stream that writes an event
later (from its backlog or its replay) adds its own one. The flusher adds each
process's counts to the `notification_streams` table, so two processes' counts
sum, on both backends.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from prometheus_client import REGISTRY

from tests.realtime.test_sse import Connection, _until
from tocsin.model import Notification
from tocsin.realtime import wire
from tocsin.realtime.hub import Hub, Waiter
from tocsin.realtime.sse import EventStream
from tocsin.realtime.tally import StreamTally, TallyFlusher
from tocsin.realtime.wire import CloseReason
from tocsin.storage.stores import Stores

EPOCH = "0a1b2c3d"
NID = "01JD0000000000000000000000"


def _event(seq: int, notification_id: str = NID, created_ms: int | None = None) -> wire.Event:
    created = wire.iso(created_ms if created_ms is not None else int(time.time() * 1000))
    notification = {"id": notification_id, "title": "t", "created_at": created}
    return wire.Event(
        wire.format_id(EPOCH, (seq, 0), redis=False),
        EPOCH,
        (seq, 0),
        wire.NEW_NOTIFICATION,
        wire.dumps({"notification": notification, "unread_count": 1}),
    )


class Tab:
    """A subscriber that answers what it is told to: written now, or not (queued, closed)."""

    def __init__(self, vendor_id: str, answer: bool) -> None:
        self.vendor_id = vendor_id
        self.closed: CloseReason | None = None
        self.answer = answer

    def push(self, event: wire.Event) -> bool:
        return self.answer

    def close(self, reason: CloseReason) -> None:
        self.closed = reason


def _latency_count() -> float:
    return REGISTRY.get_sample_value("tocsin_publish_to_stream_seconds_count") or 0.0


def test_notification_ref_reads_the_id_and_creation_time() -> None:
    assert wire.notification_ref(_event(1, created_ms=1_700_000_000_123)) == (
        NID,
        1_700_000_000_123,
    )
    update = wire.Event("x_1", EPOCH, (1, 0), wire.NOTIFICATION_UPDATE, '{"ids":[]}')
    assert wire.notification_ref(update) is None
    odd = wire.Event("x_2", EPOCH, (2, 0), wire.NEW_NOTIFICATION, '{"notification":{}}')
    assert wire.notification_ref(odd) is None


async def test_the_hub_counts_streams_written_at_once_and_observes_the_latency() -> None:
    hub = Hub(queue_size=10)
    for answer in (True, True, False):  # the third queues it, or has closed
        await hub.subscribe(Tab("a", answer))
    await hub.subscribe(Waiter("a"))
    await hub.subscribe(Tab("b", True))
    before = _latency_count()
    hub.publish("a", [_event(1, created_ms=int(time.time() * 1000) - 250)])
    assert _latency_count() == before + 1, "observed once per event, not per stream"
    count = hub.tally.pending[NID]
    # The queued stream counts when it writes the event; the waiting poll when it returns it.
    assert (count.vendor_id, count.streams, count.polls) == ("a", 2, 0)
    hub.tally.streamed("a", _event(1))
    hub.tally.polled("a", _event(1))
    assert (count.streams, count.polls) == (3, 1)


async def test_an_event_no_stream_took_is_not_counted() -> None:
    hub = Hub(queue_size=10)
    hub.publish("nobody", [_event(1)])
    await hub.subscribe(Waiter("a"))
    hub.publish("a", [_event(2)])
    assert hub.tally.pending == {}


async def test_two_processes_counts_add_up_in_sql(stores: Stores) -> None:
    vendor = f"v-{uuid.uuid4().hex[:8]}"
    first, second = StreamTally(), StreamTally()
    first.published(vendor, _event(1), 2)
    second.published(vendor, _event(1), 3)
    second.polled(vendor, _event(1))
    await TallyFlusher(first, stores, 1.0).flush()
    assert await TallyFlusher(second, stores, 1.0).flush() == 1
    row = await stores.streams.get(vendor, NID)
    assert row is not None
    assert (row["streams"], row["polls"]) == (5, 1)
    assert row["first_at"] <= row["last_at"]
    assert await stores.streams.get("another-vendor", NID) is None
    assert first.pending == second.pending == {}
    assert await TallyFlusher(first, stores, 1.0).flush() == 0


def test_counts_a_failed_flush_kept_merge_with_new_ones() -> None:
    tally = StreamTally()
    tally.published("a", _event(1), 2)
    taken = tally.take()
    tally.published("a", _event(1), 1)
    tally.put_back(taken)
    assert tally.pending[NID].streams == 3


async def test_a_stream_counts_each_notification_once_across_replay_backlog_and_live() -> None:
    """At the seam an event may be both replayed and queued: it is written, and counted, once."""
    hub = Hub(queue_size=10)
    conn = Connection()
    stream = EventStream(hub, "a", heartbeat=3600, send_timeout=3600, max_seconds=3600)
    await hub.subscribe(stream)
    ids = [f"01JD00000000000000000000{n:02d}" for n in (1, 2, 3)]
    replayed, queued, live = (_event(n, ids[n - 1]) for n in (1, 2, 3))
    hub.publish("a", [replayed, queued])  # queued: the stream has not started
    assert hub.tally.pending == {}
    stream.prepare([replayed.frame], EPOCH, (1, 0), [replayed])
    task = asyncio.create_task(stream(conn.scope, conn.receive, conn.send))
    await _until(lambda: len(conn.sent) >= 3)
    hub.publish("a", [live])
    assert conn.body == replayed.frame + queued.frame + live.frame
    assert {n: c.streams for n, c in hub.tally.pending.items()} == dict.fromkeys(ids, 1)
    conn.hang_up()
    await asyncio.wait_for(task, 2)


def test_notification_ref_is_not_fooled_by_keys_and_text_of_the_notification() -> None:
    """It reads our own encoding without decoding it: `data` and texts may say anything."""
    created = 1_700_000_000_456
    fake = '"created_at":"2001-01-01T00:00:00.000Z"'
    n = Notification(
        id=NID,
        vendor_id="a",
        type="t",
        title=f"say {fake}",
        body=fake,
        data={"created_at": "2001-01-01T00:00:00.000Z", "id": "x", "nested": {"k": fake}},
        priority="normal",
        link=None,
        created_at=created,
        read_at=created + 5000,
        seen_at=None,
        archived_at=None,
        dedupe_key=fake,
    )
    data = wire.dumps({"notification": wire.notification(n), "unread_count": 1})
    event = wire.Event("x_1", EPOCH, (1, 0), wire.NEW_NOTIFICATION, data)
    assert wire.notification_ref(event) == (NID, created)
