"""The weekly digest's ledger: one row per (week, recipient), so a repeated cron run sends nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from router.columns import UTCDateTime, utcnow


class DigestMail(SQLModel, table=True):
    __tablename__ = "report_digest_mail"
    __table_args__ = (UniqueConstraint("week", "agent_id", name="uq_report_digest_week_agent"),)

    id: int | None = Field(default=None, primary_key=True)
    #: Monday (UTC) of the week the digest covers, ``YYYY-MM-DD``.
    week: str = Field(max_length=10)
    agent_id: int = Field(foreign_key="agent.id", index=True)
    email: str = Field(max_length=320)
    #: ``pending`` until the mail job has handed it to SMTP, then ``sent``.
    status: str = Field(default="pending", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
