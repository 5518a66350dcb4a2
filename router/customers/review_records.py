"""A lead signs a customer's quarterly tier review off: one ``tier_review_record`` per customer and quarter,
made, changed and closed here only, each change in the administration log in the same transaction."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import admin_log
from router.customers import service as customers
from router.customers.quarter_review import parse_quarter
from router.customers.review_schemas import ReviewRecordIn
from router.errors import Invalid
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.customers import TierReviewRecord

RECORDED = "customer.tier_review_recorded"


async def record(session: AsyncSession, by: Agent | None, wanted: ReviewRecordIn) -> TierReviewRecord:
    """Make or change the customer's record for the quarter; ``closed`` signs it off (and reopening is allowed:
    a lead may correct a sign-off, the log keeps both)."""
    quarter = parse_quarter(wanted.quarter).label
    customer = await customers.get_customer(session, wanted.customer_id)
    if wanted.owner_id is not None and await session.get(Agent, wanted.owner_id) is None:
        raise Invalid(f"there is no agent {wanted.owner_id} to own the review", field="owner_id")
    found = (
        await session.exec(
            select(TierReviewRecord).where(
                TierReviewRecord.customer_id == wanted.customer_id, TierReviewRecord.quarter == quarter
            )
        )
    ).first()
    actor, now = admin_log.actor_name(by), utcnow()
    if found is None:
        found = TierReviewRecord(
            customer_id=wanted.customer_id, quarter=quarter, reason=wanted.reason, updated_by=actor
        )
        session.add(found)
    before = {"owner_id": found.owner_id, "reason": found.reason, "notes": found.notes, "closed": found.closed}
    found.owner_id, found.reason, found.notes = wanted.owner_id, wanted.reason, wanted.notes.strip()
    if wanted.closed and not found.closed:
        found.closed_at = now
    elif not wanted.closed:
        found.closed_at = None
    found.closed, found.updated_by, found.updated_at = wanted.closed, actor, now
    after = {"owner_id": found.owner_id, "reason": found.reason, "notes": found.notes, "closed": found.closed}
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    admin_log.record(session, by, RECORDED, customers.subject(customer), quarter=quarter, changed=changed)
    await session.flush()
    return found
