"""The vendor's clock: quiet hours and digest periods, in its time zone (zoneinfo).

Pure functions of an instant (ms since the epoch) and the vendor's settings.
Wall-clock times are resolved the way a person reading a clock would: a time
that a spring-forward gap skips is reached at the gap's end (the first moment
the clock shows a later time), and a time that a fall-back hour repeats is
reached at its first occurrence (or the second, where the first lies before
the instant asked about).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.model import VendorSettings

_SECOND = 1000


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _local(at_ms: int, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(at_ms / 1000, UTC).astimezone(zone)


def _wall(at_ms: int, zone: ZoneInfo) -> datetime:
    """The naive wall-clock time at `at_ms`."""
    return _local(at_ms, zone).replace(tzinfo=None)


def reached(day: date, clock: time, zone: ZoneInfo, after_ms: int | None = None) -> int:
    """The first instant (ms) at which the clock in `zone` shows `clock` on `day`, or
    later on it; with `after_ms`, the first such instant after it (a repeated hour)."""
    wall = datetime.combine(day, clock)
    candidates = []
    for fold in (0, 1):
        aware = wall.replace(tzinfo=zone, fold=fold)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
            candidates.append(_ms(aware))
    if not candidates:
        # Skipped by a gap: the gap's end. fold=1 maps before it, fold=0 after it.
        lo = _ms(wall.replace(tzinfo=zone, fold=1))
        hi = _ms(wall.replace(tzinfo=zone, fold=0))
        while hi - lo > _SECOND:
            mid = (lo + hi) // 2
            if _wall(mid, zone) >= wall:
                hi = mid
            else:
                lo = mid
        candidates.append(hi)
    candidates.sort()
    if after_ms is not None:
        later = [c for c in candidates if c > after_ms]
        if later:
            return later[0]
    return candidates[0]


def _inside(now: time, start: time, end: time) -> bool:
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_until(at_ms: int, settings: VendorSettings) -> int | None:
    """The end of the vendor's quiet hours (ms) if `at_ms` lies inside them, else None.

    The window is `[start, end)` in the vendor's wall-clock time; `start` after
    `end` spans midnight.
    """
    if settings.quiet_hours is None:
        return None
    start, end = (_clock(v) for v in settings.quiet_hours)
    zone = ZoneInfo(settings.timezone)
    wall = _wall(at_ms, zone)
    if not _inside(wall.time(), start, end):
        return None
    day = wall.date()
    if start > end and wall.time() >= start:
        day += timedelta(days=1)
    return reached(day, end, zone, after_ms=at_ms)


def hold(due_ms: int, settings: VendorSettings, priority: str | None) -> int | None:
    """When a delivery due at `due_ms` must wait for instead (the end of quiet hours),
    or None if it may leave then; `urgent` never waits."""
    if priority == "urgent":
        return None
    return quiet_until(due_ms, settings)


def period_end(at_ms: int, mode: str, settings: VendorSettings) -> int:
    """The end (ms) of the digest period `at_ms` falls in: the next full hour of the
    vendor's clock (`hourly`) or its next `digest_hour` (`daily`); always after `at_ms`."""
    zone = ZoneInfo(settings.timezone)
    wall = _wall(at_ms, zone)
    if mode == "hourly":
        nxt = wall.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        end = reached(nxt.date(), nxt.time(), zone, after_ms=at_ms)
    elif mode == "daily":
        clock = time(settings.digest_hour)
        day = wall.date() if wall.time() < clock else wall.date() + timedelta(days=1)
        end = reached(day, clock, zone, after_ms=at_ms)
    else:
        raise ValueError(f"not a digest mode: {mode!r}")
    if end <= at_ms:  # a repeated hour: the same wall time comes again later
        return period_end(at_ms + 3600 * _SECOND, mode, settings)
    return end
