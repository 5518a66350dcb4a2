"""The breach forecast of one tier's queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from router.bounds import Offset
from router.deps import ContextDep, CurrentAgent, SessionDep, SupportTierPath
from router.forecast import service as forecasts
from router.forecast.schemas import ForecastOut
from router.models.columns import utcnow
from router.openapi import SIGNED_IN, problems
from router.tickets.actors import Actor, require_tier

api = APIRouter(prefix="/queues", tags=["queues"], responses=SIGNED_IN)


@api.get("/{tier}/forecast", response_model=ForecastOut, responses=problems(403, 422))
async def tier_forecast(
    tier: SupportTierPath,
    ctx: ContextDep,
    session: SessionDep,
    agent: CurrentAgent,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    breaches_only: Annotated[bool, Query(description="list only the tickets predicted to breach")] = False,
) -> ForecastOut:
    """When each waiting ticket is predicted to be picked up, in claim order, and which will be too late."""
    require_tier(Actor.of(agent), tier)
    made = await forecasts.tier_forecast(session, ctx.settings, tier, utcnow())
    return forecasts.forecast_out(made, offset=offset, limit=limit, breaches_only=breaches_only)
