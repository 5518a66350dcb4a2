"""Agents' shifts are SLA calendars (``rules/sla.yaml``): an agent with a shift calendar is only offered work
while that calendar is open (its weekly hours, minus its holidays)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from router.sla.policies import policies_of
from rules.business_time import ALWAYS_OPEN
from rules.calendar import BusinessCalendar

ALWAYS = "24x7"


def calendars(session: AsyncSession) -> dict[str, BusinessCalendar]:
    """Every calendar the SLA policies in force use, by name (``24x7`` always among them)."""
    found = {p.calendar_name: p.calendar for p in policies_of(session).policies.values()}
    return {ALWAYS: ALWAYS_OPEN, **found}


def on_shift(known: dict[str, BusinessCalendar], calendar_name: str | None, now: datetime) -> bool:
    """No calendar: always on shift. A calendar no longer in the SLA file: on shift (nobody is locked out by
    an edit of that file; ``tierroute agents list`` shows the name)."""
    if not calendar_name:
        return True
    calendar = known.get(calendar_name)
    return calendar is None or calendar.is_open(now)
