"""uvicorn's httptools protocol, lighter per connection (used by `tocsin serve`).

A stream holds its connection for hours, so what uvicorn keeps per connection
is most of what a stream costs. Three empty `collections.deque`s take 760
bytes each (a deque allocates a block of 64 slots up front): the queue of
pipelined requests, and the waiters of two `asyncio.Event`s (the request's
messages, the transport's flow control). A list does the same job in 56.

Each swap is made only where the attribute is the empty deque expected, so a
uvicorn or Python that changes these internals runs as before, only heavier.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any


class _Pipeline(list[Any]):
    """The `deque` methods uvicorn uses on its pipeline (`appendleft`, `pop`, truth)."""

    __slots__ = ()

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


def _empty_deque(value: object) -> bool:
    return type(value) is collections.deque and not value


def _lighten(event: object) -> None:
    """An `asyncio.Event` with a list for its waiters (it appends, removes and iterates)."""
    if isinstance(event, asyncio.Event) and _empty_deque(getattr(event, "_waiters", None)):
        event._waiters = []  # type: ignore[assignment]


def http_protocol() -> type[asyncio.Protocol] | str:
    """The protocol class for `uvicorn.Config(http=...)`; `"auto"` without httptools."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "auto"

    class LeanHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if _empty_deque(getattr(self, "pipeline", None)):
                self.pipeline = _Pipeline()  # type: ignore[assignment]

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            _lighten(getattr(self.flow, "_is_writable_event", None))

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            if self.cycle is not None:
                _lighten(getattr(self.cycle, "message_event", None))

    return LeanHttpToolsProtocol
