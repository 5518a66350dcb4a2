"""Named dependencies of the web UI: the signed-in agent (from the session cookie) and tickets they may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from router.agents import sessions as agent_sessions
from router.deps import SessionDep, SupportTierPath, TicketId
from router.errors import DomainError
from router.models.agents import Agent
from router.models.tickets import Ticket
from router.notifications import queries as notification_queries
from router.tickets import service as tickets
from router.tickets.actors import Actor, require_tier
from router.web import nav
from router.web.session import session_token, sign_out


class SignInRequired(DomainError):
    """Rendered as a redirect to the sign-in page (``router.web.errors``)."""

    status = 401
    title = "Sign-in required"


async def signed_in_agent(request: Request, session: SessionDep) -> Agent | None:
    """The active agent of the live session the cookie names, or None. A cookie naming an ended session
    (sign-out, deactivation, password change, expiry) is emptied, so the sign-in page starts clean."""
    token = session_token(request)
    if token is None:
        return None
    agent = await agent_sessions.agent_for(session, token)
    if agent is None:
        sign_out(request)
    return agent


async def web_agent(request: Request, session: SessionDep) -> Agent:
    agent = await signed_in_agent(request, session)
    if agent is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired("sign in to continue", next=target)
    nav.remember(request, agent)
    unread, newest = await notification_queries.nav_figures(session, agent)
    request.state.unread_notifications, request.state.notifications_seen = unread, newest
    return agent


WebAgent = Annotated[Agent, Depends(web_agent)]


async def web_actor(agent: WebAgent) -> Actor:
    return Actor.of(agent)


WebActor = Annotated[Actor, Depends(web_actor)]


async def worked_tier(tier: SupportTierPath, actor: WebActor) -> int:
    """A tier from the path that the agent works (403 otherwise; leads and admins work all)."""
    require_tier(actor, tier)
    return tier


WorkedTier = Annotated[int, Depends(worked_tier)]


async def ticket_for_reading(ticket_id: TicketId, session: SessionDep, actor: WebActor) -> Ticket:
    ticket = await tickets.get(session, ticket_id)
    require_tier(actor, ticket.support_tier)
    return ticket


async def ticket_for_change(ticket_id: TicketId, session: SessionDep, _actor: WebActor) -> Ticket:
    """Locked for the rest of the transaction; the ticket service checks the agent's permissions."""
    return await tickets.get(session, ticket_id, lock=True)


WebTicket = Annotated[Ticket, Depends(ticket_for_reading)]
WebTicketForChange = Annotated[Ticket, Depends(ticket_for_change)]
