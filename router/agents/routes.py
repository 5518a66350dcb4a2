"""Agent administration for leads and admins: list, add, change, deactivate, passwords, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from router.agents import service as agents
from router.agents.schemas import (
    AgentId,
    AgentIn,
    AgentOut,
    AgentPatch,
    IssuedToken,
    PasswordIn,
    TokenId,
    TokenIn,
    TokenOut,
    agent_out,
)
from router.deps import CurrentLead, SessionDep
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.problems import require_json

api = APIRouter(prefix="/agents", tags=["agents"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
JsonBody = [Depends(require_json)]
ONE_AGENT = problems(404)


@api.get("", response_model=list[AgentOut])
async def list_agents(session: SessionDep, _lead: CurrentLead) -> list[AgentOut]:
    """Every agent, active first, then by name."""
    return [agent_out(a) for a in await agents.list_agents(session)]


@api.post("", response_model=AgentOut, status_code=201, dependencies=JsonBody, responses=JSON_BODY | problems(409))
async def add_agent(body: AgentIn, session: SessionDep, lead: CurrentLead) -> AgentOut:
    """Add an agent (an email another agent has is a 409); only admins add admins. Audited."""
    agent = await agents.add_agent(
        session, name=body.name, email=body.email, role=body.role, tiers=body.tiers, password=body.password, by=lead
    )
    return agent_out(agent)


@api.get("/{agent_id}", response_model=AgentOut, responses=ONE_AGENT)
async def get_agent(agent_id: AgentId, session: SessionDep, _lead: CurrentLead) -> AgentOut:
    return agent_out(await agents.get_agent(session, agent_id))


@api.patch("/{agent_id}", response_model=AgentOut, dependencies=JsonBody, responses=ONE_AGENT | JSON_BODY)
async def change_agent(agent_id: AgentId, body: AgentPatch, session: SessionDep, lead: CurrentLead) -> AgentOut:
    """Change name, role, tiers, time zone, whether they are active, and push assignment's status, caps per
    tier, skills and shift calendar. Audited."""
    agent = await agents.get_agent(session, agent_id)
    await agents.change_agent(
        session,
        lead,
        agent,
        name=body.name,
        role=body.role,
        tiers=body.tiers,
        time_zone=body.time_zone,
        status=body.status,
        max_open=body.max_open,
        skills=body.skills,
        shift_calendar=body.shift_calendar,
    )
    if body.active is not None:
        await agents.set_active(session, lead, agent, body.active)
    return agent_out(agent)


@api.post("/{agent_id}/deactivate", response_model=AgentOut, responses=ONE_AGENT)
async def deactivate(agent_id: AgentId, session: SessionDep, lead: CurrentLead) -> AgentOut:
    """No sign-in and no API token works for them any more; their history keeps their name. Audited."""
    return agent_out(await agents.set_active(session, lead, await agents.get_agent(session, agent_id), False))


@api.post(
    "/{agent_id}/password",
    status_code=204,
    dependencies=JsonBody,
    responses=ONE_AGENT | JSON_BODY | answer(204, "the password is set"),
)
async def reset_password(agent_id: AgentId, body: PasswordIn, session: SessionDep, lead: CurrentLead) -> Response:
    """Set a new web UI password (at least 8 characters). Audited, without the password."""
    await agents.reset_password(session, lead, await agents.get_agent(session, agent_id), body.password)
    return Response(status_code=204)


@api.get("/{agent_id}/tokens", response_model=list[TokenOut], responses=ONE_AGENT)
async def list_tokens(agent_id: AgentId, session: SessionDep, _lead: CurrentLead) -> list[TokenOut]:
    """The agent's API tokens, newest first (prefix and label; the tokens themselves are not stored)."""
    rows = await agents.tokens_of(session, await agents.get_agent(session, agent_id))
    return [TokenOut.model_validate(t) for t in rows]


@api.post(
    "/{agent_id}/tokens",
    response_model=IssuedToken,
    status_code=201,
    dependencies=JsonBody,
    responses=ONE_AGENT | JSON_BODY | problems(409),
)
async def issue_token(agent_id: AgentId, body: TokenIn, session: SessionDep, lead: CurrentLead) -> IssuedToken:
    """A new API token for the agent, in this answer only. Audited (its prefix, never the token)."""
    row, token = await agents.issue_token_for(session, lead, await agents.get_agent(session, agent_id), body.label)
    return IssuedToken.model_validate({**TokenOut.model_validate(row).model_dump(), "token": token})


@api.delete("/{agent_id}/tokens/{token_id}", status_code=204, responses=ONE_AGENT | answer(204, "the token is revoked"))
async def revoke_token(agent_id: AgentId, token_id: TokenId, session: SessionDep, lead: CurrentLead) -> Response:
    """Revoke one of the agent's tokens: refused from the next request on, in every API process. Audited."""
    await agents.revoke_token(session, lead, await agents.get_agent(session, agent_id), token_id)
    return Response(status_code=204)
