"""The ticket list (``GET /api/v1/tickets``, the web UI's lists, saved views): filters, who sees what, order
and keyset pages.

A filter is a field of ``TicketQuery`` (``router/tickets/filters.py``) and one clause in
``TicketFilters.clauses``; an order is one entry in ``router/tickets/sorting.py``. The cursor names the
last row's sort key and id, so the next page is one range of an index, costs the same however deep it
is, and neither skips nor repeats a ticket while new ones arrive (an offset does both); ``offset`` stays
for the clients that use it. Full text (``q``) joins the search index (``router/tickets/search.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, literal, null, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import MAX_ROW_ID
from router.errors import Forbidden, Invalid
from router.models.columns import json_list_has, utcnow
from router.models.tickets import Ticket
from router.tickets import search, sorting
from router.tickets.actors import Actor
from router.tickets.filters import ME, NOBODY, SlaFilter, Sort, TicketQuery

#: ``assignee`` given as ``none``: tickets nobody holds.
UNASSIGNED = 0


@dataclass(frozen=True)
class TicketFilters:
    """A ``TicketQuery`` resolved for one agent (``assignee=me`` is their id; 0 is nobody)."""

    status: tuple[str, ...] = ()
    support_tier: int | None = None
    assignee_id: int | None = None
    customer_id: int | None = None
    requester: str | None = None
    priority: tuple[str, ...] = ()
    tag: str | None = None
    customer_tier: int | None = None
    sla: SlaFilter | None = None
    min_age_hours: int | None = None
    max_age_hours: int | None = None
    q: str | None = None
    sort: Sort = Sort.newest

    def clauses(self, dialect: str, now: datetime) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.status:
            found.append(col(Ticket.status).in_(self.status))
        if self.support_tier is not None:
            found.append(col(Ticket.support_tier) == self.support_tier)
        if self.assignee_id == UNASSIGNED:
            found.append(col(Ticket.assignee_id).is_(None))
        elif self.assignee_id is not None:
            found.append(col(Ticket.assignee_id) == self.assignee_id)
        if self.customer_id is not None:
            found.append(col(Ticket.customer_id) == self.customer_id)
        if self.requester is not None:
            found.append(col(Ticket.requester_email) == self.requester)
        if self.priority:
            found.append(col(Ticket.priority).in_(self.priority))
        if self.tag is not None:
            # no index: tags narrow other filters
            found.append(json_list_has(dialect, col(Ticket.tags), self.tag))
        if self.customer_tier is not None:
            found.append(col(Ticket.customer_tier) == self.customer_tier)
        if self.sla is not None:
            found.append(_sla_state(self.sla))
        if self.min_age_hours is not None:
            found.append(col(Ticket.created_at) <= now - timedelta(hours=self.min_age_hours))
        if self.max_age_hours is not None:
            found.append(col(Ticket.created_at) >= now - timedelta(hours=self.max_age_hours))
        return found


def _sla_state(state: SlaFilter) -> ColumnElement[bool]:
    """The state the API's ``sla.state`` shows, the worst of the running clocks (breached, warning, paused,
    ok), as the database keeps it on the ticket (``Ticket.sla_state``); ``none``: no running clock."""
    if state == SlaFilter.none:
        return col(Ticket.sla_state).is_(None)
    return col(Ticket.sla_state) == state.value


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int = 0
    #: The previous page's ``next_cursor``, as given (decoded against the list's order).
    cursor: str | None = None


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    total: int
    #: Where the next page starts; None on the last page.
    next_cursor: str | None
    #: Each ticket's relevance for a full-text list (higher is better).
    scores: dict[int, float] = field(default_factory=dict)
    #: A text search stopped counting at ``search.MAX_COUNTED``: ``total`` is a lower bound.
    total_capped: bool = False


def assignee_id_for(actor: Actor, assignee: str | None) -> int | None:
    """``me`` is the acting agent, ``none`` nobody; another agent's id is for leads (an agent may name
    their own)."""
    if assignee is None:
        return None
    if assignee == NOBODY:
        return UNASSIGNED
    own = actor.agent.id if actor.agent is not None else None
    if assignee == ME:
        if own is None:
            raise Invalid("assignee=me needs an agent's token", field="assignee")
        return own
    agent_id = int(assignee)
    if not 1 <= agent_id <= MAX_ROW_ID:
        raise Invalid(f"assignee is 'me', 'none' or an agent id from 1 to {MAX_ROW_ID}", field="assignee")
    if agent_id != own and not actor.is_lead:
        raise Forbidden("only leads and admins may list another agent's tickets")
    return agent_id


def filters_for(actor: Actor, query: TicketQuery) -> TicketFilters:
    return TicketFilters(
        status=tuple(query.status),
        support_tier=query.support_tier,
        assignee_id=assignee_id_for(actor, query.assignee),
        customer_id=query.customer,
        requester=query.requester,
        priority=tuple(query.priority),
        tag=query.tag,
        customer_tier=query.customer_tier,
        sla=query.sla,
        min_age_hours=query.min_age_hours,
        max_age_hours=query.max_age_hours,
        q=query.q,
        sort=query.order,
    )


def visible(actor: Actor, tier: ColumnElement[int] | None = None) -> list[ColumnElement[bool]]:
    """Agents see the tiers they work (and unrouted tickets), leads everything. ``tier``: where the ticket's
    tier is read (the ticket row by default; the search index keeps a copy, ``search.TextMatch``)."""
    if actor.agent is None or actor.is_lead:
        return []
    tiers = actor.agent.tiers
    if tier is None:
        return [or_(col(Ticket.support_tier).in_(tiers), col(Ticket.support_tier).is_(None))]
    return [or_(tier.in_(tiers), tier.is_(None))]


async def list_page(session: AsyncSession, actor: Actor, filters: TicketFilters, page: PageRequest) -> TicketPage:
    dialect = session.get_bind().dialect.name
    clauses = filters.clauses(dialect, utcnow())
    where = [*clauses, *visible(actor)]
    match = search.text_match(dialect, filters.q) if filters.q is not None else None
    if match is not None and dialect == "postgresql":
        await (await session.connection()).execute(search.SEARCH_SETTINGS)
    if match is not None and filters.sort == Sort.relevance:
        if not clauses and match.ticket_id is not None and match.support_tier is not None:
            # Nothing asked of the ticket but the agent's tiers: the index's rows answer it alone.
            in_index = visible(actor, match.support_tier)
            return await _relevance_page(session, lambda n: _ranked_in_index(match, in_index, n), page)
        return await _relevance_page(session, lambda n: _ranked_matches(match, where, n), page)
    relevance: ColumnElement[float] | None = match.score if match is not None else None
    if filters.q is not None and match is None:  # nothing in it to look for: nothing matches
        where.append(false())
        relevance = literal(0.0)
    order = sorting.order_of(filters.sort, relevance)
    key = order.key if order.key is not None else col(Ticket.id)
    query: Any = select(Ticket, key, match.score if match is not None else null())
    capped = False
    if match is None:
        total = (await session.exec(select(func.count()).select_from(Ticket).where(*where))).one()
    else:
        total, capped = await _count_matches(session, match, where)
        query = query.join(match.index, match.on).where(match.where)
    if page.cursor is not None:
        where.append(sorting.after(order, sorting.decode(page.cursor, order)))
    query = query.where(*where).order_by(*sorting.order_by(order)).offset(page.offset).limit(page.limit + 1)
    rows = list((await session.exec(query)).all())
    return _page_of(rows, order, page, int(total), capped)


async def _relevance_page(session: AsyncSession, matches: Callable[[int], Any], page: PageRequest) -> TicketPage:
    """Best match first: the newest ``MAX_RANKED`` matches, scored and counted in the one pass that finds them
    (``MAX_RANKED + 1`` of them, so the count knows when there are more); the page is picked among them by
    score, and only then are its tickets read (joined to every candidate, the ticket rows would be read in
    full: a sequential scan of the table). A separate count would find the matches a second time: for an
    agent, whose tiers are checked on each match's ticket row, that doubled the search's cost.

    ``matches(n)`` selects the newest ``n`` matches as ``(id, score)``, newest first."""
    newest = matches(search.MAX_RANKED + 1).subquery("newest")
    ranked = select(
        newest.c.id,
        newest.c.score,
        func.count().over().label("found"),
        func.row_number().over(order_by=newest.c.id.desc()).label("newness"),
    ).subquery("ranked")
    order = sorting.order_of(Sort.relevance, ranked.c.score)
    chosen: Any = select(ranked.c.id, ranked.c.score, ranked.c.found).where(ranked.c.newness <= search.MAX_RANKED)
    if page.cursor is not None:
        chosen = chosen.where(sorting.after(order, sorting.decode(page.cursor, order), ident=ranked.c.id))
    picked = (
        chosen.order_by(*sorting.order_by(order, ident=ranked.c.id))
        .offset(page.offset)
        .limit(page.limit + 1)
        .subquery("picked")
    )
    query = (
        select(Ticket, picked.c.score, picked.c.score, picked.c.found)
        .join(picked, picked.c.id == col(Ticket.id))
        .order_by(picked.c.score.desc(), col(Ticket.id).desc())
    )
    rows = list((await session.exec(query)).all())
    if rows:
        found = int(rows[0][3])
    else:  # a page past the end (or nothing matches): count them on their own
        counted = matches(search.MAX_RANKED + 1).subquery()
        found = int((await session.exec(select(func.count()).select_from(counted))).one())
    triples = [(ticket, key, score) for ticket, key, score, _ in rows]
    return _page_of(triples, order, page, min(found, search.MAX_RANKED), found > search.MAX_RANKED)


def _page_of(rows: list[Any], order: sorting.Order, page: PageRequest, total: int, capped: bool) -> TicketPage:
    """A page from ``(ticket, sort key, score)`` rows, one more than the page asked for when there is more."""
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = None
    if more and rows:
        last, key, _ = rows[-1]
        assert last.id is not None
        next_cursor = sorting.encode(order, last.id, key)
    scores = {t.id: float(score) for t, _, score in rows if t.id is not None and score is not None}
    return TicketPage([t for t, _, _ in rows], total, next_cursor, scores, capped)


def _newest_matches(match: search.TextMatch, where: list[ColumnElement[bool]], limit: int) -> Any:
    """The ids of the newest ``limit`` tickets that match (and pass ``where``): what relevance ranks."""
    return (
        select(col(Ticket.id))
        .join(match.index, match.on)  # type: ignore[arg-type]
        .where(match.where, *where)
        .order_by(col(Ticket.id).desc())
        .limit(limit)
    )


def _ranked_matches(match: search.TextMatch, where: list[ColumnElement[bool]], limit: int) -> Any:
    """The newest ``limit`` matches with their scores, in one pass over the index: ranking reads each
    document once, and no list of ids travels to the database and back (a thousand bound parameters cost
    more to render and parse than the query costs to run)."""
    return (
        select(col(Ticket.id).label("id"), match.score.label("score"))
        .join(match.index, match.on)  # type: ignore[arg-type]
        .where(match.where, *where)
        .order_by(col(Ticket.id).desc())
        .limit(limit)
    )


def _ranked_in_index(match: search.TextMatch, visibility: list[ColumnElement[bool]], limit: int) -> Any:
    """``_ranked_matches`` from the search index's rows alone (their ticket id and tier): no ticket row, nor
    an index of the tickets, is read for a match that does not make the page."""
    assert match.ticket_id is not None
    return (
        select(match.ticket_id.label("id"), match.score.label("score"))
        .select_from(match.index)  # type: ignore[arg-type]
        .where(match.where, *visibility)
        .order_by(match.ticket_id.desc())
        .limit(limit)
    )


async def _count_matches(
    session: AsyncSession, match: search.TextMatch, where: list[ColumnElement[bool]]
) -> tuple[int, bool]:
    """How many tickets match, counted up to ``MAX_COUNTED`` (and whether there are more)."""
    found = _newest_matches(match, where, search.MAX_COUNTED + 1).subquery()
    counted = int((await session.exec(select(func.count()).select_from(found))).one())
    return min(counted, search.MAX_COUNTED), counted > search.MAX_COUNTED
