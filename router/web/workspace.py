"""Workspace pages: the ticket list with filters, sorting and saved views; My tickets; the search box;
the counts in the navigation bar. Each authorises through a dependency, calls one view function, renders.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import StringConstraints

from router.deps import ContextDep, SessionDep
from router.models.tickets import Ticket
from router.tickets.filters import MAX_QUERY_CHARS, SavedFilters
from router.web import csrf, workspace_views
from router.web.deps import WebActor, WebAgent
from router.web.errors import PREFIX
from router.web.render import page
from router.web.session import flash
from router.workspace import queries as workspace
from router.workspace import service as views
from router.workspace.schemas import ViewId, ViewName

pages = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])
Cursor = Annotated[str | None, Query(min_length=1, max_length=120)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@pages.get("/tickets", response_class=HTMLResponse)
async def ticket_list(
    request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent, actor: WebActor, cursor: Cursor = None
) -> HTMLResponse:
    """Every ticket the agent may see, filtered and sorted by the query string (the API's), a page at a time."""
    query = workspace_views.query_from(list(request.query_params.multi_items()))
    listing = await workspace_views.list_page(session, agent, actor, query, cursor)
    return page(request, ctx, "web/tickets.html", agent=agent, listing=listing)


@pages.get("/my", response_class=HTMLResponse)
async def my_tickets(
    request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent, actor: WebActor
) -> HTMLResponse:
    """The agent's open tickets by status with their SLA, and the tickets they opened last."""
    mine = await workspace_views.my_page(session, actor)
    return page(request, ctx, "web/my_tickets.html", agent=agent, mine=mine)


@pages.get("/my/counts", response_class=HTMLResponse)
async def my_counts(request: Request, ctx: ContextDep, session: SessionDep, agent: WebAgent) -> HTMLResponse:
    """The navigation bar's badge (loaded by htmx after the page, so no page pays for it up front)."""
    assert agent.id is not None
    counts = await workspace.my_counts(session, agent.id)
    return page(request, ctx, "web/_my_counts.html", counts=counts)


@pages.get("/search")
async def search(
    session: SessionDep,
    _agent: WebAgent,
    q: Annotated[str, Query(max_length=MAX_QUERY_CHARS), StringConstraints(strip_whitespace=True)] = "",
) -> RedirectResponse:
    """A reference (``T-000123``) opens its ticket (the ticket page checks the tier); other text lists the
    best matches."""
    ticket_id = workspace_views.ticket_id_of_ref(q)
    if ticket_id is not None and await session.get(Ticket, ticket_id) is not None:
        return _see_other(f"{PREFIX}/tickets/{ticket_id}")
    if not q.strip():
        return _see_other(f"{PREFIX}/tickets")
    return _see_other(f"{PREFIX}/tickets?" + workspace_views.query_string(SavedFilters(q=q)))


@pages.post("/views")
async def save_view(
    request: Request,
    session: SessionDep,
    agent: WebAgent,
    name: Annotated[ViewName, Form()],
    filters: Annotated[str, Form(max_length=2000)] = "",
    shared: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Save the list's current filters under a name (``shared``: leads only) and show them."""
    query = workspace_views.query_from(workspace_views.parse_saved(filters), SavedFilters)
    assert isinstance(query, SavedFilters)
    await views.save(session, agent, name=name, shared=shared, filters=query)
    flash(request, f"View “{name}” saved{' and shared with everyone' if shared else ''}.")
    return _see_other(f"{PREFIX}/tickets?" + workspace_views.query_string(query))


@pages.post("/views/{view_id}/delete")
async def delete_view(request: Request, session: SessionDep, agent: WebAgent, view_id: ViewId) -> RedirectResponse:
    await views.delete(session, agent, view_id)
    flash(request, "View deleted.")
    return _see_other(f"{PREFIX}/tickets")
