"""Agent administration pages for leads and admins: list and add, edit tiers and role, deactivate, reset a
password, issue and revoke API tokens. Every change goes through ``router.agents.service`` (audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from router.agents import service as agents
from router.agents.schemas import AgentId, TokenId
from router.deps import ContextDep, SessionDep
from router.models.agents import Agent, Role
from router.web import csrf
from router.web.admin import ADMIN, Line, Secret, WebLead, log_context, see_other
from router.web.render import page
from router.web.session import flash
from rules.vocabulary import SUPPORT_TIERS

admin_agents = APIRouter(prefix=f"{ADMIN}/agents", include_in_schema=False, dependencies=[Depends(csrf.protect)])
Tiers = Annotated[list[int], Form()]
RoleField = Annotated[Role, Form()]


def _agent_url(agent: Agent) -> str:
    return f"{ADMIN}/agents/{agent.id}"


@admin_agents.get("", response_class=HTMLResponse)
async def list_agents(request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead) -> HTMLResponse:
    """Every agent with role, tiers and state; the form to add one."""
    rows = await agents.list_agents(session)
    return page(request, ctx, "web/admin/agents.html", agent=lead, agents=rows, roles=list(Role), tiers=SUPPORT_TIERS)


@admin_agents.post("")
async def add_agent(
    request: Request,
    session: SessionDep,
    lead: WebLead,
    name: Line,
    email: Line,
    role: RoleField = Role.agent,
    tiers: Tiers = [],  # noqa: B006 (FastAPI copies defaults)
    password: Secret = "",
) -> RedirectResponse:
    """Add an agent; with a password they can sign in at once. An email another agent has is a 409 page."""
    if password:
        agents.checked_password(password)
    agent = await agents.add_agent(
        session, name=name, email=email, role=role, tiers=tiers, password=password or None, by=lead
    )
    flash(request, f"Agent {agent.email} added.")
    return see_other(_agent_url(agent))


@admin_agents.get("/{agent_id}", response_class=HTMLResponse)
async def agent_page(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, agent_id: AgentId
) -> HTMLResponse:
    return await _render(request, ctx, session, lead, await agents.get_agent(session, agent_id))


async def _render(
    request: Request, ctx: ContextDep, session: SessionDep, lead: Agent, target: Agent, new_token: str = ""
) -> HTMLResponse:
    return page(
        request,
        ctx,
        "web/admin/agent.html",
        agent=lead,
        target=target,
        roles=list(Role),
        tiers=SUPPORT_TIERS,
        tokens=await agents.tokens_of(session, target),
        **await log_context(session, agents.subject(target)),
        time_zones=agents.time_zone_names(),
        new_token=new_token,
    )


@admin_agents.post("/{agent_id}")
async def change_agent(
    request: Request,
    session: SessionDep,
    lead: WebLead,
    agent_id: AgentId,
    name: Line,
    role: RoleField,
    time_zone: Line = "",
    tiers: Tiers = [],  # noqa: B006
) -> RedirectResponse:
    """Name, role, tiers and time zone (an unknown zone or a role the lead may not give is a page)."""
    target = await agents.get_agent(session, agent_id)
    await agents.change_agent(session, lead, target, name=name, role=role, tiers=tiers, time_zone=time_zone)
    flash(request, f"{target.email} saved.")
    return see_other(_agent_url(target))


@admin_agents.post("/{agent_id}/active")
async def set_active(
    request: Request, session: SessionDep, lead: WebLead, agent_id: AgentId, active: Annotated[bool, Form()]
) -> RedirectResponse:
    target = await agents.set_active(session, lead, await agents.get_agent(session, agent_id), active)
    flash(request, f"{target.email} {'reactivated' if active else 'deactivated: no sign-in, no API token works'}.")
    return see_other(_agent_url(target))


@admin_agents.post("/{agent_id}/password")
async def reset_password(
    request: Request, session: SessionDep, lead: WebLead, agent_id: AgentId, password: Secret
) -> RedirectResponse:
    target = await agents.reset_password(session, lead, await agents.get_agent(session, agent_id), password)
    flash(request, f"New password set for {target.email}.")
    return see_other(_agent_url(target))


@admin_agents.post("/{agent_id}/tokens", response_class=HTMLResponse)
async def issue_token(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, agent_id: AgentId, label: Line = ""
) -> HTMLResponse:
    """The new token is shown on this answer only (not in a notice: the session cookie is signed, not secret)."""
    target = await agents.get_agent(session, agent_id)
    _row, token = await agents.issue_token_for(session, lead, target, label)
    await session.flush()
    return await _render(request, ctx, session, lead, target, new_token=token)


@admin_agents.post("/{agent_id}/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, session: SessionDep, lead: WebLead, agent_id: AgentId, token_id: TokenId
) -> RedirectResponse:
    target = await agents.get_agent(session, agent_id)
    row = await agents.revoke_token(session, lead, target, token_id)
    flash(request, f"Token {row.prefix}… revoked.")
    return see_other(_agent_url(target))
