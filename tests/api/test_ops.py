"""Operations endpoints and the OpenAPI document."""

from __future__ import annotations

import re

import httpx
from openapi_spec_validator import validate

from tests.api.conftest import create


async def test_healthz(anonymous: httpx.AsyncClient) -> None:
    r = await anonymous.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_readyz_checks_database_and_event_log(anonymous: httpx.AsyncClient) -> None:
    r = await anonymous.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "event_log": "ok"}}


def created_total(text: str) -> float:
    match = re.search(r"^tocsin_notifications_created_total (\S+)$", text, re.MULTILINE)
    assert match, text[:2000]
    return float(match.group(1))


async def test_metrics_count_created_notifications(
    anonymous: httpx.AsyncClient, publisher: httpx.AsyncClient, vendor: str
) -> None:
    r = await anonymous.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    before = created_total(r.text)
    await create(publisher, vendor)
    await create(publisher, vendor)
    after = created_total((await anonymous.get("/metrics")).text)
    assert after == before + 2


async def test_openapi_is_a_valid_document(anonymous: httpx.AsyncClient) -> None:
    r = await anonymous.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    validate(doc)
    assert doc["openapi"].startswith("3.")
    expected = {
        "/api/v1/tokens": {"post"},
        "/api/v1/vendors/{vendor_id}/notifications": {"post"},
        "/api/v1/notifications": {"get"},
        "/api/v1/notifications/{notification_id}": {"get", "patch", "delete"},
        "/api/v1/notifications/bulk": {"post"},
        "/api/v1/notifications/unread-count": {"get"},
    }
    for path, methods in expected.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), (path, set(doc["paths"][path]))
    listing = doc["paths"]["/api/v1/notifications"]["get"]
    params = {p["name"] for p in listing["parameters"]}
    assert {"unread", "type", "priority", "archived", "q", "since", "until", "limit", "cursor"} <= (
        params
    )
    schemas = doc["components"]["schemas"]
    assert {"NotificationIn", "Notification", "BulkIn", "Problem"} <= set(schemas)
    assert set(schemas["NotificationIn"]["required"]) == {"type", "title"}


async def test_openapi_is_public(
    anonymous: httpx.AsyncClient, publisher: httpx.AsyncClient
) -> None:
    a = await anonymous.get("/openapi.json")
    b = await publisher.get("/openapi.json")
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
