"""A ticket's neighbours: the requester's and the customer's other tickets, open first, within what the
viewing agent may see (the ticket list's visibility: their tiers and unrouted tickets; leads everything)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, case
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.tickets import OPEN_STATUSES, Ticket
from router.tickets.actors import Actor
from router.tickets.listing import visible as visible_to

#: Rows shown per list; the total says how many more there are.
SHOWN = 10


@dataclass(frozen=True)
class Neighbours:
    tickets: list[Ticket]
    #: Visible tickets in the list, shown or not.
    total: int


@dataclass(frozen=True)
class TicketHistory:
    #: Other tickets from the same address.
    requester: Neighbours
    #: Other tickets of the ticket's customer from other people (None: no customer).
    customer: Neighbours | None


async def _neighbours(session: AsyncSession, where: list[ColumnElement[bool]], limit: int) -> Neighbours:
    total = (await session.exec(select(func.count()).select_from(Ticket).where(*where))).one()
    is_open = case((col(Ticket.status).in_([str(s) for s in OPEN_STATUSES]), 0), else_=1)
    rows = await session.exec(
        select(Ticket)
        .where(*where)
        .order_by(is_open, col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    return Neighbours(list(rows.all()), total)


async def for_ticket(session: AsyncSession, ticket: Ticket, actor: Actor, limit: int = SHOWN) -> TicketHistory:
    """Open tickets first, then the newest; never a ticket of a tier the agent does not work."""
    others = [col(Ticket.id) != ticket.id, *visible_to(actor)]
    requester = await _neighbours(session, [*others, col(Ticket.requester_email) == ticket.requester_email], limit)
    customer = None
    if ticket.customer_id is not None:
        customer = await _neighbours(
            session,
            [
                *others,
                col(Ticket.customer_id) == ticket.customer_id,
                col(Ticket.requester_email) != ticket.requester_email,
            ],
            limit,
        )
    return TicketHistory(requester, customer)
