"""A vendor's language and clock: the locales tocsin speaks, and Babel's formats for them.

Notification templates (`tocsin.marketplace.templating`) and the dashboard
(`tocsin.http._html`) format money, numbers and times through these functions,
so an amount reads the same in an email and on a page. The dashboard's own
words are gettext catalogs in `tocsin/locale/<locale>/LC_MESSAGES/messages.mo`,
compiled from the `.po` next to them (`scripts/i18n`).

English money keeps the ISO code before the amount (`EUR 1,234.50`): a
marketplace's English-speaking vendors sell in many currencies, and `$` alone
does not say whose dollar. Other locales use their own pattern (`1 234,50 ₾`).
"""

from __future__ import annotations

import functools
import gettext
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, format_decimal

DEFAULT_LOCALE = "en"
DEFAULT_TIMEZONE = "UTC"
# Every locale tocsin ships templates and a catalog for; each named in its own language.
LOCALES: dict[str, str] = {"en": "English", "ka": "ქართული"}
# Babel's pattern per locale where its standard currency format is not what we want.
_MONEY_PATTERNS = {"en": "¤¤ #,##0.00"}

CATALOGS = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"


def locale_or_default(name: str | None) -> str:
    """`name` if tocsin speaks it, else English: a message is never lost to a bad setting."""
    return name if name in LOCALES else DEFAULT_LOCALE


@functools.cache
def zone(name: str | None) -> ZoneInfo:
    """The IANA zone `name`, or UTC when it is unknown."""
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def is_timezone(name: str) -> bool:
    """Whether `name` is an IANA zone this machine knows (`Asia/Tbilisi`, `UTC`)."""
    return name in _timezones()


@functools.cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezones() -> list[str]:
    """Every IANA zone name, sorted (for a picker)."""
    return sorted(_timezones())


def _decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def money(amount: object, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """`amount` of `currency` as `locale` writes it; at least the currency's usual
    decimals, more only if the amount has them (`GEL 24.5` → `24,50 ₾` in `ka`)."""
    locale = locale_or_default(locale)
    return format_currency(
        _decimal(amount),
        currency,
        format=_MONEY_PATTERNS.get(locale),
        locale=locale,
        decimal_quantization=False,
    )


def number(value: object, locale: str = DEFAULT_LOCALE) -> str:
    """A number with `locale`'s separators, every given decimal kept."""
    return format_decimal(
        _decimal(value), locale=locale_or_default(locale), decimal_quantization=False
    )


def _moment(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def when(
    value: datetime | str,
    locale: str = DEFAULT_LOCALE,
    timezone: str = DEFAULT_TIMEZONE,
    format: str = "medium",
) -> str:
    """A moment (aware, naive = UTC, or RFC 3339 text) as `locale` writes it, in `timezone`."""
    return format_datetime(
        _moment(value), format, tzinfo=zone(timezone), locale=locale_or_default(locale)
    )


def day(
    value: datetime | str,
    locale: str = DEFAULT_LOCALE,
    timezone: str = DEFAULT_TIMEZONE,
    format: str = "medium",
) -> str:
    """The date of a moment in `timezone`, as `locale` writes it."""
    local = _moment(value).astimezone(zone(timezone))
    return format_date(local.date(), format, locale=locale_or_default(locale))


def clock(
    value: datetime | str,
    locale: str = DEFAULT_LOCALE,
    timezone: str = DEFAULT_TIMEZONE,
    format: str = "short",
) -> str:
    """The time of day of a moment in `timezone`, as `locale` writes it."""
    return format_time(
        _moment(value), format, tzinfo=zone(timezone), locale=locale_or_default(locale)
    )


@functools.cache
def clock_format(locale: str) -> dict[str, object]:
    """What a script needs to write a moment as `when(..., format="medium")` and `day` do:
    CLDR patterns (medium date, short time) and month and day-period names.

    Browsers differ in the locales their `Intl` knows (some builds lack Georgian);
    the script takes only the wall-clock numbers in the vendor's zone from
    `Intl.DateTimeFormat` and writes them with these.
    """
    data = Locale.parse(locale_or_default(locale))
    periods = data.day_periods["format"]["abbreviated"]
    return {
        "datetime": str(data.datetime_formats["medium"]),
        "date": data.date_formats["medium"].pattern,
        "time": data.time_formats["short"].pattern,
        "months": [data.months["format"]["abbreviated"][m] for m in range(1, 13)],
        "am": periods["am"],
        "pm": periods["pm"],
    }


def language_tag(locale: str) -> str:
    """The BCP 47 tag for `lang` attributes and `Intl` (`ka`, `en`)."""
    return str(Locale.parse(locale_or_default(locale))).replace("_", "-")


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """The dashboard's catalog for `locale`; English is the source language (no catalog)."""
    locale = locale_or_default(locale)
    if locale == DEFAULT_LOCALE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, CATALOGS, languages=[locale])
