"""What the workspace pages show: a filtered ticket list with saved views, My tickets, search by ref.

A list page's query string is the API's (``TicketQuery``): links, saved views and the filter form all
speak it, so a view saved in the UI works in the API and the other way round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import MAX_ROW_ID
from router.errors import Invalid
from router.models.agents import Agent
from router.models.tickets import OPEN_STATUSES, Ticket
from router.models.workspace import SavedView
from router.tickets import listing
from router.tickets.actors import Actor
from router.tickets.filters import Sort, TicketQuery
from router.web import ticket_rows
from router.workspace import recent
from router.workspace import service as views

PAGE_SIZE = 50
#: ``T-000123`` (or ``t-123``) typed in the search box opens that ticket.
_REF = re.compile(r"\s*T-?(\d{1,10})\s*", re.IGNORECASE)
#: The query parameters a list takes as several values.
_MANY = frozenset({"status", "priority"})


def query_from(pairs: list[tuple[str, str]], model: type[TicketQuery] = TicketQuery) -> TicketQuery:
    """The list's query from a query string's pairs: empty form fields are "any"; a bad value is a 422 page."""
    data: dict[str, str] = {}
    many: dict[str, list[str]] = {}
    for key, value in pairs:
        if not value.strip() or key not in model.model_fields:
            continue
        if key in _MANY:
            many.setdefault(key, []).append(value)
        else:
            data[key] = value
    try:
        return model.model_validate({**data, **many})
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise Invalid(f"{where}: {problem['msg']}", field=where) from None


def query_string(query: TicketQuery, **extra: str) -> str:
    return urlencode({**query.as_params(), **extra}, doseq=True)


def parse_saved(text: str) -> list[tuple[str, str]]:
    """A query string posted back by the "save view" form."""
    return [(k, v) for k, values in parse_qs(text, keep_blank_values=False).items() for v in values]


@dataclass(frozen=True)
class ViewLink:
    view: SavedView
    href: str
    mine: bool
    current: bool


@dataclass(frozen=True)
class ListPage:
    query: TicketQuery
    tickets: list[Ticket]
    details: dict[int, ticket_rows.RowDetails]
    total: int
    next_href: str | None
    views: list[ViewLink]
    #: The current filters as a query string (the "save view" form posts it back).
    params: str
    #: Whether any filter is set (the first page of a bare list is "All tickets").
    filtered: bool


async def list_page(
    session: AsyncSession, agent: Agent, actor: Actor, query: TicketQuery, cursor: str | None
) -> ListPage:
    filters = listing.filters_for(actor, query)
    found = await listing.list_page(session, actor, filters, listing.PageRequest(limit=PAGE_SIZE, cursor=cursor))
    params = query_string(query)
    links = []
    for v in await views.visible_views(session, agent):
        href = "/ui/tickets?" + urlencode(v.filters, doseq=True)
        links.append(ViewLink(v, href, v.owner_id == agent.id, v.filters == query.as_params()))
    next_href = None
    if found.next_cursor is not None:
        next_href = "/ui/tickets?" + query_string(query, cursor=found.next_cursor)
    return ListPage(
        query=query,
        tickets=found.tickets,
        details=await ticket_rows.details(session, found.tickets),
        total=found.total,
        next_href=next_href,
        views=links,
        params=params,
        filtered=bool(query.as_params()),
    )


@dataclass(frozen=True)
class StatusGroup:
    status: str
    tickets: list[Ticket]


@dataclass(frozen=True)
class MyPage:
    groups: list[StatusGroup]
    details: dict[int, ticket_rows.RowDetails]
    recent: list[Ticket] = field(default_factory=list)


async def my_page(session: AsyncSession, actor: Actor) -> MyPage:
    """The agent's open tickets by status (the most urgent SLA first within each), and their recent ones."""
    query = TicketQuery(assignee="me", status=list(OPEN_STATUSES), sort=Sort.sla_due)
    found = await listing.list_page(session, actor, listing.filters_for(actor, query), listing.PageRequest(limit=200))
    groups = [StatusGroup(s, [t for t in found.tickets if t.status == s]) for s in OPEN_STATUSES]
    recently = await recent.recent_tickets(session, actor)
    return MyPage(
        groups=[g for g in groups if g.tickets],
        details=await ticket_rows.details(session, [*found.tickets, *recently]),
        recent=recently,
    )


def ticket_id_of_ref(text: str) -> int | None:
    """The id a typed reference names, or None when the text is not a reference."""
    found = _REF.fullmatch(text)
    if found is None or not 1 <= int(found.group(1)) <= MAX_ROW_ID:
        return None
    return int(found.group(1))
