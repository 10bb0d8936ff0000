"""One timer wheel per hub: heartbeats, lifetimes, token expiry and send timeouts.

A timer per open stream (and a task to watch it) costs memory and a wake-up
each; with thousands of streams that is most of an idle process's work. The
wheel files each stream under one slot (its next deadline, rounded up to the
wheel's resolution) and arms a single loop timer for the earliest slot, so
streams whose deadlines fall together are handled in one wake-up. A deadline
is never early, and at most one resolution late.

An item is filed under at most one live slot: moving it earlier files it
again and leaves the old entry stale (skipped when its slot comes round);
`cancel` just forgets the slot.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from typing import Protocol

log = logging.getLogger(__name__)


class Timed(Protocol):
    due: int  # the slot the wheel has it under; 0 when none

    def on_timer(self, now: float) -> float | None:
        """Do what is due at `now` (loop time); the next deadline, or `None` for none."""


class TimerWheel:
    def __init__(self, resolution: float = 0.1) -> None:
        self.resolution = resolution
        self._slots: dict[int, list[Timed]] = {}
        self._order: list[int] = []  # slot numbers with items: a heap
        self._handle: asyncio.TimerHandle | None = None
        self._armed = 0  # the slot `_handle` fires for
        self._fired = 0  # the last slot handled: later deadlines go after it
        self._firing = False

    def __len__(self) -> int:
        return sum(len(items) for items in self._slots.values())

    def schedule(self, item: Timed, when: float) -> None:
        """Call `item.on_timer` at `when` (loop time), unless it is already due earlier."""
        slot = max(math.ceil(when / self.resolution), self._fired + 1)
        if item.due and item.due <= slot:
            return
        item.due = slot
        items = self._slots.get(slot)
        if items is not None:
            items.append(item)
            return
        self._slots[slot] = [item]
        heapq.heappush(self._order, slot)
        if not self._firing and (self._handle is None or slot < self._armed):
            self._arm(slot)

    @staticmethod
    def cancel(item: Timed) -> None:
        item.due = 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._slots.clear()
        self._order.clear()

    def _arm(self, slot: int) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed = slot
        loop = asyncio.get_running_loop()
        self._handle = loop.call_at(slot * self.resolution, self._fire)

    def _fire(self) -> None:
        self._handle = None
        loop_now = asyncio.get_running_loop().time()
        # The loop runs a timer up to its clock resolution early: the armed slot is due.
        last = max(self._armed, math.floor(loop_now / self.resolution))
        order = self._order
        self._firing = True
        try:
            while order and order[0] <= last:
                slot = heapq.heappop(order)
                self._fired = slot
                now = max(loop_now, slot * self.resolution)
                for item in self._slots.pop(slot):
                    if item.due != slot:
                        continue  # moved earlier, or cancelled
                    item.due = 0
                    try:
                        nxt = item.on_timer(now)
                    except Exception:
                        log.exception("a timer of %r failed", item)
                        continue
                    if nxt is not None:
                        self.schedule(item, nxt)
        finally:
            self._firing = False
            self._fired = max(self._fired, last)
            if order:
                self._arm(order[0])
