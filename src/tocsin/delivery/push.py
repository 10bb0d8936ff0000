"""Web Push: VAPID-signed (RFC 8292), `aes128gcm`-encrypted (RFC 8291) pushes to browsers.

A vendor's browsers subscribe (`POST /api/v1/push/subscriptions`, see
`tocsin.delivery.subscriptions`); ingest queues one delivery per subscription,
due `TOCSIN_PUSH_GRACE_SECONDS` after the notification, with the
subscription's endpoint and keys in its message and the subscription's id as
its recipient. The worker skips it if a live tab saw (or the vendor read) the
notification meanwhile. `pywebpush` encrypts and `py-vapid` signs; the request
itself goes through httpx to the address `tocsin.delivery._endpoints`
checked. A 404 or 410 means the subscription is gone (RFC 8030 §7.3): the
worker deletes it.

The payload is JSON for `static/tocsin-sw.js`: `{id, type, title, body, link,
priority}`.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher, WebPushException

from tocsin.delivery import Delivery, Rendered, SendError, _endpoints, one_line
from tocsin.settings import Settings

BLOCKS = ("push_title", "push_body")
TITLE_MAX = 120
BODY_MAX = 300
# The VAPID token's lifetime; RFC 8292 §2 allows at most 24 hours.
TOKEN_SECONDS = 12 * 3600
# Urgency (RFC 8030 §5.3) and TTL (s, how long the push service keeps it for an
# offline device) by priority. A day on: the dashboard has it anyway.
URGENCY: Mapping[str, tuple[str, int]] = {
    "low": ("very-low", 6 * 3600),
    "normal": ("normal", 24 * 3600),
    "high": ("high", 24 * 3600),
    "urgent": ("high", 24 * 3600),
}
RETRYABLE = frozenset({408, 425, 429})
GONE = frozenset({404, 410})
# At most this many connection pools, one per push service host (see `_client`).
MAX_CLIENTS = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_keys() -> tuple[str, str]:
    """A VAPID key pair: `(public, private)`, base64url (the raw P-256 point and scalar)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return _b64(public), _b64(private)


@dataclass(frozen=True, slots=True)
class Push:
    title: str
    body: str
    link: str

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "body": self.body, "link": self.link}


def build(rendered: Rendered) -> Push:
    return Push(
        title=one_line(rendered.blocks["push_title"])[:TITLE_MAX],
        body=one_line(rendered.blocks["push_body"])[:BODY_MAX],
        link=one_line(rendered.blocks["link"]),
    )


def configured(settings: Settings) -> bool:
    return settings.push


def payload(settings: Settings, delivery: Delivery) -> bytes:
    m = delivery.message
    link = m.get("link") or ""
    if link.startswith("/") and settings.public_url:
        link = urljoin(settings.public_url, link)
    return json.dumps(
        {
            "id": delivery.notification_id,
            "type": delivery.type,
            "title": m["title"],
            "body": m["body"],
            "link": link or None,
            "priority": m.get("priority", "normal"),
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


class PushSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key = settings.vapid_private_key
        self.vapid = Vapid02.from_string(key) if key else None
        self._clients: dict[str, httpx.AsyncClient] = {}

    async def _client(self, host: str) -> httpx.AsyncClient:
        # One pool per host: a pooled connection is keyed by the address it went
        # to, and two push services on one address must not share a TLS session.
        client = self._clients.pop(host, None)
        if client is None:
            client = httpx.AsyncClient(timeout=self.settings.push_timeout_seconds)
            if len(self._clients) >= MAX_CLIENTS:
                await self._clients.pop(next(iter(self._clients))).aclose()
        self._clients[host] = client  # the most recently used last
        return client

    def request(
        self, delivery: Delivery, target: _endpoints.Target
    ) -> tuple[bytes, dict[str, str]]:
        """The encrypted body and the headers of one push."""
        m = delivery.message
        subscription = {
            "endpoint": m["endpoint"],
            "keys": {"p256dh": m["p256dh"], "auth": m["auth"]},
        }
        try:
            body = WebPusher(subscription).encode(payload(self.settings, delivery), "aes128gcm")[
                "body"
            ]
        except (WebPushException, ValueError) as exc:
            raise SendError(f"push subscription keys are unusable: {exc}", permanent=True) from None
        assert self.vapid is not None
        claims = {
            "aud": target.origin,
            "exp": int(time.time()) + TOKEN_SECONDS,
            "sub": self.settings.vapid_subject,
        }
        urgency, ttl = URGENCY.get(m.get("priority", "normal"), URGENCY["normal"])
        headers = {
            **self.vapid.sign(claims),
            "TTL": str(ttl),
            "Urgency": urgency,
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
        }
        return bytes(body), headers

    async def send(self, delivery: Delivery) -> None:
        if self.vapid is None:
            raise SendError("Web Push is not configured (no VAPID keys)", permanent=True)
        endpoint = delivery.message["endpoint"]
        try:
            target = await _endpoints.resolve(endpoint, self.settings.push_allow_hosts)
        except _endpoints.Refused as exc:
            raise SendError(f"push endpoint refused: it {exc}", permanent=True) from None
        except LookupError as exc:
            raise SendError(f"push endpoint unreachable: {exc}") from None
        body, headers = self.request(delivery, target)
        extensions = {}
        if target.pinned:
            port = httpx.URL(endpoint).port
            headers["Host"] = target.host + (f":{port}" if port else "")
            extensions["sni_hostname"] = target.host
        try:
            client = await self._client(target.host)
            response = await client.post(
                target.url, content=body, headers=headers, extensions=extensions
            )
        except httpx.HTTPError as exc:
            raise SendError(f"push service unreachable: {type(exc).__name__}: {exc}") from None
        if response.is_success:
            return
        status = response.status_code
        detail = response.text[:200].strip()
        if status in GONE:
            raise SendError(
                f"push service answered {status}: the subscription is gone",
                permanent=True,
                gone=True,
            )
        permanent = status < 500 and status not in RETRYABLE
        raise SendError(f"push service answered {status}: {detail}", permanent=permanent)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
