"""Business time on calendars: weekends, holidays, DST days of 23 and 25 hours, 24x7."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.business_time import ALWAYS_OPEN, add_business_seconds, business_seconds_between
from rules.calendar import BusinessCalendar

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
NINE_TO_FIVE = ((time(9), time(17)),)
WEEKDAYS = (NINE_TO_FIVE,) * 5 + ((), ())
OFFICE_BERLIN = BusinessCalendar("Europe/Berlin", WEEKDAYS, "DE", "BE", frozenset({date(2026, 12, 24)}))
OFFICE_NY = BusinessCalendar("America/New_York", WEEKDAYS, "US", "NY")
#: Open all day every day, but in a DST zone with holidays: the day walk (not the 24x7 shortcut) runs.
ALL_DAY_BERLIN = BusinessCalendar("Europe/Berlin", (((time(0), None),),) * 7, "DE", "BE")
HOUR = 3600


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)  # type: ignore[misc]


def test_friday_afternoon_target_runs_over_the_weekend() -> None:
    start = local(BERLIN, 2026, 11, 20, 15, 0)  # Friday 15:00
    due = add_business_seconds(OFFICE_BERLIN, start, 4 * HOUR)
    assert due == local(BERLIN, 2026, 11, 23, 11, 0)  # Monday 11:00: 2 h on Friday, 2 h on Monday
    assert business_seconds_between(OFFICE_BERLIN, start, due) == 4 * HOUR


def test_holidays_and_custom_closed_days_do_not_count() -> None:
    # 2026-12-24 (custom), 25 and 26 (public, 26th is a Saturday) are closed; 23rd is a Wednesday.
    start = local(BERLIN, 2026, 12, 23, 16, 0)
    due = add_business_seconds(OFFICE_BERLIN, start, 2 * HOUR)
    assert due == local(BERLIN, 2026, 12, 28, 10, 0)
    # Good Friday and Easter Monday in Berlin
    assert business_seconds_between(OFFICE_BERLIN, local(BERLIN, 2026, 4, 2, 17), local(BERLIN, 2026, 4, 7, 9)) == 0


def test_a_start_outside_hours_begins_at_the_next_opening() -> None:
    start = local(NEW_YORK, 2026, 7, 3, 8, 0)  # Independence Day observed (Friday)
    assert add_business_seconds(OFFICE_NY, start, 60) == local(NEW_YORK, 2026, 7, 6, 9, 1)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (BERLIN, date(2026, 3, 29), 23),
        (BERLIN, date(2026, 10, 25), 25),
        (NEW_YORK, date(2026, 3, 8), 23),
        (NEW_YORK, date(2026, 11, 1), 25),
        (BERLIN, date(2026, 6, 1), 24),
    ],
)
def test_dst_days_have_23_or_25_hours(zone: ZoneInfo, day: date, hours: int) -> None:
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    around_the_clock = BusinessCalendar(str(zone), (((time(0), None),),) * 7)
    # A closed day far away turns off the 24x7 shortcut: the per-day walk must agree.
    walked = BusinessCalendar(str(zone), around_the_clock.weekly, extra_closed=frozenset({date(2000, 1, 1)}))
    for cal in (around_the_clock, walked):
        assert business_seconds_between(cal, start, end) == hours * HOUR
        assert add_business_seconds(cal, start, hours * HOUR) == end


@pytest.mark.parametrize(("cal", "zone"), [(OFFICE_BERLIN, BERLIN), (OFFICE_NY, NEW_YORK)])
def test_office_hours_on_the_monday_after_a_dst_change_keep_local_time(cal: BusinessCalendar, zone: ZoneInfo) -> None:
    """9-17 local stays 8 h whatever the UTC offset did over the weekend."""
    monday = {BERLIN: date(2026, 3, 30), NEW_YORK: date(2026, 3, 9)}[zone]
    friday = monday - timedelta(days=3)
    start = datetime.combine(friday, time(13), tzinfo=zone)
    due = add_business_seconds(cal, start, 8 * HOUR)
    assert due == datetime.combine(monday, time(13), tzinfo=zone)


def test_24x7_is_elapsed_time() -> None:
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert add_business_seconds(ALWAYS_OPEN, start, 90) == start + timedelta(seconds=90)
    assert business_seconds_between(ALWAYS_OPEN, start, start + timedelta(days=2)) == 2 * 86400


def test_a_calendar_that_never_opens_is_an_error() -> None:
    closed = BusinessCalendar("UTC", ((),) * 7)
    with pytest.raises(ValueError, match="no business hours"):
        add_business_seconds(closed, datetime(2026, 1, 1, tzinfo=UTC), 1)


moments = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)
calendars = st.sampled_from([OFFICE_BERLIN, OFFICE_NY, ALL_DAY_BERLIN])


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.integers(min_value=1, max_value=200 * HOUR))
def test_adding_then_measuring_gives_back_the_target(cal: BusinessCalendar, start: datetime, seconds: int) -> None:
    due = add_business_seconds(cal, start, seconds)
    assert due > start
    assert business_seconds_between(cal, start, due) == seconds
    # The due time is the first such instant: a second earlier, less business time has passed.
    assert business_seconds_between(cal, start, due - timedelta(seconds=1)) < seconds


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.integers(0, 30 * 86400), st.integers(0, 30 * 86400))
def test_business_time_adds_up_across_intervals(cal: BusinessCalendar, a: datetime, d1: int, d2: int) -> None:
    b, c = a + timedelta(seconds=d1), a + timedelta(seconds=d1 + d2)
    ab, bc = business_seconds_between(cal, a, b), business_seconds_between(cal, b, c)
    assert ab + bc == business_seconds_between(cal, a, c)
    assert 0 <= ab <= d1
