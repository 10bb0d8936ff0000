"""Identifiers: time-ordered notification ids and random log epochs."""

from __future__ import annotations

import os
import re
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
NOTIFICATION_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}\Z")

_last_ms = 0
_last_random = 0


def new_notification_id() -> str:
    """A ULID (26 Crockford base32 characters): sorts by creation time within a process.

    Within one millisecond the random part is incremented, so ids minted by one
    process never go backwards (keyset pagination relies on `id` order).
    """
    global _last_ms, _last_random
    ms = int(time.time() * 1000)
    if ms <= _last_ms:
        ms = _last_ms
        rand = _last_random + 1
    else:
        rand = int.from_bytes(os.urandom(10), "big")
    _last_ms, _last_random = ms, rand
    return notification_id_at(ms, rand)


def notification_id_at(ms: int, rand: int) -> str:
    """The ULID of time `ms` with random part `rand` (80 bits): for ids made in bulk."""
    value = (ms << 80) | (rand & ((1 << 80) - 1))
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_epoch() -> str:
    """Eight lowercase base32 characters naming one incarnation of an event log."""
    value = int.from_bytes(os.urandom(5), "big")
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(8)).lower()


def now_ms() -> int:
    return int(time.time() * 1000)
