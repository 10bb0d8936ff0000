"""On a cluster, a vendor's log found on another node than the one that wrote it is a new epoch."""

from __future__ import annotations

import uuid
from pathlib import Path

from redis.asyncio.cluster import RedisCluster

from tocsin import keys
from tocsin.model import OutboxRecord
from tocsin.realtime.eventlog.redis import RedisLog
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import ResetReason
from tocsin.settings import Settings
from tocsin.storage import migrate
from tocsin.storage.stores import Stores


def _record(outbox_id: int, seq: int) -> OutboxRecord:
    return OutboxRecord(outbox_id, "v1", seq, "new_notification", f'{{"n":{seq}}}', 1)


async def test_a_log_written_by_a_node_that_is_gone_answers_reset_then_goes_on(
    tmp_path: Path, redis_cluster_url: str
) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    migrate.upgrade(url)
    settings = Settings(
        database_url=url, redis_url=redis_cluster_url, redis_prefix=f"t{uuid.uuid4().hex[:8]}"
    )
    stores = Stores(url)
    await stores.connect()
    event_log = RedisLog(settings, stores.meta)
    await event_log.start(Hub(100))
    admin = RedisCluster.from_url(redis_cluster_url, decode_responses=True)
    try:
        assert (await event_log.append([_record(1, 1), _record(2, 2)])).done == [1, 2]
        cursor = (await event_log.read("v1", None, 10)).head
        # As on a promoted replica that never got entry 2: its meta names the old master.
        meta = keys.stream_meta(settings.redis_prefix, "v1", keys.partition("v1", 64))
        await admin.hset(meta, mapping={"node": "0" * 40, "seq": "1"})
        answer = await event_log.read("v1", cursor, 10)
        assert answer.reset is ResetReason.LOG_CHANGED
        new_epoch = answer.head.partition("_")[0]
        assert new_epoch != cursor.partition("_")[0]
        # The relay's next row (3) finds 2 missing; the outbox no longer holds it, so
        # the relay appends 3 anyway under a new epoch (`Relay.drain`): one more reset.
        assert (await event_log.append([_record(3, 3)])).gaps == {"v1": 1}
        assert (await event_log.append([_record(3, 3)], force=True)).done == [3]
        again = await event_log.read("v1", answer.head, 10)
        assert again.reset is ResetReason.LOG_CHANGED
        page = await event_log.read("v1", again.head.partition("_")[0] + "_0-0", 10)
        assert page.events[-1].data == '{"n":3}'
        assert page.events[-1].id == again.head
    finally:
        await admin.aclose()
        await event_log.close()
        await stores.disconnect()
