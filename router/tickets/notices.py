"""Who hears about a ticket change: the agent holding it (assigned to them, the requester wrote, an SLA
warning or breach). Called by the ticket service inside the change's transaction, so the notice commits
with the change or not at all; ``router.notifications`` stores it, mails it and sends it live."""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.agents import Agent
from router.models.notifications import NotificationKind
from router.models.tickets import Ticket
from router.notifications import service as notifications
from router.tickets.actors import Actor


def _payload(ticket: Ticket, text: str, **extra: Any) -> dict[str, Any]:
    return {"ref": ticket.ref, "subject": ticket.subject, "support_tier": ticket.support_tier, "text": text, **extra}


async def _holder(session: AsyncSession, ticket: Ticket) -> Agent | None:
    return await session.get(Agent, ticket.assignee_id) if ticket.assignee_id is not None else None


async def assigned(session: AsyncSession, ticket: Ticket, agent: Agent, actor: Actor) -> None:
    """Someone else gave ``agent`` the ticket (taking it yourself needs no notice)."""
    if actor.agent is not None and actor.agent.id == agent.id:
        return
    by = actor.agent.name if actor.agent is not None else actor.name
    payload = _payload(ticket, f"{ticket.ref} was assigned to you by {by}", by=by)
    await notifications.notify(session, [agent], kind=NotificationKind.assigned, ticket=ticket, payload=payload)


async def requester_replied(session: AsyncSession, ticket: Ticket, author: str) -> None:
    """The requester wrote into a ticket someone holds."""
    holder = await _holder(session, ticket)
    if holder is not None:
        payload = _payload(ticket, f"{author} replied on {ticket.ref}", author=author)
        await notifications.notify(
            session, [holder], kind=NotificationKind.requester_replied, ticket=ticket, payload=payload
        )


async def sla_reached(session: AsyncSession, ticket: Ticket, clock: str, *, breached: bool) -> None:
    """An SLA clock of a held ticket warned or breached (before the breach's actions move the ticket)."""
    holder = await _holder(session, ticket)
    if holder is None:
        return
    what = "breached" if breached else "is close to breaching"
    payload = _payload(ticket, f"The {clock.replace('_', ' ')} SLA of {ticket.ref} {what}", clock=clock)
    kind = NotificationKind.my_sla_breach if breached else NotificationKind.sla_warning
    await notifications.notify(session, [holder], kind=kind, ticket=ticket, payload=payload)
