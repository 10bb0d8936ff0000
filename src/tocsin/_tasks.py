"""Stopping a background task for sure.

`task.cancel()` then `await task` can wait forever: a cancellation that lands
just as a reply arrives may be swallowed inside a client library (seen with
the delivery worker's blocking `XREADGROUP` at shutdown with 10,000 streams
open), and a loop that catches nothing but its own errors then simply goes
round again. Cancelling until the task is done ends it at its next await.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

RECANCEL_SECONDS = 0.5


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel `task` until it has ended; what it raised is logged, not raised."""
    while not task.done():
        task.cancel()
        await asyncio.wait((task,), timeout=RECANCEL_SECONDS)
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("task %s failed while stopping", task.get_name(), exc_info=exc)
