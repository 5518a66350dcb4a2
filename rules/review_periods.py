"""Review periods (a month, quarter, half-year or year) and the monthly metric periods (``YYYY-MM``) they read.

A review in a period scores the metrics of the months before it starts: a quarterly review of 2026Q4 reads
the twelve months up to 2026-09, whether it runs on 1 October or on 20 November, so every run in one period
sees the same figures (and a repeated run proposes the same tiers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

Cadence = Literal["monthly", "quarterly", "half-yearly", "yearly"]
CADENCES: tuple[Cadence, ...] = get_args(Cadence)
MONTHS_PER_PERIOD: dict[Cadence, int] = {"monthly": 1, "quarterly": 3, "half-yearly": 6, "yearly": 12}
_LABELS: dict[Cadence, tuple[re.Pattern[str], str]] = {
    "monthly": (re.compile(r"^(\d{4})-(\d{2})$"), "2026-11"),
    "quarterly": (re.compile(r"^(\d{4})[Qq]([1-4])$"), "2026Q4"),
    "half-yearly": (re.compile(r"^(\d{4})[Hh]([12])$"), "2026H2"),
    "yearly": (re.compile(r"^(\d{4})$"), "2026"),
}


def month_of(day: date) -> str:
    """The metric period holding ``day``: ``YYYY-MM``."""
    return f"{day.year:04d}-{day.month:02d}"


def add_months(period: str, months: int) -> str:
    """The metric period ``months`` after ``period`` (before it when negative)."""
    year, month = int(period[:4]), int(period[5:7])
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def window(last: str, months: int) -> tuple[str, str]:
    """The first and last metric period of ``months`` periods ending with ``last`` (both included)."""
    return add_months(last, -(months - 1)), last


def first_day(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


@dataclass(frozen=True, order=True)
class ReviewPeriod:
    """One review period; ``start`` is its first day."""

    start: date
    cadence: Cadence

    @property
    def months(self) -> int:
        return MONTHS_PER_PERIOD[self.cadence]

    @property
    def end(self) -> date:
        """The first day after the period."""
        return first_day(add_months(month_of(self.start), self.months))

    @property
    def label(self) -> str:
        if self.cadence == "monthly":
            return month_of(self.start)
        if self.cadence == "quarterly":
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.cadence == "half-yearly":
            return f"{self.start.year}H{(self.start.month - 1) // 6 + 1}"
        return str(self.start.year)

    @property
    def last_metric_period(self) -> str:
        """The last month a review in this period reads: the month before it starts."""
        return add_months(month_of(self.start), -1)

    def previous(self) -> ReviewPeriod:
        return ReviewPeriod(first_day(add_months(month_of(self.start), -self.months)), self.cadence)

    def __str__(self) -> str:
        return self.label


def period_of(day: date, cadence: Cadence) -> ReviewPeriod:
    """The review period of ``cadence`` that holds ``day``."""
    months = MONTHS_PER_PERIOD[cadence]
    month = (day.month - 1) // months * months + 1
    return ReviewPeriod(date(day.year, month, 1), cadence)


def parse_period(text: str, cadence: Cadence) -> ReviewPeriod:
    """A period label as a person types it (``2026Q4`` for quarterly); ``ValueError`` says what was expected."""
    pattern, example = _LABELS[cadence]
    found = pattern.match(text.strip())
    if found is None:
        raise ValueError(f"a {cadence} review period is written like {example}, got {text!r}")
    year = int(found.group(1))
    if not 1 <= year <= 9998:
        raise ValueError(f"year {year} is out of range")
    part = int(found.group(2)) if cadence != "yearly" else 1
    if cadence == "monthly" and not 1 <= part <= 12:
        raise ValueError(f"month {part:02d} is not a month, in {text!r}")
    return ReviewPeriod(date(year, (part - 1) * MONTHS_PER_PERIOD[cadence] + 1, 1), cadence)
