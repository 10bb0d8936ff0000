"""Stream slots: at most `TOCSIN_MAX_STREAMS_PER_VENDOR` open streams and waiting polls per vendor.

Without a cap one vendor token could open streams until the process runs out of
file descriptors, and every vendor's requests fail (issue 10). A request over
the cap gets 429 with `Retry-After`.

`LocalSlots` counts in the process (the embedded mode has one). `RedisSlots`
counts across processes: a sorted set per vendor holds one member per open
stream or waiting poll, scored by when it expires (Redis's clock). Each
process renews its members every third of `TOCSIN_SLOT_TTL_SECONDS`, so the
slots of a process that was killed free themselves within that time, and a
Redis that lost its data learns the process's members again at the next renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from tocsin import keys
from tocsin.errors import TooManyRequests, Unavailable
from tocsin.settings import Settings

log = logging.getLogger(__name__)

# When a client over the cap should try again (seconds): streams end and polls
# return all the time, and a browser tab that was closed frees its slot at once.
RETRY_AFTER = 5
RENEW_BATCH = 500

# KEYS: slots. ARGV: member, cap, ttl (ms). 1 if the member now holds a slot, else 0.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: slots. ARGV: ttl (ms), members... Extends (or restores) the members' slots.
RENEW = """
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], expires, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
"""

# KEYS: slots. ARGV: members... Gives the members' slots back.
REMOVE = """
return redis.call('ZREM', KEYS[1], unpack(ARGV))
"""


class Scripts(Protocol):
    async def run(self, script: str, numkeys: int, calls: list[tuple[Any, ...]]) -> list[Any]:
        """`script` once per call (its keys, then its arguments); `Unavailable` if Redis is down."""


class Slot:
    """One open stream or waiting poll; `release` (idempotent) gives it back."""

    __slots__ = ("_release", "member", "vendor_id")

    def __init__(self, vendor_id: str, member: str, release: Callable[[Slot], None]) -> None:
        self.vendor_id = vendor_id
        self.member = member
        self._release: Callable[[Slot], None] | None = release

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(self)


class Slots(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def take(self, vendor_id: str) -> Slot:
        """A slot for `vendor_id`, or `TooManyRequests` when it holds `cap` already."""


def _over(vendor_id: str, cap: int) -> TooManyRequests:
    return TooManyRequests(
        f"vendor {vendor_id} has {cap} open streams and waiting polls, the most allowed "
        "(TOCSIN_MAX_STREAMS_PER_VENDOR); close one or retry later",
        retry_after=RETRY_AFTER,
    )


class LocalSlots:
    """The count in this process; `cap` 0 means no cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._held: dict[str, int] = {}
        self._ids = itertools.count()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def take(self, vendor_id: str) -> Slot:
        held = self._held.get(vendor_id, 0)
        if self.cap and held >= self.cap:
            raise _over(vendor_id, self.cap)
        self._held[vendor_id] = held + 1
        return Slot(vendor_id, str(next(self._ids)), self._give_back)

    def _give_back(self, slot: Slot) -> None:
        left = self._held[slot.vendor_id] - 1
        if left:
            self._held[slot.vendor_id] = left
        else:
            del self._held[slot.vendor_id]


class RedisSlots:
    """The count across processes, in Redis (see the module's docstring)."""

    def __init__(self, settings: Settings, scripts: Scripts) -> None:
        self.cap = settings.max_streams_per_vendor
        self.ttl_ms = int(settings.slot_ttl_seconds * 1000)
        self.prefix = settings.redis_prefix
        # The event log's client (one node or a cluster, connected at first use, its
        # connections capped): a vendor's set is one key, so each script is one slot.
        self._scripts = scripts
        self._process = uuid.uuid4().hex[:12]
        self._ids = itertools.count()
        self._held: dict[str, set[str]] = {}
        self._releases: set[asyncio.Task[None]] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        if self.cap:
            self._renewer = asyncio.create_task(self._renew_forever(), name="tocsin-slots")

    async def close(self) -> None:
        self._closed = True
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        if self._releases:
            await asyncio.wait(self._releases, timeout=2)
        # Give back what is still held (streams closed at shutdown), rather than at expiry.
        calls = [
            (keys.stream_slots(self.prefix, vendor_id), *members)
            for vendor_id, members in self._held.items()
        ]
        if calls:
            with contextlib.suppress(Unavailable, TimeoutError):
                async with asyncio.timeout(2):
                    await self._scripts.run(REMOVE, 1, calls)
        self._held.clear()

    async def take(self, vendor_id: str) -> Slot:
        member = f"{self._process}:{next(self._ids)}"
        if not self.cap:
            return Slot(vendor_id, member, lambda slot: None)
        # `Unavailable` (503) when Redis cannot be reached.
        (taken,) = await self._scripts.run(
            TAKE, 1, [(keys.stream_slots(self.prefix, vendor_id), member, self.cap, self.ttl_ms)]
        )
        if not taken:
            raise _over(vendor_id, self.cap)
        self._held.setdefault(vendor_id, set()).add(member)
        return Slot(vendor_id, member, self._give_back)

    def _give_back(self, slot: Slot) -> None:
        members = self._held.get(slot.vendor_id)
        if members is not None:
            members.discard(slot.member)
            if not members:
                del self._held[slot.vendor_id]
        if self._closed:
            return  # `close` gives back what is held, or the TTL does
        task = asyncio.ensure_future(self._remove(slot))
        self._releases.add(task)
        task.add_done_callback(self._releases.discard)

    async def _remove(self, slot: Slot) -> None:
        # A slot not removed now (Redis away) expires within the TTL.
        with contextlib.suppress(Unavailable):
            await self._scripts.run(
                REMOVE, 1, [(keys.stream_slots(self.prefix, slot.vendor_id), slot.member)]
            )

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_ms / 3000)
            try:
                await self.renew()
            except Unavailable as exc:
                log.warning("could not renew stream slots (%s); retrying", exc)

    async def renew(self) -> None:
        """Extend every slot this process holds by the TTL."""
        calls = []
        for vendor_id, members in list(self._held.items()):
            held = sorted(members)
            for i in range(0, len(held), RENEW_BATCH):
                calls.append(
                    (
                        keys.stream_slots(self.prefix, vendor_id),
                        self.ttl_ms,
                        *held[i : i + RENEW_BATCH],
                    )
                )
        if calls:
            await self._scripts.run(RENEW, 1, calls)
