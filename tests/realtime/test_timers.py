"""The hub's timer wheel: one loop timer for every stream's deadlines."""

from __future__ import annotations

import asyncio
import itertools

from tocsin.realtime.timers import TimerWheel


class Item:
    def __init__(self, name: str, log: list[tuple[str, float]], every: float | None = None) -> None:
        self.name = name
        self.due = 0
        self.log = log
        self.every = every

    def on_timer(self, now: float) -> float | None:
        self.log.append((self.name, now))
        return None if self.every is None else now + self.every


async def test_items_fire_in_deadline_order_never_early() -> None:
    wheel = TimerWheel(resolution=0.01)
    loop = asyncio.get_running_loop()
    log: list[tuple[str, float]] = []
    start = loop.time()
    for name, delay in (("c", 0.06), ("a", 0.02), ("b", 0.04)):
        wheel.schedule(Item(name, log), start + delay)
    await asyncio.sleep(0.15)
    assert [name for name, _ in log] == ["a", "b", "c"]
    for (_, at), delay in zip(log, (0.02, 0.04, 0.06), strict=True):
        assert at >= start + delay
    assert len(wheel) == 0


async def test_one_loop_timer_serves_many_items_in_the_same_slot() -> None:
    wheel = TimerWheel(resolution=0.05)
    loop = asyncio.get_running_loop()
    log: list[tuple[str, float]] = []
    when = loop.time() + 0.05
    for n in range(1000):
        wheel.schedule(Item(str(n), log), when)
    handles = len(loop._scheduled)  # type: ignore[attr-defined]
    assert handles <= 2  # the wheel's one timer (and perhaps the test runner's)
    await asyncio.sleep(0.12)
    assert len(log) == 1000
    assert len({at for _, at in log}) == 1  # one wake-up for all of them


async def test_moving_earlier_and_cancelling() -> None:
    wheel = TimerWheel(resolution=0.01)
    loop = asyncio.get_running_loop()
    log: list[tuple[str, float]] = []
    start = loop.time()
    early, gone = Item("early", log), Item("gone", log)
    wheel.schedule(early, start + 10)
    wheel.schedule(early, start + 0.02)  # earlier: refiled
    wheel.schedule(early, start + 5)  # later than it is due: ignored
    wheel.schedule(gone, start + 0.02)
    wheel.cancel(gone)
    await asyncio.sleep(0.08)
    assert [name for name, _ in log] == ["early"]
    wheel.close()


async def test_an_item_that_asks_again_keeps_firing() -> None:
    wheel = TimerWheel(resolution=0.01)
    loop = asyncio.get_running_loop()
    log: list[tuple[str, float]] = []
    beat = Item("beat", log, every=0.03)
    wheel.schedule(beat, loop.time() + 0.03)
    await asyncio.sleep(0.2)
    wheel.cancel(beat)
    assert 3 <= len(log) <= 7
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(log)]
    assert all(gap >= 0.03 - 1e-9 for gap in gaps)
    wheel.close()
