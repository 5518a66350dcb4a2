"""Agent tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow


class Role(StrEnum):
    agent = "agent"
    lead = "lead"
    admin = "admin"


#: Roles that lead: they work every tier, reassign and de-escalate tickets, and get the leads' mail.
LEAD_ROLES = (Role.lead, Role.admin)


class AgentStatus(StrEnum):
    """Whether push assignment may offer the agent work (``docs/assignment.md``); pulling works in any."""

    available = "available"
    away = "away"
    offline = "offline"


class Agent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True, index=True)
    role: str = Field(default=Role.agent, max_length=16)
    tiers: list[int] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: argon2 hash for the web UI sign-in; empty for API-only agents.
    password_hash: str | None = None
    active: bool = True
    #: IANA time zone the web UI shows times in (a profile setting); empty: UTC.
    time_zone: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Push assignment: ``available``, ``away`` or ``offline`` (set by the agent, a lead, or the live stream's
    #: absence for ``away_after``).
    status: str = Field(default=AgentStatus.offline, max_length=16)
    status_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Open tickets at most per tier (``{"1": 5}``); a tier left out has ``rules.assignment.DEFAULT_MAX_OPEN``.
    max_open: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    #: Matched against a ticket's queue group, tags, product and language (lower case).
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))
    #: An SLA calendar (``rules/sla.yaml``) naming the agent's shifts; empty: always on shift.
    shift_calendar: str | None = Field(default=None, max_length=64)

    @property
    def is_lead(self) -> bool:
        return self.role in LEAD_ROLES

    def works_tier(self, tier: int) -> bool:
        """Leads and admins work every tier; agents only the ones they are given."""
        return self.is_lead or tier in self.tiers


class ApiToken(SQLModel, table=True):
    """A bearer token, stored as its SHA-256 (tokens are 256-bit random, so a slow hash adds nothing)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=12)
    label: str = Field(default="", max_length=100)
    revoked: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in web UI session. The cookie holds a random token; only its SHA-256 is stored here, and a
    session is over when its row is gone (sign-out, deactivation, password change) or past ``expires_at``."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
