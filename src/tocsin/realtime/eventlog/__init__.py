"""The event log: an ordered, replayable log of events per vendor.

Two backends share one interface: `RedisLog` (Redis Streams, production,
several processes) and `SqlLog` (a table in the SQL database, the embedded
default, one process). Both feed the process's `Hub` from a single reader.
Both raise `tocsin.errors.Unavailable` when their backend cannot be reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tocsin.model import OutboxRecord
from tocsin.realtime.hub import Hub
from tocsin.realtime.wire import Event, ResetReason


@dataclass(slots=True)
class AppendResult:
    """Outbox ids now in the log for the relay to delete (none from a log that shares the
    outbox's database: it deletes them as it appends), and per vendor the last sequence
    number where a gap stopped.
    """

    done: list[int] = field(default_factory=list)
    gaps: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ReadResult:
    """Events after a position, the log's head, and why a replay is impossible (if so)."""

    head: str
    events: list[Event] = field(default_factory=list)
    reset: ResetReason | None = None


class EventLog(Protocol):
    async def start(self, hub: Hub) -> None:
        """Connect, and start feeding `hub` with live events (the database is connected)."""

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the log cannot be reached."""

    async def alive(self) -> str | None:
        """Why this process should be restarted, if it should; else `None`.

        Not for a backend that is down (that is `ping`'s business, and waiting
        helps): for a log that keeps failing while its backend answers.
        """

    async def append(self, records: Sequence[OutboxRecord], *, force: bool = False) -> AppendResult:
        """Append outbox records idempotently, in order.

        A record already appended counts as done (so a relay that died after
        appending and before deleting its rows appends nothing twice). A record
        that would leave a gap in its vendor's sequence is left for later and
        reported in `gaps`. `force` appends regardless and starts a new epoch:
        for a log that lost events the outbox no longer holds.
        """

    async def read(self, vendor_id: str, after: str | None, limit: int) -> ReadResult:
        """Up to `limit` events after the id `after`; with `after=None`, just the head."""
