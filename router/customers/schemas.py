"""Customer shapes of the JSON API (administration by leads and admins)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from router.bounds import MAX_ROW_ID
from router.customers.metrics import Figure
from router.customers.queries import CustomerDetail
from router.customers.values import MAX_ATTRIBUTES, MAX_METRIC_VALUE, NAME, PERIOD, SOURCE
from router.tickets.schemas import CleanText
from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

CustomerId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="the customer's id")]
CustomerTier = Annotated[int, Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)]
#: An attribute's new value (the service checks names, lengths and numbers: ``router/customers/values.py``).
AttributeValue = StrictBool | StrictInt | Annotated[float, Field(allow_inf_nan=False)] | str | None


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_ref: str
    name: str
    value_tier: int
    onboarding_tier: int
    highest_tier: int
    attributes: dict[str, Any]
    created_at: datetime
    #: The agent who owns the account (push assignment offers them the customer's tickets first).
    account_owner_id: int | None = None


class TierStep(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    from_tier: int | None
    to_tier: int
    reason: str
    at: datetime
    #: ``policy`` (a tier review), ``manual`` or ``import``.
    source: str
    #: ``agent:<id>``, ``cli`` or ``system:tier-review``; empty for steps from before it was kept.
    actor: str | None = None
    #: For a policy change: the policy's version and the score with its components.
    policy_version: str | None = None
    score: dict[str, Any] | None = None


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    period: str
    metric: str
    value: float
    source: str
    recorded_at: datetime


class CustomerDetailOut(CustomerOut):
    domains: list[str]
    contacts: list[str]
    tier_history: list[TierStep]
    #: Each metric's newest figure from each source, by metric then source.
    metrics: list[MetricOut]

    @classmethod
    def of(cls, found: CustomerDetail) -> CustomerDetailOut:
        c = found.card.customer
        return cls.model_validate(
            {
                **CustomerOut.model_validate(c).model_dump(),
                "domains": found.domains,
                "contacts": found.contacts,
                "tier_history": [TierStep.model_validate(h) for h in found.card.history],
                "metrics": [MetricOut.model_validate(m) for m in found.metrics],
            }
        )


class CustomerList(BaseModel):
    items: list[CustomerOut]
    total: int
    #: Pass as ``cursor`` for the next page; null on the last page.
    next_cursor: str | None = None


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    external_ref: CleanText = Field(min_length=1, max_length=120)
    name: CleanText = Field(min_length=1, max_length=200)
    tier: CustomerTier
    domains: list[CleanText] = Field(default_factory=list, max_length=100)
    contacts: list[CleanText] = Field(default_factory=list, max_length=1000)


class CustomerPatch(BaseModel):
    """What to change; a field left out is kept. A new ``value_tier`` is kept in the tier history with ``reason``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: CleanText | None = Field(default=None, min_length=1, max_length=200)
    external_ref: CleanText | None = Field(default=None, min_length=1, max_length=120)
    value_tier: CustomerTier | None = None
    reason: CleanText = Field(default="", max_length=500)
    attributes: dict[str, AttributeValue] | None = Field(
        default=None,
        max_length=MAX_ATTRIBUTES,
        description="merged into the customer's attributes; null removes one",
        examples=[{"reference_logo": True, "industry": "retail", "old_flag": None}],
    )
    #: The account owner, an active agent's id; 0 removes them (docs/assignment.md).
    account_owner_id: int | None = Field(default=None, ge=0, le=MAX_ROW_ID)


class DomainIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    domain: CleanText = Field(min_length=1, max_length=253)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: CleanText = Field(min_length=3, max_length=320)


class TierChangeIn(BaseModel):
    """A lead's change of a customer's value tier; the reason is kept in the tier history and the audit record."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    tier: CustomerTier
    reason: CleanText = Field(min_length=1, max_length=500)


class MetricIn(BaseModel):
    """One figure: ``value`` of ``metric`` for the month ``period``, as ``source`` reports it."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=f"^{PERIOD.pattern}$", max_length=7, examples=["2026-10"])
    metric: str = Field(pattern=f"^{NAME.pattern}$", max_length=40, examples=["revenue_12m"])
    value: float = Field(
        strict=True, allow_inf_nan=False, ge=-MAX_METRIC_VALUE, le=MAX_METRIC_VALUE, examples=[125000.5]
    )
    source: str = Field(pattern=f"^{SOURCE.pattern}$", max_length=40, examples=["billing"])

    def figure(self) -> Figure:
        return Figure(self.period, self.metric, self.value, self.source)


class MetricsIn(BaseModel):
    """A batch of one customer's figures; the same figure sent again changes nothing."""

    model_config = ConfigDict(extra="forbid")

    metrics: list[MetricIn] = Field(min_length=1, max_length=1000)


class MetricsRecordedOut(BaseModel):
    """How the batch landed: new figures, figures whose value changed, figures already there as sent."""

    created: int
    updated: int
    unchanged: int
