"""Agent shapes of the JSON API (administration by leads and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from router.bounds import MAX_ROW_ID
from router.models.agents import Agent, AgentStatus, Role
from router.tickets.schemas import CleanText
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER

AgentId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the agent's id")]
TokenId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the token's id")]
Tier = Annotated[int, Field(ge=MIN_SUPPORT_TIER, le=MAX_SUPPORT_TIER)]


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    role: Role
    tiers: list[int]
    active: bool
    time_zone: str | None
    status: AgentStatus
    max_open: dict[str, int]
    skills: list[str]
    shift_calendar: str | None
    has_password: bool
    created_at: datetime


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: CleanText = Field(min_length=1, max_length=200)
    email: CleanText = Field(min_length=3, max_length=320)
    role: Role = Role.agent
    tiers: list[Tier] = Field(default_factory=list, max_length=5)
    password: CleanText | None = Field(default=None, min_length=8, max_length=1024)


class AgentPatch(BaseModel):
    """What to change; a field left out is kept. ``time_zone`` ``""`` means UTC."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: CleanText | None = Field(default=None, min_length=1, max_length=200)
    role: Role | None = None
    tiers: list[Tier] | None = Field(default=None, max_length=5)
    time_zone: CleanText | None = Field(default=None, max_length=64)
    active: bool | None = None
    #: Push assignment (docs/assignment.md): ``available``, ``away`` or ``offline``.
    status: AgentStatus | None = None
    #: Open tickets at most per tier, merged into the caps (``{"1": 8}``).
    max_open: dict[Tier, Annotated[int, Field(ge=0, le=1000)]] | None = None
    #: Replaces the skills (matched against queue group, tags, product, language).
    skills: list[Annotated[str, Field(max_length=64)]] | None = Field(default=None, max_length=50)
    #: An SLA calendar naming the shifts; ``""`` removes it.
    shift_calendar: CleanText | None = Field(default=None, max_length=64)


class PasswordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: CleanText = Field(min_length=8, max_length=1024)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    label: CleanText = Field(default="", max_length=100)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prefix: str
    label: str
    revoked: bool
    created_at: datetime


class IssuedToken(TokenOut):
    #: The bearer token itself: shown in this answer only (only its hash is stored).
    token: str


def agent_out(agent: Agent) -> AgentOut:
    return AgentOut.model_validate(
        {**agent.model_dump(exclude={"password_hash"}), "has_password": agent.password_hash is not None}
    )
