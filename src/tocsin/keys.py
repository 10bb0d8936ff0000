"""Redis key formats, in one place.

Per-vendor keys carry the vendor id in a hash tag (`{...}`), so a vendor's
stream and its metadata live in one Redis Cluster slot and can be touched by
one script.
"""

from __future__ import annotations


def stream(prefix: str, vendor_id: str) -> str:
    """The vendor's event stream (XADD/XRANGE); entries `e` name, `d` JSON, `p` epoch."""
    return f"{prefix}:{{{vendor_id}}}:events"


def stream_meta(prefix: str, vendor_id: str) -> str:
    """Hash: `epoch` (the log's incarnation), `seq` (last relayed outbox sequence number)."""
    return f"{prefix}:{{{vendor_id}}}:meta"


def stream_slots(prefix: str, vendor_id: str) -> str:
    """Sorted set: one member per open stream or waiting poll; score = expiry (ms, Redis clock)."""
    return f"{prefix}:{{{vendor_id}}}:slots"


def vendor_of(prefix: str, stream_key: str) -> str:
    return stream_key[len(prefix) + 2 : -len("}:events")]


def wake(prefix: str, process_id: str) -> str:
    """A process's private stream, written to interrupt its blocking reader."""
    return f"{prefix}:wake:{process_id}"


def delivery_queue(prefix: str) -> str:
    """The delivery stream (consumer group `delivery`); entries `d` = delivery id."""
    return f"{prefix}:{{delivery}}:queue"


def delivery_delayed(prefix: str) -> str:
    """Sorted set of delivery ids waiting for a retry; score = due time (ms since the epoch)."""
    return f"{prefix}:{{delivery}}:delayed"
