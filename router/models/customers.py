"""Customer tables: the customer, its domains and contacts (for sender lookup), its tier history, the figures
a CRM or billing system reports for it (``customer_metric``), and the tier reviews (a move proposed but held
back, one applied review per period)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow
from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER


class Customer(SQLModel, table=True):
    """A paying (or not) customer; which end of ``value_tier`` 1-4 is the most valuable is the tier policy's
    ``best`` (``rules.vocabulary.TierScale``).

    The customer list's order (name in any case, then id) is one range of the index ``ix_customer_name_lower_id``
    on ``(lower(name), id)``, built by migration 0022 on PostgreSQL only: SQLite cannot reflect an expression
    index, so declared here it would make Alembic's comparison with the models warn on every run.
    """

    id: int | None = Field(default=None, primary_key=True)
    external_ref: str = Field(max_length=120, unique=True, index=True)
    name: str = Field(max_length=200)
    value_tier: int = Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    onboarding_tier: int = Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    #: Best tier ever held, on the installation's scale.
    highest_tier: int = Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: The agent who owns the account: push assignment offers them the customer's tickets first.
    account_owner_id: int | None = Field(default=None, foreign_key="agent.id")


class CustomerDomain(SQLModel, table=True):
    """An email domain whose senders belong to the customer."""

    __tablename__ = "customer_domain"

    domain: str = Field(primary_key=True, max_length=253)
    customer_id: int = Field(foreign_key="customer.id", index=True)


class CustomerContact(SQLModel, table=True):
    """A known person; ``customer_id`` is empty for senders no customer claims yet."""

    __tablename__ = "customer_contact"

    email: str = Field(primary_key=True, max_length=320)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TierSource:
    """Who decided a tier change: the tier policy (a review), a person (CLI, API, UI), or an import."""

    policy = "policy"
    manual = "manual"
    imported = "import"
    ALL = (policy, manual, imported)


class CustomerTierChange(SQLModel, table=True):
    """One step of a customer's tier history (onboarding is the first step, ``from_tier`` empty)."""

    __tablename__ = "customer_tier_change"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    from_tier: int | None = None
    to_tier: int
    reason: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: ``TierSource``: ``policy``, ``manual`` or ``import``.
    source: str = Field(default=TierSource.manual, max_length=16)
    #: The score that proposed a policy change, with its components (``rules.scoring.Score.as_dict``).
    score: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONColumn, nullable=True))
    #: The tier policy's version (hash of its file) for a policy change.
    policy_version: str | None = Field(default=None, max_length=16)
    #: ``agent:<id>``, ``cli`` or ``system:<job>``, as in the administration log; empty for steps from before.
    actor: str | None = Field(default=None, max_length=100)


class CustomerMetric(SQLModel, table=True):
    """One figure of a customer for one month (``period`` ``YYYY-MM``), as one source reported it: 12-month
    revenue from billing, gross margin from finance, growth potential from the account manager. The same
    figure reported again replaces the value (one row per customer, period, metric and source)."""

    __tablename__ = "customer_metric"
    __table_args__ = (
        UniqueConstraint("customer_id", "period", "metric", "source"),
        # Scoring reads a few metrics of every customer over a range of periods.
        Index("ix_customer_metric_metric_period", "metric", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    period: str = Field(max_length=7)
    metric: str = Field(max_length=64)
    #: Always finite (checked where figures come in: the API and the customers file).
    value: float
    source: str = Field(max_length=64)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomerTierProposal(SQLModel, table=True):
    """A move the tier policy proposed and held back (hysteresis): to ``tier``, proposed in ``streak`` review
    periods in a row, the last one ``period``. No row: nothing pending."""

    __tablename__ = "customer_tier_proposal"

    customer_id: int = Field(foreign_key="customer.id", primary_key=True)
    tier: int
    streak: int
    period: str = Field(max_length=10)
    policy_version: str = Field(max_length=16)
    score: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TierReviewRun(SQLModel, table=True):
    """The tier review of one period, applied: the scheduled job runs a period once (its row is the ledger)."""

    __tablename__ = "tier_review_run"

    period: str = Field(primary_key=True, max_length=10)
    cadence: str = Field(max_length=16)
    policy_version: str = Field(max_length=16)
    #: Who ran it last: ``system:tier-review`` (the schedule), ``cli`` or ``agent:<id>``.
    actor: str = Field(max_length=100)
    runs: int = 1
    customers: int = 0
    scored: int = 0
    held: int = 0
    moved: int = 0
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CustomerAtRisk(SQLModel, table=True):
    """An early warning told (``customer.at_risk``): the ledger that tells it once per window. A customer is
    told again only once ``window_days`` have passed since ``at``."""

    __tablename__ = "customer_at_risk"
    __table_args__ = (Index("ix_customer_at_risk_customer_at", "customer_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    window_days: int
    tier: int
    #: What was counted over the window (``rules.tiers.AT_RISK_SIGNALS``) and which thresholds it reached.
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    crossed: list[str] = Field(default_factory=list, sa_column=Column(JSONColumn, nullable=False))


class ReviewReason:
    """Why a customer's tier came out of a quarterly review as it did (the sign-off's category)."""

    ALL = ("confirmed", "revenue", "profitability", "support_load", "strategic", "churn_risk", "other")


class TierReviewRecord(SQLModel, table=True):
    """A lead's sign-off of one customer in one quarterly tier review (``quarter`` ``2026Q4``)."""

    __tablename__ = "tier_review_record"
    __table_args__ = (UniqueConstraint("customer_id", "quarter"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    quarter: str = Field(max_length=7, index=True)
    owner_id: int | None = Field(default=None, foreign_key="agent.id")
    reason: str = Field(max_length=32)
    notes: str = Field(default="", max_length=2000)
    closed: bool = False
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: ``agent:<id>`` or ``cli`` who last changed it.
    updated_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
