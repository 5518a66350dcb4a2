"""An agent's workspace: saved ticket views (own or shared by a lead) and recently viewed tickets.

The full-text index (``ticket_search``) is not a model: it is built and kept current by the database
(migration 0018: a tsvector table with triggers on PostgreSQL, an FTS5 table with triggers on SQLite).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow

#: The full-text index's tables, which no model declares (Alembic's comparison leaves them alone).
SEARCH_TABLE_PREFIX = "ticket_search"


class SavedView(SQLModel, table=True):
    """Ticket-list filters with a name: the owner's, or every agent's when ``shared`` (set by leads)."""

    __tablename__ = "saved_view"
    __table_args__ = (Index("ix_saved_view_owner", "owner_id", "name"), Index("ix_saved_view_shared", "shared"))

    id: int | None = Field(default=None, primary_key=True)
    owner_id: int = Field(foreign_key="agent.id")
    name: str = Field(max_length=100)
    shared: bool = False
    #: The list's query (``router.tickets.filters.TicketQuery``), validated before it is stored and again
    #: when it is applied.
    filters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecentTicket(SQLModel, table=True):
    """The tickets an agent opened last (one row per agent and ticket, the newest view's time)."""

    __tablename__ = "recent_ticket"
    __table_args__ = (Index("ix_recent_ticket_agent_viewed", "agent_id", "viewed_at"),)

    agent_id: int = Field(foreign_key="agent.id", primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", primary_key=True)
    viewed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
