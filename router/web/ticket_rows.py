"""What a row of a ticket list shows beyond the ticket: requester, customer and its value tier, assignee,
SLA state and time left — fetched for a whole page at once (three queries, whatever its length)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.tickets import Ticket
from router.web import sla


@dataclass(frozen=True)
class RowDetails:
    customer_name: str | None
    #: The customer's value tier now (the ticket keeps the one it had at intake).
    customer_tier: int | None
    assignee_name: str | None
    sla: Any | None
    age_seconds: float


async def details(session: AsyncSession, tickets: Sequence[Ticket]) -> dict[int, RowDetails]:
    customer_ids = {t.customer_id for t in tickets if t.customer_id is not None}
    agent_ids = {t.assignee_id for t in tickets if t.assignee_id is not None}
    customers: dict[int, tuple[str, int]] = {}
    if customer_ids:
        rows = await session.exec(
            select(Customer.id, Customer.name, Customer.value_tier).where(col(Customer.id).in_(customer_ids))
        )
        customers = {i: (name, tier) for i, name, tier in rows.all() if i is not None}
    names: dict[int, str] = {}
    if agent_ids:
        agents = await session.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(agent_ids)))
        names = {i: name for i, name in agents.all() if i is not None}
    slas = await sla.ticket_slas(session, tickets)
    now = utcnow()
    out: dict[int, RowDetails] = {}
    for t in tickets:
        if t.id is None:
            continue
        customer = customers.get(t.customer_id) if t.customer_id is not None else None
        out[t.id] = RowDetails(
            customer_name=customer[0] if customer else None,
            customer_tier=customer[1] if customer else None,
            assignee_name=names.get(t.assignee_id) if t.assignee_id is not None else None,
            sla=slas.get(t.id),
            age_seconds=(now - t.created_at).total_seconds(),
        )
    return out
