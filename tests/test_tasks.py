"""`tocsin._tasks.stop`: a background task ends even if it swallows a cancellation."""

from __future__ import annotations

import asyncio

from tocsin import _tasks


async def test_stop_ends_a_task_that_swallows_a_cancel() -> None:
    swallowed = 0

    async def loop_that_swallows_once() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # as a client library may, when a reply races the cancel

    task = asyncio.create_task(loop_that_swallows_once())
    await asyncio.sleep(0)
    await asyncio.wait_for(_tasks.stop(task), 5)
    assert task.cancelled()
    assert swallowed == 1


async def test_stop_logs_what_a_failing_task_raised(caplog: object) -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await _tasks.stop(task)
    assert "failed while stopping" in caplog.text  # type: ignore[attr-defined]
