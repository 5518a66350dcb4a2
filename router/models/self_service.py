"""Self-service (tier 0): the articles suggested to each ticket's requester, and the one-click links they used.

The figures (deflection, helpful ratio per article) are read from these two tables and the audit trail;
``docs/self-service.md`` defines each.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


class Feedback(StrEnum):
    """What a one-click link says about a suggested article."""

    solved = "solved"
    not_helpful = "not_helpful"


class LinkOutcome(StrEnum):
    """What a used link did to its ticket."""

    resolved = "resolved"
    escalated = "escalated"
    #: The ticket had moved on (resolved, escalated): the requester's answer is kept, the ticket is not changed.
    recorded = "recorded"


#: ``Ticket`` resolution of a ticket its requester closed from a suggestion (``deflected:<slug>``) or by a
#: "solved" reply (``deflected:reply``).
DEFLECTED_PREFIX = "deflected:"
DEFLECTED_BY_REPLY = DEFLECTED_PREFIX + "reply"
#: ``escalated`` events' ``data.cause`` when the requester asked for a person (link or reply).
SELF_SERVICE_CAUSE = "self_service"


class KbSuggestion(SQLModel, table=True):
    """An article suggested in a ticket's tier-0 acknowledgement; title and slug as they were then."""

    __tablename__ = "kb_suggestion"
    __table_args__ = (UniqueConstraint("ticket_id", "article_id", name="uq_kb_suggestion_ticket_article"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    #: Archiving an article keeps its row (``DELETE`` archives), so the figures keep their article.
    article_id: int = Field(foreign_key="kb_article.id", index=True)
    slug: str = Field(max_length=200)
    title: str = Field(max_length=300)
    #: 1 for the best match.
    position: int
    #: The ticket's customer tier (the figures group by it).
    customer_tier: int
    suggested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class KbLinkUse(SQLModel, table=True):
    """A one-click link used: one row per suggestion at most (its "solved" and "didn't help" links share it),
    so a second click, of either link, finds the row (unique) and changes nothing."""

    __tablename__ = "kb_link_use"
    __table_args__ = (UniqueConstraint("suggestion_id", name="uq_kb_link_use_suggestion"),)

    id: int | None = Field(default=None, primary_key=True)
    suggestion_id: int = Field(foreign_key="kb_suggestion.id")
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    #: A ``Feedback``.
    feedback: str = Field(max_length=16)
    #: A ``LinkOutcome``.
    outcome: str = Field(max_length=16)
    used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
