"""Email over SMTP (aiosmtplib): a `multipart/alternative` message, text and HTML.

The templates' `email_subject` and `email_text` blocks and the `<type>.html`
part become a `Mail`; without `TOCSIN_SMTP_HOST` no email is queued at all.

The `Message-ID` is derived from the delivery's key, so a resend after a crash
carries the same id and mail clients can tell it is the same message.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Annotated

import aiosmtplib
from pydantic import AfterValidator, StringConstraints

from tocsin.delivery import Delivery, Rendered, SendError, one_line
from tocsin.fields import Line
from tocsin.settings import Settings

BLOCKS = ("email_subject", "email_text")
_BLANK_LINES = re.compile(r"\n{3,}")
_ADDRESS = re.compile(r"[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+")


def _address(value: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise ValueError("must be an email address")
    return value


# The vendor's `email` contact detail.
Address = Annotated[Line, StringConstraints(max_length=320), AfterValidator(_address)]


@dataclass(frozen=True, slots=True)
class Mail:
    subject: str
    text: str
    html: str

    def to_json(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}

    @classmethod
    def from_json(cls, data: Mapping[str, str]) -> Mail:
        return cls(subject=data["subject"], text=data["text"], html=data["html"])


def build(rendered: Rendered) -> Mail:
    return Mail(
        subject=one_line(rendered.blocks["email_subject"]),
        text=_BLANK_LINES.sub("\n\n", rendered.blocks["email_text"]) + "\n",
        html=rendered.html,
    )


def configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def message_id(key: str, sender: str) -> str:
    domain = parseaddr(sender)[1].rpartition("@")[2] or "tocsin.invalid"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def build_message(settings: Settings, delivery: Delivery) -> EmailMessage:
    mail = Mail.from_json(delivery.message)
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = delivery.recipient
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id(delivery.key, settings.smtp_from)
    msg["X-Tocsin-Type"] = delivery.type
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, delivery: Delivery) -> None:
        s = self.settings
        msg = build_message(s, delivery)
        try:
            # One deadline for the whole exchange, shorter than the delivery lease.
            async with asyncio.timeout(s.smtp_timeout_seconds):
                await aiosmtplib.send(
                    msg,
                    hostname=s.smtp_host,
                    port=s.smtp_port,
                    username=s.smtp_username or None,
                    password=s.smtp_password or None,
                    use_tls=s.smtp_tls,
                    start_tls=s.smtp_starttls,
                    timeout=s.smtp_timeout_seconds,
                )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            permanent = all(r.code >= 500 for r in exc.recipients)
            raise SendError(f"recipient refused: {refused}", permanent=permanent) from None
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is a permanent refusal (RFC 5321 §4.2.1); 4xx may pass later.
            raise SendError(f"SMTP {exc.code}: {exc.message}", permanent=exc.code >= 500) from None
        except TimeoutError:
            raise SendError(f"SMTP timed out after {s.smtp_timeout_seconds:g} s") from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP failed: {type(exc).__name__}: {exc}") from None

    async def close(self) -> None:
        return None
