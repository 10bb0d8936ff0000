"""Redis key formats, in one place.

A vendor belongs to one of `TOCSIN_REDIS_PARTITIONS` partitions (a stable hash
of its id), and its keys and its live channel carry the partition in a hash tag
(`{p<n>}`): on a Redis Cluster they share one slot, so one script can touch
them all (`XADD` and `SPUBLISH` together), and a process talks to one
connection per master whatever the number of vendors. The number of partitions
is fixed for the life of a deployment: changing it moves every vendor's keys,
which starts a new epoch (clients get `reset`).
"""

from __future__ import annotations

import zlib


def partition(vendor_id: str, partitions: int) -> int:
    """The vendor's partition, the same in every process (CRC-32 of the id)."""
    return zlib.crc32(vendor_id.encode()) % partitions


def stream(prefix: str, vendor_id: str, part: int) -> str:
    """The vendor's event stream (XADD/XRANGE); entries `e` name, `d` JSON, `p` epoch."""
    return f"{prefix}:{{p{part}}}:{vendor_id}:events"


def stream_meta(prefix: str, vendor_id: str, part: int) -> str:
    """Hash: `epoch` (the log's incarnation), `seq` (last relayed outbox sequence number),
    `last` and `trimmed` (entry ids), `src` (the SQL database), `node` (the cluster node
    that wrote it: another node means a failover, so a new epoch)."""
    return f"{prefix}:{{p{part}}}:{vendor_id}:meta"


def live(prefix: str, vendor_id: str, part: int) -> str:
    """The vendor's channel (`SPUBLISH` on a cluster, `PUBLISH` on one node): each appended
    entry as `<previous id>\\n<id>\\n<epoch>\\n<event name>\\n<JSON>`."""
    return f"{prefix}:{{p{part}}}:{vendor_id}:live"


def stream_slots(prefix: str, vendor_id: str) -> str:
    """Sorted set: one member per open stream or waiting poll; score = expiry (ms, Redis clock)."""
    return f"{prefix}:{{{vendor_id}}}:slots"


def delivery_queue(prefix: str) -> str:
    """The delivery stream (consumer group `delivery`); entries `d` = delivery id."""
    return f"{prefix}:{{delivery}}:queue"


def delivery_delayed(prefix: str) -> str:
    """Sorted set of delivery ids waiting for a retry; score = due time (ms since the epoch)."""
    return f"{prefix}:{{delivery}}:delayed"
