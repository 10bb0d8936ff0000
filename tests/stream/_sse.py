"""A spec-conforming SSE client for tests (httpx + httpx-sse), with timeouts on every read."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse


@dataclass
class Event:
    id: str
    event: str
    data: dict[str, Any]


class Stream:
    """An open `GET /api/v1/stream`; `next()` returns the next dispatched event."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        last_event_id: str | None = None,
        query: dict[str, str] | None = None,
        via_query: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        self.token = token
        self.last_event_id = last_event_id
        self.query = query or {}
        self.via_query = via_query
        self.headers = headers or {}
        self.retry: int | None = None
        self.response: httpx.Response | None = None
        self._client: httpx.AsyncClient | None = None
        self._ctx: Any = None
        self._iter: AsyncIterator[ServerSentEvent] | None = None

    async def __aenter__(self) -> Stream:
        headers = dict(self.headers)
        params = dict(self.query)
        if self.via_query:
            params["access_token"] = self.token
        else:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=httpx.Timeout(10, read=None)
        )
        self._ctx = aconnect_sse(
            self._client, "GET", "/api/v1/stream", headers=headers, params=params
        )
        source = await self._ctx.__aenter__()
        self.response = source.response
        if self.response.status_code == 200:
            self._iter = source.aiter_sse().__aiter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._ctx is not None:
            ctx, self._ctx = self._ctx, None
            with contextlib.suppress(httpx.HTTPError, RuntimeError):
                await ctx.__aexit__(None, None, None)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def next(self, timeout: float = 10.0) -> Event:
        """The next event with data (a `retry:`-only block is recorded, not returned)."""
        assert self._iter is not None, f"stream not open: {self.response!r}"
        while True:
            sse = await asyncio.wait_for(self._iter.__anext__(), timeout)
            if sse.retry is not None:
                self.retry = sse.retry
            if not sse.data:
                continue
            return Event(sse.id, sse.event, json.loads(sse.data))

    async def take(self, n: int, timeout: float = 10.0) -> list[Event]:
        return [await self.next(timeout) for _ in range(n)]

    async def ended(self, timeout: float = 10.0) -> bool:
        """True once the server closes the stream (no further event arrives)."""
        assert self._iter is not None
        try:
            while True:
                sse = await asyncio.wait_for(self._iter.__anext__(), timeout)
                if sse.data:
                    return False
        except (StopAsyncIteration, httpx.RemoteProtocolError, httpx.ReadError):
            return True
