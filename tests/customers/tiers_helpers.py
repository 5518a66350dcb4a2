"""Small builders for the customer tier tests: a policy, metrics, and what a customer's changes left behind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.admin import AdminEvent
from router.models.customers import CustomerMetric, CustomerTierChange
from router.models.events import OutboxEvent
from router.unit_of_work import commit
from rules.review_periods import add_months
from rules.tier_loader import parse_tier_policy
from rules.tiers import TierPolicy

#: Revenue over a year decides, with a margin criterion beside it; rises are made at once, slips need two
#: quarterly reviews in a row; ``strategic`` is worth a tier.
POLICY = """\
best: {best}
criteria:
  - id: revenue
    metric: revenue
    window: 12
    normalise: {{bands: [{{from: 0, points: 0}}, {{from: 12000, points: 30}}, {{from: 60000, points: 70}},
                         {{from: 120000, points: 100}}]}}
    weight: 80
  - id: profit
    metric: margin
    minus: cost_to_serve
    window: 12
    normalise: {{linear: {{min: 0, max: 50000}}}}
    weight: 20
thresholds: {thresholds}
bumps: [{{attribute: strategic}}]
bump_limit: 1
hysteresis: {{up: 1, down: 2}}
"""


def tier_policy(best: int = 1) -> TierPolicy:
    thresholds = "{1: 70, 2: 45, 3: 20}" if best == 1 else "{4: 70, 3: 45, 2: 20}"
    return parse_tier_policy(POLICY.format(best=best, thresholds=thresholds), "tiers.yaml")


async def add_monthly(
    runtime: Runtime, customer_id: int, metric: str, per_month: float, *, last: str = "2026-12", months: int = 15
) -> None:
    """``per_month`` for each of the ``months`` metric periods up to ``last`` (replacing what was there): by
    default 2025-10 to 2026-12, a full year for the reviews of 2026Q4 and 2027Q1."""
    async with runtime.app.sessionmaker() as s:
        old = await s.exec(
            select(CustomerMetric).where(CustomerMetric.customer_id == customer_id, CustomerMetric.metric == metric)
        )
        for row in old.all():
            await s.delete(row)
        await s.flush()
        for i in range(months):
            s.add(
                CustomerMetric(
                    customer_id=customer_id, period=add_months(last, -i), metric=metric, value=per_month,
                    source="billing",
                )
            )  # fmt: skip
        await commit(s, runtime.app.effects)


@dataclass
class Trail:
    """A customer's tier history, administration log entries and outbox events."""

    history: list[CustomerTierChange]
    audit: list[AdminEvent]
    events: list[OutboxEvent]

    @property
    def changes(self) -> list[CustomerTierChange]:
        return [h for h in self.history if h.from_tier is not None]

    def event_types(self) -> list[str]:
        return [e.type for e in self.events]


async def trail(runtime: Runtime, customer_id: int) -> Trail:
    async with runtime.app.sessionmaker() as s:
        history = await s.exec(
            select(CustomerTierChange)
            .where(CustomerTierChange.customer_id == customer_id)
            .order_by(col(CustomerTierChange.id))
        )
        audit = await s.exec(
            select(AdminEvent)
            .where(AdminEvent.subject == f"customer:{customer_id}", AdminEvent.action == "customer.retiered")
            .order_by(col(AdminEvent.id))
        )
        events = await s.exec(
            select(OutboxEvent).where(OutboxEvent.customer_id == customer_id).order_by(col(OutboxEvent.created_at))
        )
        return Trail(list(history.all()), list(audit.all()), sorted(events.all(), key=_event_order))


def _event_order(event: OutboxEvent) -> Any:
    return (event.created_at, event.type != "customer.tier_changed")
