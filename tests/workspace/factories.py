"""Tickets made to measure for the list, search and view tests: requester, customer, tier, priority, tags,
age, assignee, SLA state, each set through the ticket service (or, for age and SLA state, the columns the
clock would have written by then)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from queues.runtime import Runtime
from router.customers import service as customers
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.sla import SlaClock
from router.models.tickets import Ticket
from router.tickets import service as tickets
from router.unit_of_work import commit
from rules import Decision


@dataclass(frozen=True)
class Made:
    id: int
    ref: str


async def customer(runtime: Runtime, ref: str, name: str, tier: int) -> Customer:
    async with runtime.app.sessionmaker() as s:
        found = await customers.create_customer(s, external_ref=ref, name=name, tier=tier)
        await commit(s, runtime.app.effects)
        return found


async def ticket(
    runtime: Runtime,
    *,
    subject: str = "A question",
    body: str = "Some details.",
    requester: str = "pat@customer.example",
    owner: Customer | None = None,
    tier: int = 1,
    priority: str = "normal",
    tags: tuple[str, ...] = (),
    age: timedelta | None = None,
    assignee: Agent | None = None,
    sla_state: str | None = None,
) -> Made:
    async with runtime.app.sessionmaker() as s:
        opened = await tickets.open_ticket(
            s,
            subject=subject,
            body=body,
            requester_email=requester,
            customer_id=owner.id if owner is not None else None,
            customer_tier=owner.value_tier if owner is not None else 3,
            priority_hint=None,
            channel="api",
            source="test",
            external_id=None,
            actor=tickets.Actor.system(),
            context=tickets.TicketContext(tags=tags),
        )
        decision = Decision(support_tier=tier, priority=priority, tags=(), matched=(), rulebook_version="test")
        await tickets.apply_routing(s, opened, decision)
        if assignee is not None:
            await tickets.claim(s, opened, assignee)
        await commit(s, runtime.app.effects)
        assert opened.id is not None and opened.ref is not None
        made = Made(opened.id, opened.ref)
    async with runtime.app.sessionmaker() as s:
        if age is not None:
            await s.exec(update(Ticket).where(col(Ticket.id) == made.id).values(created_at=utcnow() - age))  # type: ignore[call-overload]
        if sla_state is not None:
            await s.exec(update(SlaClock).where(col(SlaClock.ticket_id) == made.id).values(state=sla_state))  # type: ignore[call-overload]
        await s.commit()
    return made
