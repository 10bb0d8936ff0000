"""A client that follows a vendor's stream as a browser does: resumes from its last id, and
keeps count of what it got; and a check of a vendor's log read by polling from a cursor."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from tests.stream._helpers import poll
from tests.stream._sse import Stream


class Follower:
    def __init__(self, url: str, token: str, cursor: str) -> None:
        self.url = url
        self.token = token
        self.cursor = cursor
        self.segments: list[list[str]] = [[]]  # notification ids, a new list after each reset
        self.resets: list[str] = []
        self.reconnects = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> Follower:
        self.task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    @property
    def received(self) -> list[str]:
        return [i for segment in self.segments for i in segment]

    async def _run(self) -> None:
        while True:
            try:
                async with Stream(self.url, self.token, last_event_id=self.cursor) as stream:
                    if stream.response is None or stream.response.status_code != 200:
                        await asyncio.sleep(0.2)
                        continue
                    while True:
                        event = await stream.next(timeout=3600)
                        self.cursor = event.id
                        if event.event == "reset":
                            self.resets.append(event.data["reason"])
                            self.segments.append([])  # the page refetches over REST here
                        elif event.event == "new_notification":
                            self.segments[-1].append(event.data["notification"]["id"])
            except asyncio.CancelledError:
                raise
            except Exception:  # the server or nginx went away: resume, as EventSource does
                self.reconnects += 1
                await asyncio.sleep(0.1)


def in_order_once(received: list[str], created: list[str]) -> bool:
    """`received` is a part of `created`, in its order, nothing twice."""
    where = {n: i for i, n in enumerate(created)}
    places = [where.get(n, -1) for n in received]
    return -1 not in places and places == sorted(set(places))


async def read_log(url: str, token: str, cursor: str) -> tuple[list[str], str | None]:
    """Every notification id in the log after `cursor`, or those before a `reset` and its reason."""
    ids: list[str] = []
    while True:
        page: dict[str, Any] = await poll(url, token, after=cursor, limit=1000)
        if page["reset"]:
            return ids, str(page["reason"])
        ids += [
            e["data"]["notification"]["id"] for e in page["events"] if "notification" in e["data"]
        ]
        if not page["events"]:
            return ids, None
        cursor = page["last_id"]
