"""Babel's formats in a vendor's locale and clock (`tocsin.i18n`)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tocsin import fields, i18n

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "text"),
    [
        ("49", "GEL", "ka", f"49,00{NBSP}₾"),
        (Decimal("1234.5"), "GEL", "ka", f"1{NBSP}234,50{NBSP}₾"),
        ("1234.5", "EUR", "en", "EUR 1,234.50"),
        ("0.125", "USD", "en", "USD 0.125"),  # more decimals only if the amount has them
        ("10", "GEL", "en", "GEL 10.00"),
        ("10", "GEL", "xx", "GEL 10.00"),  # an unknown locale writes English
    ],
)
def test_money(amount: object, currency: str, locale: str, text: str) -> None:
    assert i18n.money(amount, currency, locale) == text


def test_money_refuses_what_is_not_a_number() -> None:
    with pytest.raises(ValueError, match="not a number"):
        i18n.money("ten", "GEL", "ka")


def test_number() -> None:
    assert i18n.number(1500, "ka") == f"1{NBSP}500"
    assert i18n.number("1500.25", "en") == "1,500.25"


def test_times_are_shown_in_the_vendors_timezone() -> None:
    moment = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    # 21:30 UTC is 01:30 the next day in Tbilisi (UTC+4, no daylight saving).
    assert i18n.when(moment, "ka", "Asia/Tbilisi") == "26 ნოე. 2026, 01:30:00"
    assert i18n.when("2026-11-25T21:30:00Z", "en", "America/New_York", "short") == (
        "11/25/26, 4:30\u202fPM"
    )
    assert i18n.day(moment, "en", "Asia/Tbilisi") == "Nov 26, 2026"
    assert i18n.clock(moment, "ka", "Asia/Tbilisi") == "01:30"
    # A naive moment is UTC; an unknown zone is UTC.
    assert i18n.clock(datetime(2026, 1, 1, 9, 5), "en", "No/Where") == "9:05\u202fAM"


def test_locales_and_zones() -> None:
    # The settings accept exactly the locales tocsin ships templates and catalogs for.
    assert tuple(i18n.LOCALES) == fields.LOCALES
    assert i18n.locale_or_default("ka") == "ka"
    assert i18n.locale_or_default(None) == "en"
    assert i18n.is_timezone("Asia/Tbilisi")
    assert not i18n.is_timezone("Asia/Nowhere")
    assert "Asia/Tbilisi" in i18n.timezones()
    assert i18n.language_tag("ka") == "ka"


def test_the_georgian_catalog_translates_and_english_is_the_source() -> None:
    assert i18n.translations("ka").gettext("Preferences") == "პარამეტრები"
    assert i18n.translations("en").gettext("Preferences") == "Preferences"


def test_the_scripts_clock_format_is_babels() -> None:
    ka = i18n.clock_format("ka")
    assert (ka["datetime"], ka["date"], ka["time"]) == ("{1}, {0}", "d MMM. y", "HH:mm")
    assert ka["months"] == [
        "იან",
        "თებ",
        "მარ",
        "აპრ",
        "მაი",
        "ივნ",
        "ივლ",
        "აგვ",
        "სექ",
        "ოქტ",
        "ნოე",
        "დეკ",
    ]
    en = i18n.clock_format("en")
    assert (en["date"], en["time"], en["am"], en["pm"]) == ("MMM d, y", "h:mm\u202fa", "AM", "PM")
