"""Web Push pieces without a server: the SSRF guard, the message, the request, the keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests._push import Browser, Received, unb64, vapid_claims
from tocsin.delivery import Delivery, SendError, _endpoints, push
from tocsin.settings import Settings

from .test_channels import rendered


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, dotenv=tmp_path / "no.env")


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://fcm.googleapis.com/fcm/send/x",
        "https://127.0.0.1/x",
        "https://10.0.0.1/x",
        "https://172.16.5.4/x",
        "https://192.168.1.1/x",
        "https://169.254.169.254/x",
        "https://100.64.1.1/x",
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",
        "https://[::1]/x",
        "https://[fc00::1]/x",
        "https://[fe80::1]/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://localhost/x",
        "https://a:b@8.8.8.8/x",
        "https://8.8.8.8:99999/x",
        "javascript:alert(1)",
        "https:///x",
        "https://xn--bcher-kva.example\u00e4/x",
        "https://8.8.8.8/" + "x" * 2100,
    ],
)
async def test_the_guard_refuses(endpoint: str) -> None:
    with pytest.raises(_endpoints.Refused):
        await _endpoints.resolve(endpoint, ())


async def test_a_public_address_is_pinned_with_the_name_kept() -> None:
    target = await _endpoints.resolve("https://8.8.8.8/push/abc?x=1", ())
    assert target == _endpoints.Target(
        "https://8.8.8.8:443/push/abc?x=1", "8.8.8.8", "https://8.8.8.8", pinned=True
    )
    v6 = await _endpoints.resolve("https://[2001:4860:4860::8888]:8443/p", ())
    assert v6.url == "https://[2001:4860:4860::8888]:8443/p"
    assert v6.origin == "https://[2001:4860:4860::8888]:8443"


async def test_allowed_hosts_admit_plain_http_by_host_or_host_and_port() -> None:
    by_host = await _endpoints.resolve("http://push.internal:9000/p", ("Push.Internal",))
    assert by_host == _endpoints.Target(
        "http://push.internal:9000/p", "push.internal", "http://push.internal:9000", pinned=False
    )
    allow = ("127.0.0.1:8080",)
    assert (await _endpoints.resolve("http://127.0.0.1:8080/p", allow)).pinned is False
    with pytest.raises(_endpoints.Refused, match="not public"):
        await _endpoints.resolve("https://127.0.0.1:8081/p", allow)
    with pytest.raises(_endpoints.Refused, match="https"):
        await _endpoints.resolve("http://127.0.0.1:8081/p", allow)
    assert (await _endpoints.resolve("http://127.0.0.1/p", ("127.0.0.1:80",))).pinned is False


async def test_a_name_that_does_not_resolve_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        await _endpoints.resolve("https://no-such-host.invalid/p", ())


def test_the_message_is_short_one_line_and_keeps_the_link() -> None:
    message = push.build(
        rendered(push_title="New\norder " + "x" * 200, push_body="a\n\nb " * 200, link="/o/1")
    )
    assert len(message.title) == push.TITLE_MAX
    assert message.title.startswith("New order x")
    assert len(message.body) == push.BODY_MAX
    assert "\n" not in message.body
    assert message.to_json()["link"] == "/o/1"


def _delivery(browser: Browser, endpoint: str, priority: str) -> Delivery:
    sub = browser.subscription(endpoint)
    message = {"title": "T", "body": "B", "link": "/orders/7", "priority": priority}
    return Delivery(
        1,
        "evt:e:v:push:3",
        "v",
        "order_created",
        "push",
        "3",
        {**message, "endpoint": endpoint, **sub["keys"]},
        1,
        notification_id="01J0000000000000000000000",
    )


@pytest.mark.parametrize(
    ("priority", "urgency", "ttl"),
    [("low", "very-low", 21600), ("normal", "normal", 86400), ("urgent", "high", 86400)],
)
async def test_a_request_is_signed_encrypted_and_says_how_urgent(
    tmp_path: Path, priority: str, urgency: str, ttl: int
) -> None:
    public, private = push.generate_keys()
    s = settings(
        tmp_path,
        TOCSIN_VAPID_PUBLIC_KEY=public,
        TOCSIN_VAPID_PRIVATE_KEY=private,
        TOCSIN_VAPID_SUBJECT="https://shop.example",
        TOCSIN_PUBLIC_URL="https://shop.example/",
    )
    sender = push.PushSender(s)
    browser = Browser()
    endpoint = "https://8.8.8.8/push/1"
    delivery = _delivery(browser, endpoint, priority)
    body, headers = sender.request(delivery, await _endpoints.resolve(endpoint, ()))
    received = Received("/push/1", {k.lower(): v for k, v in headers.items()}, body, 0.0)
    assert vapid_claims(received, public, "https://8.8.8.8")["sub"] == "https://shop.example"
    assert headers["Urgency"] == urgency
    assert headers["TTL"] == str(ttl)
    payload = browser.decrypt(received)
    assert payload["link"] == "https://shop.example/orders/7"
    assert payload["id"] == delivery.notification_id
    await sender.close()


async def test_unusable_keys_and_a_private_endpoint_fail_for_good(tmp_path: Path) -> None:
    public, private = push.generate_keys()
    s = settings(tmp_path, TOCSIN_VAPID_PUBLIC_KEY=public, TOCSIN_VAPID_PRIVATE_KEY=private)
    sender = push.PushSender(s)
    delivery = _delivery(Browser(), "https://10.0.0.1/push/1", "normal")
    with pytest.raises(SendError) as refused:
        await sender.send(delivery)
    assert refused.value.permanent
    assert "not public" in str(refused.value)
    await sender.close()


def test_vapid_keys_prints_a_pair_for_a_dotenv_file() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tocsin.cli", "vapid-keys"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert [line.split("=", 1)[0] for line in lines] == [
        "TOCSIN_VAPID_PUBLIC_KEY",
        "TOCSIN_VAPID_PRIVATE_KEY",
    ]
    public, private = (line.split("=", 1)[1] for line in lines)
    assert len(unb64(public)) == 65
    assert unb64(public)[0] == 4
    assert len(unb64(private)) == 32
