"""Business hours: weekly opening intervals in a time zone, minus public holidays and custom dates.

Pure and small on purpose (business-hours libraries are unmaintained or wrong across time zones): the
``holidays`` package gives the dates, ``zoneinfo`` the local time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str
    #: Per weekday (0 = Monday) the opening intervals as local ``(start, end)`` times; end may be 24:00.
    weekly: tuple[tuple[tuple[time, time | None], ...], ...]
    country: str | None = None
    subdivision: str | None = None
    extra_closed: frozenset[date] = field(default_factory=frozenset)

    def is_holiday(self, day: date) -> bool:
        if day in self.extra_closed:
            return True
        if self.country is None:
            return False
        return day in _public_holidays(self.country, self.subdivision, day.year)

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` (timezone-aware) falls inside business hours."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.is_holiday(local.date()):
            return False
        now = local.time().replace(tzinfo=None)
        return any(start <= now and (end is None or now < end) for start, end in self.weekly[local.weekday()])


@lru_cache(maxsize=256)
def _public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """A year's public holidays, computed once (building them costs ~0.25 ms, more than a whole rule pass)."""
    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def parse_interval(text: str) -> tuple[time, time | None]:
    """``"09:00-17:30"`` → local times; ``24:00`` as an end means midnight (``None``)."""
    start_text, _, end_text = text.partition("-")
    start = time.fromisoformat(start_text.strip())
    end_text = end_text.strip()
    end = None if end_text == "24:00" else time.fromisoformat(end_text)
    if end is not None and end <= start:
        raise ValueError(f"interval {text!r} ends before it starts")
    return start, end
