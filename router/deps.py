"""Named dependencies, so handlers read like sentences: ``session: SessionDep, agent: CurrentAgent``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession

from router.bounds import TicketId
from router.context import AppContext
from router.errors import Forbidden, NotAuthenticated
from router.models.agents import Agent
from router.models.tickets import Ticket
from router.tickets import service as tickets
from router.tickets.actors import Actor, require_tier
from router.unit_of_work import transaction
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER


async def get_context(request: Request) -> AppContext:
    """Every dependency here is ``async def``: a plain ``def`` would run in Starlette's thread pool, a
    thread hand-off on every request for work that never blocks."""
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def get_session(ctx: ContextDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed (then effects applied) before the response is sent."""
    async with transaction(ctx.sessionmaker, ctx.effects) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
bearer_scheme = HTTPBearer(auto_error=False, description="An agent's API token (`tierroute agents add`).")


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def _agent(ctx: AppContext, session: AsyncSession, credentials: HTTPAuthorizationCredentials | None) -> Agent:
    if credentials is None:
        raise NotAuthenticated("send an agent token as 'Authorization: Bearer <token>'")
    agent = await ctx.tokens.agent(session, credentials.credentials)
    if agent is None:
        raise NotAuthenticated("the bearer token is unknown or revoked")
    return agent


async def current_agent(ctx: ContextDep, session: SessionDep, credentials: Credentials) -> Agent:
    """The agent behind the bearer token; a revoked token, a deactivated agent or a changed role is seen
    on the next request, in every process (``router.agents.tokens``)."""
    return await _agent(ctx, session, credentials)


CurrentAgent = Annotated[Agent, Depends(current_agent)]


async def current_lead(agent: CurrentAgent) -> Agent:
    if not agent.is_lead:
        raise Forbidden("only leads and admins may do this")
    return agent


CurrentLead = Annotated[Agent, Depends(current_lead)]


async def current_actor(agent: CurrentAgent) -> Actor:
    return Actor.of(agent)


CurrentActor = Annotated[Actor, Depends(current_actor)]


async def actor_without_transaction(ctx: ContextDep, credentials: Credentials) -> Actor:
    """The acting agent, for a route whose work runs in another transaction (group commit, ``router.intake.
    batcher``): the token is checked in a session of its own, ended before the route runs, because on SQLite
    an open transaction holds the one write lock the batch needs."""
    if credentials is not None and (agent := await ctx.tokens.cached(credentials.credentials)) is not None:
        return Actor.of(agent)
    async with transaction(ctx.sessionmaker, ctx.effects) as session:
        return Actor.of(await _agent(ctx, session, credentials))


ActorWithoutTransaction = Annotated[Actor, Depends(actor_without_transaction)]


SupportTierPath = Annotated[
    int,
    Path(
        ge=MIN_SUPPORT_TIER,
        le=MAX_SUPPORT_TIER,
        description=f"support tier {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}",
    ),
]


async def ticket_for_reading(ticket_id: TicketId, session: SessionDep, actor: CurrentActor) -> Ticket:
    ticket = await tickets.get(session, ticket_id)
    require_tier(actor, ticket.support_tier)
    return ticket


async def ticket_for_change(ticket_id: TicketId, session: SessionDep, _actor: CurrentActor) -> Ticket:
    """Locked for the rest of the transaction (after authentication); the service checks permissions."""
    return await tickets.get(session, ticket_id, lock=True)


TicketFromPath = Annotated[Ticket, Depends(ticket_for_reading)]
TicketForChange = Annotated[Ticket, Depends(ticket_for_change)]
