"""What the agent UI warns about a customer, on its card, its page and its open tickets' pages: a slip (the
latest tier change went to a worse tier, within ``SLIP_SHOWN``) and an early warning still in its window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import at_risk
from router.models.customers import CustomerTierChange
from rules.vocabulary import better

#: How long a slip stays on the banners: a quarter, the review's cadence.
SLIP_SHOWN = timedelta(days=92)


@dataclass(frozen=True)
class Banner:
    #: ``slipped`` or ``at_risk`` (the CSS class and the test hook).
    kind: str
    text: str
    at: datetime


async def for_customer(session: AsyncSession, customer_id: int | None, now: datetime) -> list[Banner]:
    if customer_id is None:
        return []
    found: list[Banner] = []
    last = (
        await session.exec(
            select(CustomerTierChange)
            .where(CustomerTierChange.customer_id == customer_id, col(CustomerTierChange.from_tier).is_not(None))
            .order_by(col(CustomerTierChange.at).desc(), col(CustomerTierChange.id).desc())
            .limit(1)
        )
    ).first()
    if last is not None and last.from_tier is not None and _slipped_lately(last.from_tier, last.to_tier, last.at, now):
        text = f"Slipped from tier {last.from_tier} to tier {last.to_tier}" + (
            f": {last.reason}" if last.reason else ""
        )
        found.append(Banner("slipped", text, last.at))
    warned = await at_risk.latest(session, customer_id, now)
    if warned is not None:
        reached = ", ".join(f"{s} {warned.counts.get(s, 0)}" for s in warned.crossed)
        text = f"At risk of slipping: in {warned.window_days} days their tickets reached {reached}"
        found.append(Banner("at_risk", text, warned.at))
    return found


def _slipped_lately(from_tier: int, to_tier: int, at: datetime, now: datetime) -> bool:
    return better(from_tier, to_tier) and at + SLIP_SHOWN > now
