"""Push assignment's JSON shapes: an agent's status, their offers, the team's load."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from router.models.agents import AgentStatus


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: AgentStatus


class StatusOut(BaseModel):
    id: int
    status: AgentStatus


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ticket_id: int
    tier: int
    strategy: str
    reason: str
    state: str
    offered_at: datetime
    expires_at: datetime


class TierLoad(BaseModel):
    tier: int
    open: int
    max_open: int


class TeamMember(BaseModel):
    id: int
    name: str
    status: AgentStatus
    #: ``available`` but their live stream has been gone longer than ``away_after``: not offered work.
    present: bool
    on_shift: bool
    skills: list[str]
    load: list[TierLoad]
