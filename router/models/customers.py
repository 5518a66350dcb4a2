"""Customer tables: the customer, its domains and contacts (for sender lookup), its tier history, the figures
a CRM or billing system reports for it (``customer_metric``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from router.models.columns import JSONColumn, UTCDateTime, utcnow
from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER


class Customer(SQLModel, table=True):
    """A paying (or not) customer; ``value_tier`` 1 is the most valuable.

    The customer list's order (name in any case, then id) is one range of the index ``ix_customer_name_lower_id``
    on ``(lower(name), id)``, built by migration 0022 on PostgreSQL only: SQLite cannot reflect an expression
    index, so declared here it would make Alembic's comparison with the models warn on every run.
    """

    id: int | None = Field(default=None, primary_key=True)
    external_ref: str = Field(max_length=120, unique=True, index=True)
    name: str = Field(max_length=200)
    value_tier: int = Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    onboarding_tier: int = Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    #: Best tier ever held (lowest number).
    highest_tier: int = Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONColumn, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
