"""SMS through a provider: a generic HTTP webhook, or the log (for development).

The webhook gets `POST <url>` with `{"to", "text", "id", "vendor_id", "type"}`,
the configured `Authorization` header and `Idempotency-Key: <id>` (the same on
every attempt of one message). 2xx is success; 408, 429 and 5xx are retried;
any other status is a permanent failure. The text is the templates' `sms`
block on one line, at most `SMS_MAX` characters.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

import httpx
from pydantic import AfterValidator

from tocsin.delivery import Delivery, Rendered, Sender, SendError, one_line
from tocsin.fields import Line
from tocsin.settings import Settings

log = logging.getLogger(__name__)

BLOCKS = ("sms",)
SMS_MAX = 1600  # ten concatenated SMS segments
RETRYABLE = frozenset({408, 425, 429})
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")


def _phone(value: str) -> str:
    if not _PHONE.fullmatch(value):
        raise ValueError("must be a phone number in E.164 form, e.g. +4915112345678")
    return value


# The vendor's `phone` contact detail.
Phone = Annotated[Line, AfterValidator(_phone)]


@dataclass(frozen=True, slots=True)
class Sms:
    text: str

    def to_json(self) -> dict[str, str]:
        return {"text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Sms:
        return cls(text=data["text"])


def build(rendered: Rendered) -> Sms:
    return Sms(text=one_line(rendered.blocks["sms"])[:SMS_MAX])


def idempotency_key(delivery: Delivery) -> str:
    return hashlib.sha256(delivery.key.encode()).hexdigest()[:32]


def mask(phone: str) -> str:
    return phone[:3] + "*" * max(len(phone) - 5, 0) + phone[-2:]


class LogProvider:
    """Writes each SMS to the log instead of sending it."""

    async def send(self, delivery: Delivery) -> None:
        log.info("SMS to %s: %s", mask(delivery.recipient), Sms.from_json(delivery.message).text)

    async def close(self) -> None:
        return None


class WebhookProvider:
    def __init__(self, url: str, auth: str | None, timeout: float) -> None:
        self.url = url
        headers = {"User-Agent": "tocsin"}
        if auth:
            headers["Authorization"] = auth
        self.client = httpx.AsyncClient(headers=headers, timeout=timeout)

    async def send(self, delivery: Delivery) -> None:
        key = idempotency_key(delivery)
        body = {
            "to": delivery.recipient,
            "text": Sms.from_json(delivery.message).text,
            "id": key,
            "vendor_id": delivery.vendor_id,
            "type": delivery.type,
        }
        try:
            response = await self.client.post(self.url, json=body, headers={"Idempotency-Key": key})
        except httpx.HTTPError as exc:
            raise SendError(f"SMS webhook unreachable: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return
        status = response.status_code
        detail = response.text[:200].strip()
        permanent = status < 500 and status not in RETRYABLE
        raise SendError(f"SMS webhook answered {status}: {detail}", permanent=permanent)

    async def close(self) -> None:
        await self.client.aclose()


def provider(settings: Settings) -> Sender:
    """The SMS provider `TOCSIN_SMS_PROVIDER` names."""
    if settings.sms_provider == "webhook":
        return WebhookProvider(
            settings.sms_webhook_url,
            settings.sms_webhook_auth or None,
            settings.sms_timeout_seconds,
        )
    return LogProvider()
