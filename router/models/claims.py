"""The idempotency ledger of claims: which ticket a claim sent with an ``Idempotency-Key`` took."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


class ClaimKey(SQLModel, table=True):
    """One row per (agent, key) until it expires: a retried claim finds the ticket the first one took.

    The row is written in the claim's own transaction, before the queue is touched, so a concurrent
    retry with the same key waits for it (unique key) and then replays it; ``ticket_id`` is set once the
    claim took a ticket, and a claim that found the queue empty leaves no row.
    """

    __tablename__ = "claim_key"
    __table_args__ = (UniqueConstraint("agent_id", "key", name="uq_claim_key_agent_key"),)

    id: int | None = Field(default=None, primary_key=True)
    agent_id: int = Field(foreign_key="agent.id")
    key: str = Field(max_length=255)
    tier: int
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
