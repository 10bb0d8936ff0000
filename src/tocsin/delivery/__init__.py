"""Delivery: channels as plug-ins, a durable queue, a retrying worker, an attempt log.

Each channel (`in_app`, `email`, `sms`, `push`) is one entry in `tocsin.delivery.channels`:
the template blocks it renders, the typed message it builds from them, the
contact it sends to and its sender. In-app is the notification itself; the
others are queued here.

The `deliveries` table is the truth about every message: rendered once when
its event is ingested, then `pending → sending → sent | failed`. The queue
(`tocsin.delivery.queue`) only says which delivery to look at next: a Redis
Streams consumer group with Redis, the table itself without. A worker claims
a delivery in SQL with a lease before sending, so a duplicate queue entry or a
second worker never sends it twice; a worker that dies mid-send leaves its
lease to expire and the delivery is taken over (see `DeliveryWorker`).

Between "the provider accepted it" and "we recorded that" a crash can still
cause one resend: delivery is at least once. Each message carries a key that
stays the same across attempts (the email's `Message-ID`, the SMS webhook's
`Idempotency-Key`), so a provider or a mail client can drop the duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from tocsin.model import Delivery as Delivery


@dataclass(frozen=True, slots=True)
class Rendered:
    """One notification's templates, rendered: the text of each block and the HTML part."""

    blocks: Mapping[str, str]
    html: str


class Message(Protocol):
    """What a channel builds from `Rendered`, stored as JSON with its delivery."""

    def to_json(self) -> dict[str, str]: ...


def one_line(text: str) -> str:
    return " ".join(text.split())


class SendError(Exception):
    """A failed send; `permanent` ones (a refused recipient, a 4xx) are not retried.

    `gone`: the recipient no longer exists (a push subscription answered 404 or 410).
    """

    def __init__(self, message: str, *, permanent: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent or gone
        self.gone = gone


class Sender(Protocol):
    async def send(self, delivery: Delivery) -> None:
        """Send `delivery` or raise (`SendError` says whether a retry may help)."""

    async def close(self) -> None: ...
