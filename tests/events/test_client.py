"""`tocsin.client` (sync and async) and `tocsin send-event`, against a live tocsin."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import httpx
import pytest

from tests._server import API_KEY, Server
from tocsin import AsyncClient, Client, ClientError


def test_the_sync_client_sends_events_and_notifications(server: Server, vendor: str) -> None:
    with Client(server.url, API_KEY) as client:
        data = {"order_id": "1", "vendor_id": vendor, "amount": "3", "currency": "EUR"}
        event_id = f"order-1-paid-{uuid.uuid4().hex}"
        first = client.send_event("payment.received", data, id=event_id)
        again = client.send_event("payment.received", data, id=event_id)
        assert first.event_id == event_id
        assert len(first.notifications) == 1
        assert not first.duplicate
        assert again.duplicate
        assert again.notifications == first.notifications

        made = client.create_notification(vendor, "note", "Hello", "there", dedupe_key="n-1")
        assert made["title"] == "Hello"
        contact = client.set_contact(vendor, email="shop@example.com", phone="+4915112345678")
        assert contact["email"] == "shop@example.com"
        token = client.mint_token(vendor, ttl=600)

        with pytest.raises(ClientError) as refused:
            client.send_event("payment.received", {"vendor_id": vendor})
        assert refused.value.status == 422
        assert {e["field"] for e in refused.value.errors} >= {"data.order_id", "data.amount"}

    r = httpx.get(
        server.url + "/api/v1/notifications", headers={"Authorization": f"Bearer {token}"}
    )
    assert {n["id"] for n in r.json()["items"]} == {made["id"], *first.notifications}


async def test_the_async_client_does_the_same(server: Server, vendor: str) -> None:
    async with AsyncClient(server.url, API_KEY) as client:
        result = await client.send_event(
            "stock.low", {"vendor_id": vendor, "sku": "S", "name": "Mug", "quantity": 1}
        )
        assert len(result.notifications) == 1
        made = await client.create_notification(vendor, "note", "Hi", priority="high")
        assert made["priority"] == "high"
        assert (await client.set_contact(vendor, email="a@b.example"))["phone"] is None
        assert await client.mint_token(vendor)
        with pytest.raises(ClientError) as wrong:
            await client.send_event("stock.teleported", {})
        assert wrong.value.status == 422


def test_a_wrong_key_is_a_client_error(server: Server) -> None:
    with Client(server.url, "not-a-key") as client, pytest.raises(ClientError) as refused:
        client.mint_token("v-1")
    assert refused.value.status == 401


def test_an_unreachable_server_is_a_client_error_after_retries() -> None:
    with Client("http://127.0.0.1:9", API_KEY, retries=1) as client, pytest.raises(ClientError):
        client.send_event("stock.low", {})


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin.cli", "send-event", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_send_event_on_the_command_line(server: Server, vendor: str) -> None:
    data = json.dumps({"order_id": "1", "vendor_id": vendor, "status": "shipped"})
    common = ("--url", server.url, "--api-key", API_KEY, "--id", f"cli-{vendor}")
    done = _cli("order.status_changed", data, *common)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["event_id"] == f"cli-{vendor}"
    assert len(answer["notifications"]) == 1
    assert answer["duplicate"] is False
    assert json.loads(_cli("order.status_changed", data, *common).stdout)["duplicate"] is True

    bad = _cli(
        "order.status_changed",
        json.dumps({"vendor_id": vendor}),
        "--url",
        server.url,
        "--api-key",
        API_KEY,
    )
    assert bad.returncode == 1
    assert "data.order_id" in bad.stderr
