"""Business time over a ``BusinessCalendar``: how much of it lies between two instants, and when a target ends.

Each local day's opening intervals are turned into UTC instants with ``zoneinfo``, so a 23-hour or 25-hour
day (DST) counts exactly the hours it really has; holidays are closed days. A 24x7 calendar is plain
elapsed time and skips the day walk.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from rules.calendar import BusinessCalendar

#: Open around the clock, every day, no holidays: business time is elapsed time.
ALWAYS_OPEN = BusinessCalendar("UTC", tuple(((time(0), None),) for _ in range(7)))
#: A target that needs more days than this without an opening is a calendar mistake, not a due time.
MAX_DAYS = 3 * 366


def is_always_open(calendar: BusinessCalendar) -> bool:
    """Open 00:00-24:00 every day with no holidays (24x7), whatever the time zone."""
    whole_day = ((time(0), None),)
    return calendar.country is None and not calendar.extra_closed and all(d == whole_day for d in calendar.weekly)


def _local_instant(day: date, moment: time | None, zone: ZoneInfo) -> datetime:
    """``day`` at local ``moment`` (``None`` = the following midnight) as a UTC instant."""
    if moment is None:
        return _local_instant(day + timedelta(days=1), time(0), zone)
    # fold=0: a wall time a spring-forward gap skips lands after the gap; a repeated one at its first pass.
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


@lru_cache(maxsize=4096)
def open_intervals(calendar: BusinessCalendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC ``(start, end)`` intervals in which ``calendar`` is open on local date ``day``."""
    if calendar.is_holiday(day):
        return ()
    zone = ZoneInfo(calendar.timezone)
    out = []
    for start, end in calendar.weekly[day.weekday()]:
        a, b = _local_instant(day, start, zone), _local_instant(day, end, zone)
        if b > a:
            out.append((a, b))
    return tuple(out)


def _local_date(calendar: BusinessCalendar, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(calendar.timezone)).date()


def add_business_seconds(calendar: BusinessCalendar, start: datetime, seconds: float) -> datetime:
    """The instant at which ``seconds`` of business time have passed since ``start`` (UTC, aware).

    ``seconds`` ≤ 0 returns ``start`` itself. Raises ``ValueError`` if the calendar is closed for
    ``MAX_DAYS`` days in a row.
    """
    start = start.astimezone(UTC)
    if seconds <= 0:
        return start
    if is_always_open(calendar):
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    day = _local_date(calendar, start) - timedelta(days=1)  # a local day's hours may begin before ``start``'s date
    for _ in range(MAX_DAYS + 2):
        for a, b in open_intervals(calendar, day):
            begin = max(a, start)
            if begin >= b:
                continue
            if b - begin >= remaining:
                return begin + remaining
            remaining -= b - begin
        day += timedelta(days=1)
    raise ValueError(f"calendar {calendar.timezone} has no business hours within {MAX_DAYS} days")


def business_seconds_between(calendar: BusinessCalendar, a: datetime, b: datetime) -> float:
    """Business seconds from ``a`` to ``b``; 0 when ``b`` is not after ``a``."""
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    if b <= a:
        return 0.0
    if is_always_open(calendar):
        return (b - a).total_seconds()
    total = timedelta()
    day, last = _local_date(calendar, a) - timedelta(days=1), _local_date(calendar, b)
    while day <= last:
        for start, end in open_intervals(calendar, day):
            lo, hi = max(start, a), min(end, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total.total_seconds()
