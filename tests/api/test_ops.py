"""Operations endpoints and the OpenAPI document."""

from __future__ import annotations

import re

import httpx
from openapi_spec_validator import validate

from tests.api.conftest import create
from tocsin.marketplace import registry


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


async def test_openapi_states_what_the_api_enforces(anonymous: httpx.AsyncClient) -> None:
    """415 wherever a body goes; the event types, preference keys, link pattern, bulk's
    "ids xor all", the ttl range and the deliveries' query: as the handlers check them."""
    doc = (await anonymous.get("/openapi.json")).json()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            if isinstance(op, dict) and "requestBody" in op:
                assert {"413", "415", "422"} <= set(op["responses"]), (method, path)
    schemas = doc["components"]["schemas"]
    assert schemas["Envelope"]["properties"]["type"]["enum"] == list(registry.EVENTS)
    patch = schemas["PreferencesPatch"]
    assert set(patch["properties"]) == set(registry.NOTIFICATION_TYPES)
    assert patch["additionalProperties"] is False
    put = doc["paths"]["/api/v1/preferences"]["put"]["responses"]["200"]
    assert put["content"]["application/json"]["schema"]["$ref"].endswith("/Preferences")
    link = schemas["NotificationIn"]["properties"]["link"]["anyOf"][0]
    pattern = re.compile(link["pattern"])
    assert pattern.search("/orders/7")
    assert pattern.search("https://shop.example/o/7")
    assert not pattern.search("//evil.example")
    assert not pattern.search("javascript:alert(1)")
    bulk = schemas["BulkIn"]["oneOf"]
    assert [set(alt["required"]) for alt in bulk] == [{"ids"}, {"all"}]
    ttl = schemas["TokenIn"]["properties"]["ttl"]
    assert (ttl["minimum"], ttl["maximum"]) == (60, 30 * 86400)
    deliveries = doc["paths"]["/api/v1/deliveries"]["get"]["parameters"]
    assert {p["name"] for p in deliveries} == {"limit", "cursor", "status", "channel"}
