"""A vendor's language and clock, end to end: its email, its notification and its dashboard."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from tests._server import Server
from tests.conftest import mint_token
from tests.events.conftest import Api, SmtpServer, order, wait_until

NBSP = "\xa0"


async def test_a_georgian_vendors_email_is_in_georgian_with_lari_on_its_clock(
    delivering: Server, smtp: SmtpServer, vendor: str, vendor2: str
) -> None:
    georgian, english = sorted([vendor, vendor2])
    api = Api(delivering.url)
    try:
        r = await api.publisher.put(
            f"/api/v1/vendors/{georgian}/contact",
            json={"email": "ka@vendor.example", "locale": "ka", "timezone": "Asia/Tbilisi"},
        )
        assert r.status_code == 200, r.text
        await api.contact(english, email="en@vendor.example")
        data = order("G-1", (georgian, "S1", 3, "2.50"), (english, "S2", 1, "1234.5"))
        data["currency"] = "GEL"
        r = await api.event("order.created", data)  # occurred at 2024-05-01T12:00:00Z
        assert r.status_code == 202, r.text
        [ka] = await wait_until(lambda: smtp.box.to("ka@vendor.example"), what="the ka mail")
        [en] = await wait_until(lambda: smtp.box.to("en@vendor.example"), what="the en mail")
        notice = (await api.vendor(georgian).get("/api/v1/notifications")).json()["items"][0]
    finally:
        await api.aclose()
    assert ka.message["Subject"] == "ახალი შეკვეთა #G-1: 3 ნივთი, 7,50 ₾"
    text, html = ka.part("plain"), ka.part("html")
    assert f"- 3 \u00d7 Item S1 (S1), ფასი 2,50{NBSP}₾" in text
    assert f"ჯამი: 7,50{NBSP}₾" in text
    assert "გახსნა: https://shop.example/orders/G-1" in text
    assert '<html lang="ka">' in html
    # 12:00 UTC is 16:00 in Tbilisi.
    assert "შეკვეთის დრო: 1 მაი. 2024, 16:00:00." in html
    assert notice["title"] == "ახალი შეკვეთა #G-1: 3 ნივთი, 7,50 ₾"
    # The other vendor of the same order reads English, in UTC.
    assert en.message["Subject"] == "New order #G-1: 1 item, GEL 1,234.50"
    assert "ordered on May 1, 2024, 12:00:00\u202fPM:" in en.part("html")


async def test_the_dashboard_speaks_the_vendors_language_on_its_clock(
    server: Server, vendor: str
) -> None:
    api = Api(server.url)
    try:
        as_vendor = api.vendor(vendor)
        english = await as_vendor.get("/dashboard")
        r = await as_vendor.put(
            "/api/v1/settings", json={"locale": "ka", "timezone": "Asia/Tbilisi"}
        )
        assert r.status_code == 200, r.text
        before = datetime.now(ZoneInfo("Asia/Tbilisi"))
        page = await as_vendor.get("/dashboard")
        after = datetime.now(ZoneInfo("Asia/Tbilisi"))
        prefs = await as_vendor.get("/dashboard/preferences")
    finally:
        await api.aclose()
    assert english.status_code == 200
    assert '<html lang="en">' in english.text
    assert ">Preferences</a>" in english.text
    assert page.status_code == 200
    html = page.text
    assert '<html lang="ka">' in html
    assert ">პარამეტრები</a>" in html
    assert f"<h1>გამარჯობა, {vendor}</h1>" in html
    assert 'data-timezone="Asia/Tbilisi"' in html
    assert 'data-locale="ka"' in html
    # The words the script shows come translated, as JSON in an attribute.
    assert "&#34;state.live&#34;: &#34;\\u10ea\\u10dd" in html
    clock = re.search(r"თქვენი დრო: \S+ (\d\d:\d\d) \(Asia/Tbilisi\)", html)
    assert clock is not None, html
    assert clock.group(1) in {before.strftime("%H:%M"), after.strftime("%H:%M")}
    assert '<option value="ka" lang="ka" selected>ქართული</option>' in prefs.text
    assert '<option value="Asia/Tbilisi" selected>' in prefs.text


def test_the_sign_in_page_speaks_the_language_of_the_vendor_it_signs_in(
    server: Server, vendor: str
) -> None:
    token = mint_token(server.url, vendor)
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.put(f"{server.url}/api/v1/settings", json={"locale": "ka"}, headers=auth)
    assert r.status_code == 200, r.text
    page = httpx.get(f"{server.url}/dashboard/login", params={"token": token})
    assert page.status_code == 200
    assert "გაგრძელება" in page.text
