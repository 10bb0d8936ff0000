"""`GET`/`PUT /api/v1/settings` and the contact's locale and time zone: partial updates, 422s."""

from __future__ import annotations

from typing import Any, get_args

import httpx
import pytest

from tests.events.conftest import Api
from tocsin.fields import LOCALES, Locale

DEFAULTS = {"locale": "en", "timezone": "UTC", "quiet_hours": None, "digest_hour": 8}


def test_the_locale_type_names_the_locales() -> None:
    assert get_args(Locale) == LOCALES


async def test_defaults_then_a_partial_put_changes_only_what_it_names(
    as_vendor: httpx.AsyncClient, api: Api, vendor2: str
) -> None:
    r = await as_vendor.get("/api/v1/settings")
    assert r.status_code == 200
    assert r.json() == DEFAULTS
    quiet = {"start": "22:00", "end": "07:00"}
    r = await as_vendor.put(
        "/api/v1/settings", json={"timezone": "Asia/Tbilisi", "quiet_hours": quiet}
    )
    assert r.status_code == 200, r.text
    expected = {**DEFAULTS, "timezone": "Asia/Tbilisi", "quiet_hours": quiet}
    assert r.json() == expected
    r = await as_vendor.put("/api/v1/settings", json={"locale": "ka", "digest_hour": 0})
    expected.update(locale="ka", digest_hour=0)
    assert r.json() == expected
    assert (await as_vendor.get("/api/v1/settings")).json() == expected
    r = await as_vendor.put("/api/v1/settings", json={"quiet_hours": None})
    assert r.json() == {**expected, "quiet_hours": None}
    assert (await api.vendor(vendor2).get("/api/v1/settings")).json() == DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"locale": "fr"}, "locale"),
        ({"locale": None}, "locale"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"quiet_hours": {"start": "22:00", "end": "7:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours"),
        ({"quiet_hours": {"start": "22:00"}}, "quiet_hours.end"),
        ({"quiet_hours": "22:00-07:00"}, "quiet_hours"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -1}, "digest_hour"),
        ({"digest_hour": "8"}, "digest_hour"),
        ({"digest_hour": True}, "digest_hour"),
        ({"dark_mode": True}, "dark_mode"),
    ],
)
async def test_invalid_settings_are_422_naming_the_field_and_change_nothing(
    as_vendor: httpx.AsyncClient, body: dict[str, Any], field: str
) -> None:
    r = await as_vendor.put("/api/v1/settings", json={"locale": "ka", **body})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in r.json()["errors"]}, r.json()
    assert (await as_vendor.get("/api/v1/settings")).json() == DEFAULTS


async def test_settings_are_the_vendors_own(api: Api, vendor: str) -> None:
    assert (await api.publisher.get("/api/v1/settings")).status_code == 403
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        assert (await anonymous.get("/api/v1/settings")).status_code == 401


async def test_the_contact_sets_locale_and_timezone_and_reads_back(
    api: Api, as_vendor: httpx.AsyncClient, vendor: str
) -> None:
    url = f"/api/v1/vendors/{vendor}/contact"
    r = await api.publisher.get(url)
    assert r.status_code == 200
    assert r.json() == {
        "vendor_id": vendor,
        "email": None,
        "phone": None,
        "locale": "en",
        "timezone": "UTC",
    }
    r = await api.publisher.put(
        url, json={"email": "shop@example.com", "locale": "ka", "timezone": "Asia/Tbilisi"}
    )
    assert r.status_code == 200, r.text
    contact = {
        "vendor_id": vendor,
        "email": "shop@example.com",
        "phone": None,
        "locale": "ka",
        "timezone": "Asia/Tbilisi",
    }
    assert r.json() == contact
    assert (await api.publisher.get(url)).json() == contact
    settings = (await as_vendor.get("/api/v1/settings")).json()
    assert (settings["locale"], settings["timezone"]) == ("ka", "Asia/Tbilisi")
    # Absent: unchanged; null: back to the default.
    r = await api.publisher.put(url, json={"phone": "+995555123456", "timezone": None})
    assert r.json() == {**contact, "email": None, "phone": "+995555123456", "timezone": "UTC"}
    r = await api.publisher.put(url, json={"timezone": "Nowhere/Town"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "timezone"
    assert (await as_vendor.get(url)).status_code == 403
