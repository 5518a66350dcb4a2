"""Cost to serve kept as metrics, so that it feeds the tier score like any other figure.

A month's cost is measured once (``cost.cost_to_serve``) and recorded per customer as ``customer_metric``
rows from the source ``tierroute``: ``support_hours``, ``support_cost`` and ``vendor_handoffs`` of that
month, zero for a customer with none (no support is a figure too). Scoring and the quarterly review then
read a year of cost from the metrics table instead of reading a year of audit trail again. Recording the
same month again is idempotent: only figures that changed are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import cost, metrics
from router.customers.metrics import Figure, Recorded
from router.models import metadata
from rules.tier_costs import CostRates

#: The source of the figures tierroute measures itself.
SOURCE = "tierroute"
HOURS = "support_hours"
COST = "support_cost"
HANDOFFS = "vendor_handoffs"
CUSTOMER = metadata.tables["customer"]


@dataclass(frozen=True)
class MonthRecorded:
    customers: int
    with_cost: int
    figures: Recorded


async def record_month(session: AsyncSession, month: date, rates: CostRates) -> MonthRecorded:
    """Measure ``month`` (its first day) for every customer and record the three figures of each."""
    first = date(month.year, month.month, 1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    costs = await cost.cost_to_serve(session, first, following, rates)
    period = f"{first:%Y-%m}"
    ids = (await (await session.connection()).execute(select(CUSTOMER.c.id).order_by(CUSTOMER.c.id))).scalars().all()
    figures: list[tuple[int, Figure]] = []
    for customer_id in ids:
        monthly = costs.get(customer_id)
        found = monthly[0] if monthly else None
        hours = float(found.handling_hours) if found else 0.0
        total = float(found.total) if found else 0.0
        handoffs = float(found.vendor_handoffs) if found else 0.0
        figures += [
            (customer_id, Figure(period, HOURS, hours, SOURCE)),
            (customer_id, Figure(period, COST, total, SOURCE)),
            (customer_id, Figure(period, HANDOFFS, handoffs, SOURCE)),
        ]
    done = await metrics.upsert(session, figures)
    return MonthRecorded(len(ids), len(costs), sum(done.values(), Recorded()))
