"""Saved views: an agent's own lists, and the shared ones leads set for everybody.

A view stores a ``TicketQuery``; applying it lists tickets for whoever applies it, so a shared view of
tier 3 shows a tier-1 agent nothing (``router.tickets.listing`` checks visibility on every list).
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.errors import Conflict, Forbidden, NotFound
from router.models.agents import Agent
from router.models.workspace import SavedView
from router.tickets.filters import SavedFilters

#: Views one agent may own: a workspace, not a store.
MAX_VIEWS_PER_AGENT = 100


async def visible_views(session: AsyncSession, agent: Agent) -> list[SavedView]:
    """The agent's own views and every shared one, shared first, then by name."""
    rows = await session.exec(
        select(SavedView)
        .where(or_(col(SavedView.owner_id) == agent.id, col(SavedView.shared).is_(True)))
        .order_by(col(SavedView.shared).desc(), col(SavedView.name), col(SavedView.id))
    )
    return list(rows.all())


async def save(session: AsyncSession, agent: Agent, *, name: str, shared: bool, filters: SavedFilters) -> SavedView:
    """A new view; a second one of the same name for the same owner is a conflict (409)."""
    if shared and not agent.is_lead:
        raise Forbidden("only leads and admins share views")
    assert agent.id is not None
    own = list((await session.exec(select(SavedView.name).where(SavedView.owner_id == agent.id))).all())
    if name.casefold() in {n.casefold() for n in own}:
        raise Conflict(f"you already have a view named {name!r}")
    if len(own) >= MAX_VIEWS_PER_AGENT:
        raise Conflict(f"an agent keeps at most {MAX_VIEWS_PER_AGENT} views: delete one first")
    view = SavedView(owner_id=agent.id, name=name, shared=shared, filters=filters.as_params())
    session.add(view)
    await session.flush()
    return view


async def get_visible(session: AsyncSession, agent: Agent, view_id: int) -> SavedView:
    """A view the agent may apply (their own or a shared one); any other id is a 404, revealing nothing."""
    view = await session.get(SavedView, view_id)
    if view is None or not (view.shared or view.owner_id == agent.id):
        raise NotFound(f"there is no view {view_id}")
    return view


async def delete(session: AsyncSession, agent: Agent, view_id: int) -> None:
    """The owner deletes their view; a shared view may also be deleted by any lead."""
    view = await get_visible(session, agent, view_id)
    if view.owner_id != agent.id and not agent.is_lead:
        raise Forbidden("only its owner or a lead deletes a shared view")
    await session.delete(view)
    await session.flush()


def filters_of(view: SavedView) -> SavedFilters:
    """The stored filters, checked again (a view saved before a filter changed shape is a 409, not a 500)."""
    try:
        return SavedFilters.model_validate(view.filters)
    except ValidationError as exc:
        raise Conflict(
            f"view {view.id} holds filters this version no longer accepts: {exc.errors()[0]['msg']}"
        ) from None
