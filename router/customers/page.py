"""The agent UI's customer page, read in one place: tier and its history, the score the policy gives now (with
its components), the newest metrics, open tickets, the cost to serve of the last twelve months, banners."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import banners, cost, queries
from router.customers.figures import load_figures
from router.models.customers import CustomerMetric
from router.models.tickets import OPEN_STATUSES, Ticket
from rules.review_periods import add_months, first_day, month_of, period_of
from rules.scoring import Score, score
from rules.tiers import TierPolicy

#: Open tickets listed on the page (newest first).
OPEN_LISTED = 50


@dataclass(frozen=True)
class CustomerPage:
    card: queries.CustomerCard
    score: Score
    metrics: list[CustomerMetric]
    open_tickets: list[Ticket]
    costs: list[cost.MonthlyCost]
    currency: str
    banners: list[banners.Banner]

    @property
    def cost_total(self) -> Decimal:
        return sum((m.total for m in self.costs), Decimal(0))


async def customer_page(
    session: AsyncSession, customer_id: int, policy: TierPolicy, now: datetime
) -> CustomerPage | None:
    found = await queries.card(session, customer_id)
    if found is None:
        return None
    c = found.customer
    period = period_of(now.date(), "quarterly")
    figures = await load_figures(session, policy, period.last_metric_period, customer_ids=[customer_id])
    scored = score(policy, figures.get(customer_id, {}), c.attributes or {}, c.value_tier)
    tickets = await session.exec(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, col(Ticket.status).in_(OPEN_STATUSES))
        .order_by(col(Ticket.id).desc())
        .limit(OPEN_LISTED)
    )
    start: date = first_day(add_months(month_of(now.date()), -11))
    end: date = first_day(add_months(month_of(now.date()), 1))
    costs = await cost.cost_to_serve(session, start, end, policy.costs, [customer_id], now=now)
    return CustomerPage(
        card=found,
        score=scored,
        metrics=await queries.metrics.latest(session, customer_id),
        open_tickets=list(tickets.all()),
        costs=costs.get(customer_id, []),
        currency=policy.costs.currency,
        banners=await banners.for_customer(session, customer_id, now),
    )
