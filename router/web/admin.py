"""What the administration pages share: the lead dependency, form field types, post/redirect/get."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import RedirectResponse
from pydantic import BeforeValidator, StringConstraints
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import admin_log
from router.errors import Forbidden
from router.models.agents import Agent
from router.tickets.schemas import _no_nul
from router.web.deps import WebAgent
from router.web.errors import PREFIX
from router.web.views import _agent_names as agent_names

ADMIN = f"{PREFIX}/admin"


async def web_lead(agent: WebAgent) -> Agent:
    """The signed-in agent, if a lead or an admin (403 page otherwise)."""
    if not agent.is_lead:
        raise Forbidden("only leads and admins administer agents and customers")
    return agent


WebLead = Annotated[Agent, Depends(web_lead)]

# NUL dropped first (as the API does), then stripped and measured; the services check the meaning.
_Clean = BeforeValidator(_no_nul)
Line = Annotated[str, Form(), StringConstraints(strip_whitespace=True, max_length=320), _Clean]
Secret = Annotated[str, Form(), StringConstraints(max_length=1024), _Clean]
Note = Annotated[str, Form(), StringConstraints(strip_whitespace=True, max_length=500), _Clean]


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def log_context(session: AsyncSession, subject: str) -> dict[str, Any]:
    """The subject's administration log for ``web/admin/_log.html``, with the actors' names."""
    events = await admin_log.events_of(session, subject)
    return {"events": events, "actor_names": await agent_names(session, [e.actor for e in events])}
