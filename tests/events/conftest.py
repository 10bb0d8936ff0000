"""Real collaborators for the events suite: an SMTP server (aiosmtpd) and an SMS webhook.

Both run on the test's own event loop on a free port, so the tocsin
subprocess talks to them over real sockets. `wait_until` polls a condition
with a deadline, for results that a background worker produces.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests._push import PushService
from tests._server import API_KEY, Server, free_port
from tests.conftest import ServerFactory, mint_token
from tocsin.delivery.push import generate_keys

T = TypeVar("T")


async def wait_until(
    check: Callable[[], Awaitable[T | None] | T | None], timeout: float = 20.0, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or check}")
        await asyncio.sleep(0.05)


# -- SMTP -----------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


class Mailbox:
    """The mail an SMTP server received; `refuse` makes it answer 451 (try later)."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []
        self.refuse = False

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.rcpt_tos]


@dataclass
class SmtpServer:
    port: int
    box: Mailbox
    server: asyncio.Server | None = None

    async def start(self) -> SmtpServer:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self.box, hostname="localhost"), "127.0.0.1", self.port
        )
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port."""
    srv = await SmtpServer(free_port(), Mailbox()).start()
    yield srv
    await srv.stop()


# -- the SMS webhook ------------------------------------------------------------


@dataclass
class Hook:
    """A tiny HTTP/1.1 server recording JSON POSTs; answers `statuses` in turn, then 200."""

    port: int
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                headers: dict[str, str] = {}
                while (raw := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = raw.decode().partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self.statuses.pop(0) if self.statuses else 200
                self.requests.append((headers, json.loads(body)))
                answer = b'{"ok": true}' if status == 200 else b'{"error": "provider down"}'
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    def bodies(self) -> list[dict[str, Any]]:
        return [body for _, body in self.requests]


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    h = Hook(free_port())
    h.server = await asyncio.start_server(h._serve, "127.0.0.1", h.port)
    yield h
    h.server.close()
    await h.server.wait_closed()


# -- tocsin with delivery configured ------------------------------------------------

SMS_AUTH = "Bearer sms-secret"


def delivery_env(smtp: SmtpServer, hook: Hook, **extra: str) -> dict[str, str]:
    env = {
        "TOCSIN_SMTP_HOST": "127.0.0.1",
        "TOCSIN_SMTP_PORT": str(smtp.port),
        "TOCSIN_SMTP_FROM": "Shop notifications <notify@shop.example>",
        "TOCSIN_SMTP_TIMEOUT_SECONDS": "3",
        "TOCSIN_SMS_PROVIDER": "webhook",
        "TOCSIN_SMS_WEBHOOK_URL": hook.url,
        "TOCSIN_SMS_WEBHOOK_AUTH": SMS_AUTH,
        "TOCSIN_SMS_TIMEOUT_SECONDS": "3",
        "TOCSIN_DELIVERY_BACKOFF_SECONDS": "0.2",
        "TOCSIN_DELIVERY_POLL_SECONDS": "0.1",
        "TOCSIN_DELIVERY_LEASE_SECONDS": "5",
        "TOCSIN_PUBLIC_URL": "https://shop.example",
        "TOCSIN_RELAY_INTERVAL_SECONDS": "0.2",
    }
    env.update(extra)
    return env


# One VAPID key pair for the tests that send Web Push.
VAPID_PUBLIC, VAPID_PRIVATE = generate_keys()


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    """A local push service that decrypts what it receives."""
    service = await PushService(free_port()).start()
    yield service
    await service.stop()


def push_delivery_env(
    smtp: SmtpServer, hook: Hook, push_service: PushService, *, grace: float, **extra: str
) -> dict[str, str]:
    """`delivery_env` with Web Push sent to `push_service`, `grace` seconds after a notification."""
    return delivery_env(
        smtp,
        hook,
        TOCSIN_VAPID_PUBLIC_KEY=VAPID_PUBLIC,
        TOCSIN_VAPID_PRIVATE_KEY=VAPID_PRIVATE,
        TOCSIN_VAPID_SUBJECT="mailto:ops@shop.example",
        TOCSIN_PUSH_GRACE_SECONDS=str(grace),
        TOCSIN_PUSH_ALLOW_HOSTS=f"127.0.0.1:{push_service.port}",
        TOCSIN_PUSH_TIMEOUT_SECONDS="3",
        **extra,
    )


@pytest.fixture
def delivering(make_server: ServerFactory, smtp: SmtpServer, hook: Hook) -> Server:
    """A tocsin of the current backend that mails through `smtp` and texts through `hook`."""
    return make_server(delivery_env(smtp, hook))


class Api:
    """Publisher and vendor calls against one server, for tests that start their own."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.publisher = httpx.AsyncClient(
            base_url=base_url, headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10
        )
        self._vendors: dict[str, httpx.AsyncClient] = {}

    def vendor(self, vendor_id: str) -> httpx.AsyncClient:
        """A client authenticated as `vendor_id` (one per vendor, closed with the `Api`)."""
        if vendor_id not in self._vendors:
            token = mint_token(self.base_url, vendor_id)
            self._vendors[vendor_id] = httpx.AsyncClient(
                base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
        return self._vendors[vendor_id]

    async def event(self, type: str, data: dict[str, Any], id: str | None = None) -> httpx.Response:
        body = {
            "id": id or uuid.uuid4().hex,
            "type": type,
            "occurred_at": "2024-05-01T12:00:00Z",
            "data": data,
        }
        return await self.publisher.post("/api/v1/events", json=body)

    async def contact(
        self, vendor_id: str, email: str | None = None, phone: str | None = None
    ) -> None:
        r = await self.publisher.put(
            f"/api/v1/vendors/{vendor_id}/contact", json={"email": email, "phone": phone}
        )
        assert r.status_code == 200, r.text

    async def deliveries(self, vendor_id: str) -> list[dict[str, Any]]:
        r = await self.publisher.get(f"/api/v1/vendors/{vendor_id}/deliveries")
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    async def aclose(self) -> None:
        await self.publisher.aclose()
        for client in self._vendors.values():
            await client.aclose()


@pytest.fixture
async def api(server: Server) -> AsyncIterator[Api]:
    a = Api(server.url)
    yield a
    await a.aclose()


@pytest.fixture
def vendor2() -> str:
    return f"v-{uuid.uuid4().hex[:12]}"


def order(
    order_id: str, *lines: tuple[str, str, int, str], customer: str = "Ada Lovelace"
) -> dict[str, Any]:
    """`order.created` data; each line is `(vendor, sku, quantity, unit price)`."""
    return {
        "order_id": order_id,
        "currency": "EUR",
        "customer": {"name": customer},
        "items": [
            {"vendor_id": v, "sku": sku, "name": f"Item {sku}", "quantity": q, "unit_price": p}
            for v, sku, q, p in lines
        ],
    }
