"""Saved views: list, save, delete, and the tickets a view shows."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from router.deps import CurrentActor, CurrentAgent, SessionDep
from router.models.agents import Agent
from router.models.workspace import SavedView
from router.openapi import JSON_BODY, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json
from router.tickets import listing, queries
from router.tickets.params import PageDep
from router.tickets.schemas import TicketList
from router.workspace import service
from router.workspace.schemas import ViewId, ViewIn, ViewOut

api = APIRouter(prefix="/views", tags=["views"], responses=SIGNED_IN_WITH_PARAMETERS)


def _out(view: SavedView, agent: Agent) -> ViewOut:
    assert view.id is not None
    return ViewOut(
        id=view.id,
        name=view.name,
        shared=view.shared,
        owner_id=view.owner_id,
        mine=view.owner_id == agent.id,
        filters=view.filters,
        created_at=view.created_at,
    )


@api.get("", response_model=list[ViewOut])
async def list_views(session: SessionDep, agent: CurrentAgent) -> list[ViewOut]:
    """Your views and the shared ones (shared first, then by name)."""
    return [_out(v, agent) for v in await service.visible_views(session, agent)]


@api.post(
    "",
    response_model=ViewOut,
    status_code=201,
    responses=JSON_BODY | problems(403, 409),
    dependencies=[Depends(require_json)],
)
async def save_view(session: SessionDep, agent: CurrentAgent, body: ViewIn) -> ViewOut:
    """Save the ticket list's filters and sort under a name; ``shared`` (leads only) shows it to everyone."""
    view = await service.save(session, agent, name=body.name, shared=body.shared, filters=body.filters)
    return _out(view, agent)


@api.delete("/{view_id}", status_code=204, responses=problems(403, 404))
async def delete_view(session: SessionDep, agent: CurrentAgent, view_id: ViewId) -> Response:
    """Delete your view (leads also delete shared ones)."""
    await service.delete(session, agent, view_id)
    return Response(status_code=204)


@api.get("/{view_id}/tickets", response_model=TicketList, responses=problems(403, 404, 409))
async def view_tickets(
    session: SessionDep,
    agent: CurrentAgent,
    actor: CurrentActor,
    view_id: ViewId,
    page: PageDep,
) -> TicketList:
    """The tickets the view shows you (only in the tiers you work), paged like ``GET /tickets``."""
    view = await service.get_visible(session, agent, view_id)
    found = await listing.list_page(session, actor, listing.filters_for(actor, service.filters_of(view)), page)
    return await queries.ticket_list(session, found, page)
