"""The weekly digest's ledger (one row per week and recipient, so a repeated cron run sends nothing twice),
the per-ticket report facts and their per-day and per-week roll-ups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, SmallInteger, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from router.models.columns import UTCDateTime, utcnow


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


class ReportTicket(SQLModel, table=True):
    """One narrow row of report facts per ticket, rewritten from the ticket, its audit trail, its SLA clocks
    and its vendor deliveries in the same transaction as any change to them (``router.reports.facts``).

    The report aggregates this table instead of joining millions of audit events and clocks: every figure
    stays derived from the audit trail (``tierroute report rebuild`` recomputes all rows from it), but a
    report over a million tickets reads one row each. Codes are small integers and the columns every
    report reads come first, so the rows stay narrow and cheap to scan.
    """

    __tablename__ = "report_ticket"
    __table_args__ = (
        # Per duration: its histogram counted in index order (no hashing) and its few wanted values ranked
        # inside one bucket (``router.reports.percentiles``), both from the index alone.
        *(
            Index(f"ix_report_ticket_{m}", "cell", f"{m}_b", f"{m}_ms", "created_at")
            for m in ("fr_business", "fr_wall", "res_business", "res_wall")
        ),
        Index("ix_report_ticket_customers", "cell", "customer_id", "created_at"),
        Index("ix_report_ticket_open", "created_at", postgresql_where=text("is_open"), sqlite_where=text("is_open")),
        Index(
            "ix_report_ticket_vendor",
            "created_at",
            postgresql_where=text("vendor_handoff_at IS NOT NULL"),
            sqlite_where=text("vendor_handoff_at IS NOT NULL"),
        ),
    )

    ticket_id: int = Field(primary_key=True, foreign_key="ticket.id", ondelete="CASCADE")
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    #: support tier x customer tier x priority in one number (``facts.cell``): the key of every breakdown.
    cell: int = Field(sa_type=SmallInteger)
    breaches: int = Field(default=0, sa_type=SmallInteger)
    escalation_count: int = Field(default=0, sa_type=SmallInteger)
    reopen_count: int = Field(default=0, sa_type=SmallInteger)
    #: Durations in whole milliseconds (NULL while not measured) and their histogram bucket (``facts.bucket``).
    fr_business_b: int | None = Field(default=None, sa_type=SmallInteger)
    fr_wall_b: int | None = Field(default=None, sa_type=SmallInteger)
    res_business_b: int | None = Field(default=None, sa_type=SmallInteger)
    res_wall_b: int | None = Field(default=None, sa_type=SmallInteger)
    fr_business_ms: int | None = Field(default=None, sa_type=BigInteger)
    fr_wall_ms: int | None = Field(default=None, sa_type=BigInteger)
    res_business_ms: int | None = Field(default=None, sa_type=BigInteger)
    res_wall_ms: int | None = Field(default=None, sa_type=BigInteger)
    #: Index into ``facts.OUTCOMES`` (met, breached, open, unanswered); NULL when the ticket has no such clock.
    fr_outcome: int | None = Field(default=None, sa_type=SmallInteger)
    res_outcome: int | None = Field(default=None, sa_type=SmallInteger)
    customer_id: int | None = Field(default=None)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    #: new, queued, in progress or waiting on the customer.
    is_open: bool
    #: resolved or closed now, with a resolution time (a reopened ticket is not).
    resolved_now: bool
    support_tier: int | None = Field(default=None, sa_type=SmallInteger)
    customer_tier: int | None = Field(default=None, sa_type=SmallInteger)
    #: Index into ``rules.vocabulary.PRIORITIES`` (low, normal, high, urgent).
    priority: int = Field(sa_type=SmallInteger)
    #: Per support tier: the telescoped sum of the ticket's tier events in ms from its creation (stays that
    #: ended count their length; the open stay counts minus its start, so adding ``as_of`` closes it) and the
    #: number of stays.
    tier0_ms: int = Field(default=0, sa_type=BigInteger)
    tier1_ms: int = Field(default=0, sa_type=BigInteger)
    tier2_ms: int = Field(default=0, sa_type=BigInteger)
    tier3_ms: int = Field(default=0, sa_type=BigInteger)
    tier4_ms: int = Field(default=0, sa_type=BigInteger)
    tier0_stays: int = Field(default=0, sa_type=SmallInteger)
    tier1_stays: int = Field(default=0, sa_type=SmallInteger)
    tier2_stays: int = Field(default=0, sa_type=SmallInteger)
    tier3_stays: int = Field(default=0, sa_type=SmallInteger)
    tier4_stays: int = Field(default=0, sa_type=SmallInteger)
    #: The actor of the ticket's first ``routed`` event (``rule:<id>``).
    routed_by: str | None = Field(default=None, max_length=128)
    vendor_handoff_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    vendor_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    vendor_delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReportDay(SQLModel, table=True):
    """Per UTC day and cell, the sums of the facts of the tickets created that day (and how many tickets were
    resolved that day): a report over months adds up hundreds of these instead of a million facts.

    A roll-up row is only read while its day is not marked in ``report_dirty_day`` (``router.reports.rollups``);
    a dirty day is read from the facts, so the roll-ups make reports faster without making them approximate.
    """

    __tablename__ = "report_day"

    day: date = Field(sa_type=Date, primary_key=True)
    cell: int = Field(sa_type=SmallInteger, primary_key=True)
    tickets_in: int = 0
    resolved: int = 0
    escalated: int = 0
    reopened: int = 0
    fr_met: int = 0
    fr_breached: int = 0
    fr_open: int = 0
    #: First-response clocks stopped without a response (``facts.OUTCOMES``): neither met nor breached.
    fr_unanswered: int = 0
    res_met: int = 0
    res_breached: int = 0
    res_open: int = 0
    breaches: int = 0
    #: Open tickets with a support tier, and the sum of their creation times in ms since the epoch: their
    #: open stays, closed at a report's ``as_of``, add up to ``as_of * open_in_tier - open_created_ms``.
    open_in_tier: int = 0
    open_created_ms: int = Field(default=0, sa_type=BigInteger)
    tier0_ms: int = Field(default=0, sa_type=BigInteger)
    tier1_ms: int = Field(default=0, sa_type=BigInteger)
    tier2_ms: int = Field(default=0, sa_type=BigInteger)
    tier3_ms: int = Field(default=0, sa_type=BigInteger)
    tier4_ms: int = Field(default=0, sa_type=BigInteger)
    tier0_stays: int = 0
    tier1_stays: int = 0
    tier2_stays: int = 0
    tier3_stays: int = 0
    tier4_stays: int = 0
    #: Tickets of this cell resolved on this day (whenever they arrived).
    tickets_out: int = 0


class ReportWeekHistogram(SQLModel, table=True):
    """Per ISO week (its Monday, UTC), duration, breakdown group and histogram bucket: how many tickets created
    that week took that long. The percentiles' first step reads these for whole clean weeks."""

    __tablename__ = "report_week_histogram"

    week: date = Field(sa_type=Date, primary_key=True)
    #: Index into ``facts.DURATIONS``.
    metric: int = Field(sa_type=SmallInteger, primary_key=True)
    #: The breakdown group (``rollups.group_code``): 0 all, 100 + support tier + 1, 200 + customer tier,
    #: 300 + priority.
    grp: int = Field(sa_type=SmallInteger, primary_key=True)
    b: int = Field(sa_type=SmallInteger, primary_key=True)
    n: int


class ReportDayPath(SQLModel, table=True):
    """Per UTC day of the tickets' creation: their escalations and de-escalations by (from tier, to tier,
    cause), counted from the audit trail."""

    __tablename__ = "report_day_path"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_type=Date, index=True)
    action: str = Field(max_length=16)
    from_tier: int | None = Field(default=None, sa_type=SmallInteger)
    to_tier: int | None = Field(default=None, sa_type=SmallInteger)
    #: ``agent`` or ``sla`` for an escalation, NULL for a de-escalation.
    cause: str | None = Field(default=None, max_length=16)
    n: int


class ReportDayRule(SQLModel, table=True):
    """Per UTC day and deciding rule: the escalated tickets created that day and their escalations."""

    __tablename__ = "report_day_rule"

    day: date = Field(sa_type=Date, primary_key=True)
    rule: str = Field(max_length=128, primary_key=True)
    tickets: int
    escalations: int


class ReportDirtyDay(SQLModel, table=True):
    """A day whose facts changed after its roll-ups were computed, written in the change's own transaction.
    Rows are appended, never merged, so the refresh removes exactly the marks it has seen and a change that
    commits while it runs stays marked."""

    __tablename__ = "report_dirty_day"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_type=Date, index=True)
