"""The ``/reports`` page's date-range picker: days in the agent's time zone become the report's window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from router.bounds import EARLIEST_MOMENT, LATEST_MOMENT
from router.errors import Invalid
from router.reports import render
from router.reports import service as reports
from router.reports.queries import Filters
from router.security_headers import CONTENT_SECURITY_POLICY

#: The UI's policy (this site's scripts only), but pygal's charts style themselves with inline ``<style>``
#: and ``style=`` attributes, which ``style-src 'self'`` would strip.
CSP = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@dataclass(frozen=True)
class Picked:
    """What the picker shows: the window's first and last day, and its granularity."""

    first: date
    last: date
    granularity: str


def _midnight(day: date, zone: tzinfo, field: str) -> datetime:
    moment = datetime.combine(day, time(), zone)
    if not EARLIEST_MOMENT <= moment <= LATEST_MOMENT:
        raise Invalid(
            f"days are between {EARLIEST_MOMENT.date()} and {LATEST_MOMENT.date() - timedelta(days=1)}", field=field
        )
    return moment


def with_days(filters: Filters, first: date | None, last: date | None, zone: tzinfo) -> Filters:
    """``filters`` over the days ``first`` to ``last`` (both included, midnight to midnight in ``zone``); a
    day left out keeps that end of ``filters``."""
    if first is None and last is None:
        return filters
    since = _midnight(first, zone, "from") if first is not None else filters.since
    until = _midnight(last, zone, "to") + timedelta(days=1) if last is not None else filters.until
    if until > LATEST_MOMENT:
        raise Invalid(f"days are before {LATEST_MOMENT.date()}", field="to")
    if first is not None and last is not None and last < first:
        raise Invalid(f"the last day ({last}) is before the first ({first})", field="to")
    return reports.make_filters(
        since, until, customer_id=filters.customer_id, agent_id=filters.agent_id, granularity=filters.granularity
    )


def picked(filters: Filters, zone: tzinfo) -> Picked:
    return Picked(render.first_day(filters.since, zone), render.last_day(filters.until, zone), filters.granularity)
