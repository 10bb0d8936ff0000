"""Quiet hours and digest periods on the vendor's clock: midnight, DST gaps and repeats."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.delivery.clock import hold, period_end, quiet_until
from tocsin.model import VendorSettings


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


def local(zone: str, *args: int, fold: int = 0) -> int:
    return int(datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).timestamp() * 1000)


BERLIN = "Europe/Berlin"


def quiet(start: str, end: str, zone: str = BERLIN) -> VendorSettings:
    return VendorSettings(timezone=zone, quiet_hours=(start, end))


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (local(BERLIN, 2024, 6, 1, 23, 0), local(BERLIN, 2024, 6, 2, 7, 0)),
        (local(BERLIN, 2024, 6, 1, 22, 0), local(BERLIN, 2024, 6, 2, 7, 0)),
        (local(BERLIN, 2024, 6, 2, 0, 0), local(BERLIN, 2024, 6, 2, 7, 0)),
        (local(BERLIN, 2024, 6, 2, 6, 59), local(BERLIN, 2024, 6, 2, 7, 0)),
        (local(BERLIN, 2024, 6, 2, 7, 0), None),
        (local(BERLIN, 2024, 6, 1, 21, 59), None),
        (local(BERLIN, 2024, 6, 1, 12, 0), None),
    ],
)
def test_quiet_hours_spanning_midnight(at: int, expected: int | None) -> None:
    assert quiet_until(at, quiet("22:00", "07:00")) == expected


def test_quiet_hours_within_a_day_and_in_the_vendors_zone() -> None:
    lunch = quiet("13:00", "14:00", "Asia/Tbilisi")  # UTC+4
    assert quiet_until(utc(2024, 6, 1, 9, 30), lunch) == utc(2024, 6, 1, 10, 0)
    assert quiet_until(utc(2024, 6, 1, 10, 0), lunch) is None
    assert quiet_until(utc(2024, 6, 1, 8, 59), lunch) is None
    assert quiet_until(utc(2024, 6, 1, 9, 30), VendorSettings(timezone="Asia/Tbilisi")) is None


def test_an_end_skipped_by_the_spring_forward_gap_is_reached_at_the_gap_end() -> None:
    # Berlin, 31 March 2024: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 never shows.
    s = quiet("22:00", "02:30")
    assert quiet_until(local(BERLIN, 2024, 3, 30, 23, 0), s) == utc(2024, 3, 31, 1, 0)


def test_quiet_hours_across_the_spring_gap_are_an_hour_shorter() -> None:
    s = quiet("01:00", "06:00")
    at = local(BERLIN, 2024, 3, 31, 1, 30)  # 00:30 UTC, CET
    end = quiet_until(at, s)
    assert end == utc(2024, 3, 31, 4, 0)  # 06:00 CEST
    assert end - local(BERLIN, 2024, 3, 31, 1, 0) == 4 * 3600_000


def test_quiet_hours_across_the_fall_back_are_an_hour_longer() -> None:
    # Berlin, 27 October 2024: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:00-03:00 twice.
    s = quiet("01:00", "06:00")
    assert quiet_until(local(BERLIN, 2024, 10, 27, 1, 30), s) == utc(2024, 10, 27, 5, 0)
    assert utc(2024, 10, 27, 5, 0) - local(BERLIN, 2024, 10, 27, 1, 0) == 6 * 3600_000


def test_an_end_in_the_repeated_hour_is_its_first_showing_or_the_next_after_now() -> None:
    s = quiet("22:00", "02:30")
    first = local(BERLIN, 2024, 10, 27, 2, 30, fold=0)  # 00:30 UTC, CEST
    second = local(BERLIN, 2024, 10, 27, 2, 30, fold=1)  # 01:30 UTC, CET
    assert (first, second) == (utc(2024, 10, 27, 0, 30), utc(2024, 10, 27, 1, 30))
    assert quiet_until(local(BERLIN, 2024, 10, 26, 23, 0), s) == first
    # 02:15 CET (the hour again) is inside once more, and ends at the second 02:30.
    assert quiet_until(local(BERLIN, 2024, 10, 27, 2, 15, fold=1), s) == second


def test_urgent_never_waits() -> None:
    at = local(BERLIN, 2024, 6, 1, 23, 0)
    s = quiet("22:00", "07:00")
    assert hold(at, s, "urgent") is None
    assert hold(at, s, "high") == local(BERLIN, 2024, 6, 2, 7, 0)


def test_hourly_periods_end_on_the_vendors_full_hour() -> None:
    india = VendorSettings(timezone="Asia/Kolkata")  # UTC+5:30
    assert period_end(utc(2024, 6, 1, 5, 0), "hourly", india) == utc(2024, 6, 1, 5, 30)
    assert period_end(utc(2024, 6, 1, 5, 30), "hourly", india) == utc(2024, 6, 1, 6, 30)
    berlin = VendorSettings(timezone=BERLIN)
    assert period_end(local(BERLIN, 2024, 6, 1, 10, 20), "hourly", berlin) == local(
        BERLIN, 2024, 6, 1, 11, 0
    )
    # The repeated hour: both showings of 02:xx belong to the period ending at 03:00 CET.
    for at in (local(BERLIN, 2024, 10, 27, 2, 30), local(BERLIN, 2024, 10, 27, 2, 10, fold=1)):
        assert period_end(at, "hourly", berlin) == utc(2024, 10, 27, 2, 0)


def test_daily_periods_end_at_the_digest_hour() -> None:
    s = VendorSettings(timezone="America/New_York", digest_hour=8)
    assert period_end(local(s.timezone, 2024, 6, 1, 7, 59), "daily", s) == local(
        s.timezone, 2024, 6, 1, 8, 0
    )
    assert period_end(local(s.timezone, 2024, 6, 1, 8, 0), "daily", s) == local(
        s.timezone, 2024, 6, 2, 8, 0
    )
    # Across the spring change (10 March 2024): still 08:00 on the vendor's clock.
    assert period_end(local(s.timezone, 2024, 3, 9, 20, 0), "daily", s) == utc(2024, 3, 10, 12, 0)
    with pytest.raises(ValueError, match="digest mode"):
        period_end(0, "weekly", s)


ZONES = ["UTC", BERLIN, "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "Europe/London"]
clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30]))


@settings(max_examples=300, deadline=None)
@given(
    at=st.integers(utc(2024, 1, 1), utc(2025, 1, 1)),
    zone=st.sampled_from(ZONES),
    start=clock,
    end=clock,
)
def test_quiet_until_ends_after_now_outside_the_window_and_within_a_day(
    at: int, zone: str, start: str, end: str
) -> None:
    if start == end:
        return
    s = quiet(start, end, zone)
    until = quiet_until(at, s)
    wall = datetime.fromtimestamp(at / 1000, ZoneInfo(zone)).strftime("%H:%M")
    inside = start <= wall < end if start < end else (wall >= start or wall < end)
    assert (until is not None) == inside
    if until is None:
        return
    assert at < until <= at + 25 * 3600_000
    assert quiet_until(until, s) is None, "the window is over at its end"
    assert quiet_until(until - 1000, s) is not None, "and not a second before"
    halfway = at + (until - at) // 2
    assert quiet_until(halfway, s) == until


@settings(max_examples=200, deadline=None)
@given(
    at=st.integers(utc(2024, 1, 1), utc(2025, 1, 1)),
    zone=st.sampled_from(ZONES),
    mode=st.sampled_from(["hourly", "daily"]),
    hour=st.integers(0, 23),
)
def test_a_period_holds_every_instant_up_to_its_end(
    at: int, zone: str, mode: str, hour: int
) -> None:
    s = VendorSettings(timezone=zone, digest_hour=hour)
    end = period_end(at, mode, s)
    assert at < end <= at + 25 * 3600_000
    assert period_end(end - 1, mode, s) == end
    assert period_end((at + end) // 2, mode, s) == end
    assert period_end(end, mode, s) > end
