"""A lead's change of a customer's value tier: ``POST /customers/{id}/tier`` (agents get a 403 problem)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from router.customers import queries, tiering
from router.customers import service as customers
from router.customers.schemas import CustomerDetailOut, CustomerId, TierChangeIn
from router.deps import CurrentLead, SessionDep
from router.models.customers import TierSource
from router.openapi import JSON_BODY, LEADS_ONLY, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json

api = APIRouter(prefix="/customers", tags=["customers"], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)


@api.post(
    "/{customer_id}/tier",
    response_model=CustomerDetailOut,
    dependencies=[Depends(require_json)],
    responses=problems(404) | JSON_BODY,
)
async def set_tier(
    customer_id: CustomerId, body: TierChangeIn, session: SessionDep, lead: CurrentLead
) -> CustomerDetailOut:
    """Move the customer to another value tier with a reason: kept in its tier history (source ``manual``),
    audited, and told to webhook subscriptions (``customer.tier_changed`` and ``customer.tier_slipped`` or
    ``customer.tier_rose``). The tier it holds already changes nothing."""
    customer = await customers.get_customer(session, customer_id)
    await tiering.retier(session, customer, body.tier, reason=body.reason, by=lead, source=TierSource.manual)
    await session.flush()
    found = await queries.detail(session, customer_id)
    assert found is not None
    return CustomerDetailOut.of(found)
