"""What the fault suite runs and checks: a steady publisher, and the log read back.

`TOCSIN_FAULT_REPEAT` (default 1) multiplies the faults each test injects;
`make faults` raises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests._server import API_KEY
from tests.stream._helpers import poll

REPEAT = max(1, int(os.environ.get("TOCSIN_FAULT_REPEAT", "1")))
# What a server's log must never say: a Redis client or pipeline dropped with
# its connection, or asyncio's complaint about an unclosed transport.
LEAK_MARKS = ("Unclosed", "unclosed", "leaked", "Task was destroyed")


@dataclass
class Load:
    """Creates notifications for `vendor`, `concurrency` at a time, at most `rate` a second.

    Every request has a title of its own (unique across loads of distinct `tag`s).
    `accepted` maps the title of each 2xx answer to the notification's id;
    `unanswered` holds the titles of requests that got no answer (`dropped`
    counts those whose connection broke, as with a killed server; the others
    were in flight at `stop`), `refused` those answered otherwise.
    """

    base_url: str
    vendor: str
    rate: float = 25.0
    concurrency: int = 2
    limit: int = 20_000
    tag: str = "n"  # titles are `<tag>-<n>`
    accepted: dict[str, str] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)
    dropped: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    refused_titles: list[str] = field(default_factory=list)
    problems: list[httpx.Response] = field(default_factory=list)
    _sent: int = 0
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _answered: asyncio.Condition = field(default_factory=asyncio.Condition)

    def start(self) -> Load:
        self._tasks = [asyncio.create_task(self._run()) for _ in range(self.concurrency)]
        return self

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @property
    def answered(self) -> int:
        return len(self.accepted) + sum(self.refused.values())

    async def until_answered(self, count: int, timeout: float = 20.0) -> None:
        """Wait until `count` requests were answered (or fail after `timeout` s)."""
        await self._until(lambda: self.answered >= count, timeout)

    async def until_accepted(self, count: int, timeout: float = 30.0) -> None:
        await self._until(lambda: len(self.accepted) >= count, timeout)

    async def until_refused(self, count: int, timeout: float = 20.0) -> None:
        await self._until(lambda: sum(self.refused.values()) >= count, timeout)

    async def _until(self, predicate: Callable[[], bool], timeout: float) -> None:
        async with self._answered:
            await asyncio.wait_for(self._answered.wait_for(predicate), timeout)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        gap = self.concurrency / self.rate
        async with httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=httpx.Timeout(10, connect=2),
        ) as client:
            while self._sent < self.limit:
                began = loop.time()
                self._sent += 1
                title = f"{self.tag}-{self._sent}"
                try:
                    r = await client.post(
                        f"/api/v1/vendors/{self.vendor}/notifications",
                        json={"type": "order_created", "title": title},
                    )
                except asyncio.CancelledError:
                    self.unanswered.append(title)  # stopped while waiting for the answer
                    raise
                except httpx.TransportError:
                    self.unanswered.append(title)
                    self.dropped += 1
                else:
                    if r.is_success:
                        self.accepted[title] = r.json()["id"]
                    else:
                        self.refused[r.status_code] += 1
                        self.refused_titles.append(title)
                        self.problems.append(r)
                    async with self._answered:
                        self._answered.notify_all()
                await asyncio.sleep(max(0.0, gap - (loop.time() - began)))


async def read_back(base_url: str, token: str, after: str) -> list[dict[str, Any]]:
    """Every event after `after`, page by page to the head (no waiting)."""
    events: list[dict[str, Any]] = []
    cursor = after
    for _ in range(10_000):
        page = await poll(base_url, token, after=cursor, limit=1000)
        assert not page["reset"], f"reset while reading back: {page}"
        if not page["events"]:
            return events
        events += page["events"]
        cursor = page["last_id"]
    raise AssertionError("the log did not end")


async def committed(base_url: str, token: str) -> list[dict[str, Any]]:
    """Every notification the vendor has, from the REST list."""
    items: list[dict[str, Any]] = []
    query: dict[str, Any] = {"limit": 100}
    async with httpx.AsyncClient(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    ) as client:
        while True:
            r = await client.get("/api/v1/notifications", params=query)
            assert r.status_code == 200, r.text
            page = r.json()
            items += page["items"]
            if page["next_cursor"] is None:
                return items
            query["cursor"] = page["next_cursor"]


async def until_all_logged(
    base_url: str, token: str, after: str, expected: int, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The log after `after` once it holds `expected` notifications (the relay catches up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        events = await read_back(base_url, token, after)
        created = [e for e in events if e["event"] == "new_notification"]
        if len(created) >= expected:
            return events
        assert loop.time() < deadline, f"{len(created)} of {expected} notifications logged"
        await poll(base_url, token, after=events[-1]["id"] if events else after, wait=2)


def assert_exactly_once(load: Load, notifications: list[dict[str, Any]], events: list[Any]) -> None:
    """The promise of the stream: each committed notification once, and each 2xx committed."""
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)), "an event id appears twice"
    on_stream = Counter(
        e["data"]["notification"]["id"] for e in events if e["event"] == "new_notification"
    )
    twice = [n for n, count in on_stream.items() if count > 1]
    assert not twice, f"notifications on the stream twice: {twice}"
    stored = {n["id"] for n in notifications}
    assert set(on_stream) == stored, (
        f"committed but not on the stream: {sorted(stored - set(on_stream))}; "
        f"on the stream but not committed: {sorted(set(on_stream) - stored)}"
    )
    lost = set(load.accepted.values()) - stored
    assert not lost, f"answered 2xx but lost: {sorted(lost)}"
    titles = Counter(n["title"] for n in notifications)
    assert all(count == 1 for count in titles.values()), "a request was committed twice"
    # A request that got no 2xx may have been committed (the answer was lost), once at most.
    unexpected = set(titles) - set(load.accepted) - set(load.unanswered) - set(load.refused_titles)
    assert not unexpected, f"committed, but never sent: {sorted(unexpected)}"
