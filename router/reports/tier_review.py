"""The quarterly tier review computed off the request loop: over ~100,000 customers it is seconds of Python,
which on the request loop would stall every other request (``router.offload``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers.quarter_review import tier_review_report
from router.customers.review_schemas import TierReviewReport
from router.reports.service import side_loop
from rules.review_periods import ReviewPeriod
from rules.tier_costs import CostRates
from rules.vocabulary import TierScale

T = TypeVar("T")
#: A review still running after this long is cancelled (503); 100,000 customers take a few seconds.
REVIEW_SECONDS = 60.0


async def tier_review_off_loop(
    engine: AsyncEngine,
    period: ReviewPeriod,
    scale: TierScale,
    rates: CostRates,
    finish: Callable[[TierReviewReport], T],
) -> T:
    """``finish(report)`` (a page of it picked, or rendered) computed on the reports' own event loop and
    database connections, so the request loop keeps answering; ``TooSlow`` (503) after ``REVIEW_SECONDS``."""

    async def work() -> T:
        async with AsyncSession(side_loop.reader_like(engine), expire_on_commit=False) as session:
            return finish(await tier_review_report(session, period, scale, rates))

    hint = "try again in a minute, or write the review to a file with `tierroute report tiers`"
    return await side_loop.run(REVIEW_SECONDS, "the tier review", work(), hint=hint)
