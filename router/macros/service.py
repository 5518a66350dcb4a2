"""Leads define macros; agents list the ones of their tiers. Every template is checked when saved (a 422
naming the line), so a saved macro fails only on what a ticket's values can cause."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.errors import Conflict, Forbidden, NotFound
from router.macros import templating
from router.macros.schemas import MacroIn
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.macros import Macro
from router.models.tickets import Ticket


def _require_lead(agent: Agent) -> None:
    if not agent.is_lead:
        raise Forbidden("only leads and admins define macros")


def usable_on(macro: Macro, tier: int | None) -> bool:
    """A macro without tiers serves every tier; one with tiers only those."""
    return not macro.tiers or (tier is not None and tier in macro.tiers)


async def _name_taken(session: AsyncSession, name: str, but: int | None = None) -> None:
    query = select(Macro.id).where(Macro.name == name)
    if but is not None:
        query = query.where(Macro.id != but)
    if (await session.exec(query)).first() is not None:
        raise Conflict(f"there is a macro named {name!r} already", field="name")


def _fill(macro: Macro, data: MacroIn) -> None:
    macro.name = data.name
    macro.body = data.body
    macro.internal = data.internal
    macro.actions = data.actions.model_dump(mode="json", exclude_defaults=True)
    macro.tiers = sorted(set(data.tiers))


async def create(session: AsyncSession, lead: Agent, data: MacroIn) -> Macro:
    _require_lead(lead)
    templating.check(data.body)
    await _name_taken(session, data.name)
    macro = Macro(name=data.name, body=data.body, created_by=lead.id)
    _fill(macro, data)
    session.add(macro)
    await session.flush()
    return macro


async def update(session: AsyncSession, lead: Agent, macro_id: int, data: MacroIn) -> Macro:
    _require_lead(lead)
    macro = await get(session, macro_id)
    templating.check(data.body)
    await _name_taken(session, data.name, but=macro_id)
    _fill(macro, data)
    macro.updated_at = utcnow()
    await session.flush()
    return macro


async def delete(session: AsyncSession, lead: Agent, macro_id: int) -> None:
    _require_lead(lead)
    await session.delete(await get(session, macro_id))
    await session.flush()


async def get(session: AsyncSession, macro_id: int) -> Macro:
    macro = await session.get(Macro, macro_id)
    if macro is None:
        raise NotFound(f"macro {macro_id} does not exist", macro_id=macro_id)
    return macro


async def for_agent(session: AsyncSession, agent: Agent) -> list[Macro]:
    """The macros an agent can use somewhere (leads: all), by name."""
    rows = (await session.exec(select(Macro).order_by(col(Macro.name)))).all()
    return [m for m in rows if agent.is_lead or not m.tiers or any(agent.works_tier(t) for t in m.tiers)]


async def for_ticket(session: AsyncSession, ticket: Ticket) -> list[Macro]:
    """The macros that serve the ticket's tier, by name."""
    rows = (await session.exec(select(Macro).order_by(col(Macro.name)))).all()
    return [m for m in rows if usable_on(m, ticket.support_tier)]


async def usable(session: AsyncSession, macro_id: int, ticket: Ticket) -> Macro:
    """The macro, if it serves the ticket's tier (404 otherwise: another tier's macros are not there)."""
    macro = await get(session, macro_id)
    if not usable_on(macro, ticket.support_tier):
        raise NotFound(f"macro {macro_id} does not serve tier {ticket.support_tier}", macro_id=macro_id)
    return macro
