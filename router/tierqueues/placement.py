"""A ticket's place in its tier's queue, recorded during the transaction and applied to Redis after commit.

The ticket service calls these whenever a change puts a ticket in a queue, moves it within one (a raised
priority) or takes it out; ``ordering`` says where in the queue it goes.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from router.effects import PlaceInQueue, RemoveFromQueue, after_commit
from router.models.tickets import Status, Ticket
from router.tierqueues.ordering import created_ms, queue_score


def place(session: AsyncSession, ticket: Ticket) -> None:
    """Put a queued ticket in its tier's queue, or move it to where its priority now puts it."""
    if ticket.status != Status.queued or ticket.support_tier is None:
        return
    assert ticket.id is not None
    score = queue_score(ticket.priority, ticket.customer_tier, ticket.created_at)
    after_commit(session, PlaceInQueue(ticket.support_tier, ticket.id, score, created_ms(ticket.created_at)))


def remove(session: AsyncSession, ticket: Ticket) -> None:
    """Take a queued ticket out of its tier's queue (call before the change that moves or claims it)."""
    if ticket.status != Status.queued or ticket.support_tier is None:
        return
    assert ticket.id is not None
    after_commit(session, RemoveFromQueue(ticket.support_tier, ticket.id))
