"""Where the web UI gets SLA figures: the one place the SLA engine plugs in.

The SLA engine is being built on another branch (it adds an ``sla`` object to tickets and a query for
tickets near breach). Until it is merged these return nothing, so ``templates/web/_sla.html`` shows
nothing: the UI never invents deadlines. At merge, fill in these two functions from the engine; every
page (my queues, queue, ticket) already passes their results to the partial.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from router.tickets.models import Ticket


def ticket_sla(ticket: Ticket) -> Any | None:
    """The ticket's SLA clocks for ``_sla.html`` (None: no SLA engine yet)."""
    return None


async def near_breach(session: AsyncSession, tiers: list[int]) -> dict[int, int]:
    """Open tickets near SLA breach, counted per tier (empty: no SLA engine yet)."""
    return {}
