"""The ticket list (``GET /api/v1/tickets``): filters, who sees what, and keyset pagination.

A filter is a field of ``TicketFilters`` and one clause in ``TicketFilters.clauses``; a new filter adds
those two and its query parameter in ``router/tickets/routes.py``, nothing else. Pages run newest first by
id. The cursor names the last id of a page, so the next page is one range of the primary key, costs the
same however deep it is, and neither skips nor repeats a ticket while new ones arrive (an offset does
both); ``offset`` stays for the clients that use it.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import MAX_ROW_ID
from router.errors import Forbidden, Invalid
from router.models.tickets import Ticket
from router.tickets.actors import Actor

_CURSOR = re.compile(r"before:([1-9][0-9]{0,9})")
#: ``assignee=me``, or an agent's id.
ME = "me"


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    support_tier: int | None = None
    assignee_id: int | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status is not None:
            found.append(col(Ticket.status) == self.status)
        if self.support_tier is not None:
            found.append(col(Ticket.support_tier) == self.support_tier)
        if self.assignee_id is not None:
            found.append(col(Ticket.assignee_id) == self.assignee_id)
        return found


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int = 0
    #: Only tickets with a smaller id (from the previous page's ``next_cursor``).
    before_id: int | None = None


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    total: int
    #: Where the next page starts; None on the last page.
    next_cursor: str | None


def assignee_id_for(actor: Actor, assignee: str | None) -> int | None:
    """``me`` is the acting agent; another agent's id is for leads (an agent may name their own)."""
    if assignee is None:
        return None
    own = actor.agent.id if actor.agent is not None else None
    if assignee == ME:
        if own is None:
            raise Invalid("assignee=me needs an agent's token", field="assignee")
        return own
    agent_id = int(assignee)
    if not 1 <= agent_id <= MAX_ROW_ID:
        raise Invalid(f"assignee is 'me' or an agent id from 1 to {MAX_ROW_ID}", field="assignee")
    if agent_id != own and not actor.is_lead:
        raise Forbidden("only leads and admins may list another agent's tickets")
    return agent_id


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"before:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor from ``encode_cursor`` names; anything else is a 422, never a database error."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found = _CURSOR.fullmatch(text)
    if found is None or int(found.group(1)) > MAX_ROW_ID:
        raise Invalid("cursor is not one this API gave out (take next_cursor from the previous page)", field="cursor")
    return int(found.group(1))


def _visible(actor: Actor) -> list[ColumnElement[bool]]:
    """Agents see the tiers they work (and unrouted tickets), leads everything."""
    if actor.agent is None or actor.is_lead:
        return []
    tier = col(Ticket.support_tier)
    return [tier.in_(actor.agent.tiers) | tier.is_(None)]


async def list_page(session: AsyncSession, actor: Actor, filters: TicketFilters, page: PageRequest) -> TicketPage:
    where = [*filters.clauses(), *_visible(actor)]
    total = (await session.exec(select(func.count()).select_from(Ticket).where(*where))).one()
    query = select(Ticket).where(*where)
    if page.before_id is not None:
        query = query.where(col(Ticket.id) < page.before_id)
    rows = list(
        (await session.exec(query.order_by(col(Ticket.id).desc()).offset(page.offset).limit(page.limit + 1))).all()
    )
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    last = rows[-1].id if rows else None
    return TicketPage(rows, int(total), encode_cursor(last) if more and last is not None else None)
