"""The publisher's Python client: `Client` (blocking) and `AsyncClient`, over httpx.

    from tocsin.client import Client

    tocsin = Client("https://tocsin.example.com", api_key="…")
    tocsin.send_event("order.created", {...}, id=f"order-{order.pk}-created")

Events are idempotent by `id`: give each real-world event a stable id and a
retry (by this client, a task queue or a person) can never notify twice. The
client retries connection failures and 502/503/504 answers itself, for the
calls that are safe to repeat. Any other failure raises `ClientError` with
the server's problem `detail` and field `errors`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_DELAY = 0.5  # seconds, doubled on each retry


class ClientError(Exception):
    """A request tocsin refused or could not answer; `status` is None if it was never reached."""

    def __init__(
        self, detail: str, *, status: int | None = None, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(f"{status} {detail}" if status else detail)
        self.detail = detail
        self.status = status
        self.errors = errors or []


@dataclass(frozen=True, slots=True)
class EventResult:
    event_id: str
    notifications: list[str] = field(default_factory=list)
    duplicate: bool = False  # the event id was seen before: nothing new happened


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    body: dict[str, Any]
    safe: bool  # may be sent again after a failure that left its fate unknown


def _event(
    type: str, data: dict[str, Any], id: str | None, occurred_at: datetime | str | None
) -> _Call:
    if isinstance(occurred_at, datetime):
        occurred_at = occurred_at.isoformat()
    body = {
        "id": id or uuid.uuid4().hex,
        "type": type,
        "occurred_at": occurred_at or datetime.now(UTC).isoformat(),
        "data": data,
    }
    return _Call("POST", "/api/v1/events", body, safe=True)


def _notification(vendor_id: str, body: dict[str, Any]) -> _Call:
    fields = {k: v for k, v in body.items() if v is not None}
    return _Call(
        "POST",
        f"/api/v1/vendors/{vendor_id}/notifications",
        fields,
        safe=fields.get("dedupe_key") is not None,
    )


def _token(vendor_id: str, ttl: int) -> _Call:
    return _Call("POST", "/api/v1/tokens", {"vendor_id": vendor_id, "ttl": ttl}, safe=True)


def _contact(vendor_id: str, email: str | None, phone: str | None) -> _Call:
    body = {"email": email, "phone": phone}
    return _Call("PUT", f"/api/v1/vendors/{vendor_id}/contact", body, safe=True)


def _should_retry(call: _Call, exc: Exception | None, status: int | None) -> bool:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return True  # never reached the server
    if exc is not None:
        return call.safe and isinstance(exc, httpx.TransportError)
    return call.safe and status in RETRY_STATUSES


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    if not isinstance(problem, dict):
        problem = {}
    detail = problem.get("detail") or response.reason_phrase or "request failed"
    raise ClientError(str(detail), status=response.status_code, errors=problem.get("errors"))


def _event_result(response: httpx.Response) -> EventResult:
    body = _answer(response)
    return EventResult(
        body["event_id"], list(body["notifications"]), duplicate=response.status_code == 200
    )


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": "tocsin-client"}


class Client:
    """Blocking publisher client; use it as a context manager or call `close()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    def _send(self, call: _Call) -> httpx.Response:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._http.request(call.method, call.path, json=call.body)
            except httpx.TransportError as exc:
                if last or not _should_retry(call, exc, None):
                    raise ClientError(f"tocsin unreachable: {exc}") from exc
            else:
                if last or not _should_retry(call, None, response.status_code):
                    return response
            time.sleep(RETRY_DELAY * 2**attempt)
        raise AssertionError("unreachable")

    def send_event(
        self,
        type: str,
        data: dict[str, Any],
        *,
        id: str | None = None,
        occurred_at: datetime | str | None = None,
    ) -> EventResult:
        """Post a marketplace event; `id` defaults to a random one (prefer a stable id)."""
        return _event_result(self._send(_event(type, data, id, occurred_at)))

    def create_notification(
        self,
        vendor_id: str,
        type: str,
        title: str,
        body: str = "",
        *,
        data: dict[str, Any] | None = None,
        priority: str = "normal",
        link: str | None = None,
        dedupe_key: str | None = None,
    ) -> dict[str, Any]:
        """Create one notification directly; the stored notification as JSON."""
        fields = {
            "type": type,
            "title": title,
            "body": body,
            "data": data,
            "priority": priority,
            "link": link,
            "dedupe_key": dedupe_key,
        }
        result: dict[str, Any] = _answer(self._send(_notification(vendor_id, fields)))
        return result

    def mint_token(self, vendor_id: str, ttl: int = 3600) -> str:
        """A vendor token for the dashboard or `EventSource` (valid `ttl` seconds)."""
        return str(_answer(self._send(_token(vendor_id, ttl)))["token"])

    def set_contact(
        self, vendor_id: str, *, email: str | None = None, phone: str | None = None
    ) -> dict[str, Any]:
        """Set the vendor's email address and phone (E.164) for email and SMS delivery."""
        result: dict[str, Any] = _answer(self._send(_contact(vendor_id, email, phone)))
        return result

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient:
    """The same calls as `Client`, awaitable; use `async with` or `await aclose()`."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: int = 2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.retries = retries
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    async def _send(self, call: _Call) -> httpx.Response:
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = await self._http.request(call.method, call.path, json=call.body)
            except httpx.TransportError as exc:
                if last or not _should_retry(call, exc, None):
                    raise ClientError(f"tocsin unreachable: {exc}") from exc
            else:
                if last or not _should_retry(call, None, response.status_code):
                    return response
            await asyncio.sleep(RETRY_DELAY * 2**attempt)
        raise AssertionError("unreachable")

    async def send_event(
        self,
        type: str,
        data: dict[str, Any],
        *,
        id: str | None = None,
        occurred_at: datetime | str | None = None,
    ) -> EventResult:
        return _event_result(await self._send(_event(type, data, id, occurred_at)))

    async def create_notification(
        self,
        vendor_id: str,
        type: str,
        title: str,
        body: str = "",
        *,
        data: dict[str, Any] | None = None,
        priority: str = "normal",
        link: str | None = None,
        dedupe_key: str | None = None,
    ) -> dict[str, Any]:
        fields = {
            "type": type,
            "title": title,
            "body": body,
            "data": data,
            "priority": priority,
            "link": link,
            "dedupe_key": dedupe_key,
        }
        result: dict[str, Any] = _answer(await self._send(_notification(vendor_id, fields)))
        return result

    async def mint_token(self, vendor_id: str, ttl: int = 3600) -> str:
        return str(_answer(await self._send(_token(vendor_id, ttl)))["token"])

    async def set_contact(
        self, vendor_id: str, *, email: str | None = None, phone: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = _answer(await self._send(_contact(vendor_id, email, phone)))
        return result

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
