"""Who the navigation bar shows as signed in, also on error pages (after the request's transaction is gone)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import Request

from router.agents import sessions as agent_sessions
from router.models.agents import Agent
from router.web.session import session_token

log = structlog.get_logger(__name__)
STATE_KEY = "nav_agent"


@dataclass(frozen=True)
class NavAgent:
    """Plain values, so an error page can render them after a rollback has expired the ORM row."""

    name: str
    role: str
    #: Push assignment's status, for the navigation bar's toggle.
    status: str = "offline"

    @classmethod
    def of(cls, agent: Agent) -> NavAgent:
        return cls(agent.name, agent.role, agent.status)


def remember(request: Request, agent: Agent) -> None:
    """Kept for the request, so a page for an error raised later needs no second look-up."""
    setattr(request.state, STATE_KEY, NavAgent.of(agent))


async def for_error_page(request: Request, *, look_up: bool) -> NavAgent | None:
    """The signed-in agent of a failed request: remembered, or (``look_up``) read in a session of its own.

    Best effort: an error page must render even when the agent cannot be read (then without the menu).
    """
    remembered = getattr(request.state, STATE_KEY, None)
    if isinstance(remembered, NavAgent) or not look_up or "session" not in request.scope:
        return remembered if isinstance(remembered, NavAgent) else None
    token = session_token(request)
    if token is None:
        return None
    try:
        async with request.app.state.ctx.sessionmaker() as session:
            agent = await agent_sessions.agent_for(session, token)
            return NavAgent.of(agent) if agent is not None else None
    except Exception as exc:  # the page is still shown, without the menu
        log.warning("error_page_agent_unavailable", path=request.url.path, error=repr(exc))
        return None
