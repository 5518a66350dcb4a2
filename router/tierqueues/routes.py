"""Queue endpoints: overview, one tier's ordered contents, and the atomic claim."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from router.bounds import Offset
from router.deps import ContextDep, CurrentAgent, SessionDep, SupportTierPath
from router.metrics import CLAIMS
from router.openapi import SIGNED_IN, answer, problems
from router.tickets.actors import Actor, require_tier
from router.tickets.queries import ticket_view, ticket_views
from router.tickets.schemas import TicketOut
from router.tierqueues import claim_keys
from router.tierqueues import service as queues
from router.tierqueues.schemas import TierQueueOut, TierQueuePage

api = APIRouter(prefix="/queues", tags=["queues"], responses=SIGNED_IN)


@api.get("", response_model=list[TierQueueOut])
async def overview(ctx: ContextDep, _agent: CurrentAgent) -> list[TierQueueOut]:
    """Depth and age of the oldest waiting ticket, per support tier."""
    rows = await queues.overview(ctx.tier_queue, ctx.settings.support_tier_names)
    return [TierQueueOut(**vars(r)) for r in rows]


@api.get("/{tier}", response_model=TierQueuePage, responses=problems(403, 422))
async def tier_page(
    tier: SupportTierPath,
    ctx: ContextDep,
    session: SessionDep,
    _agent: CurrentAgent,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> TierQueuePage:
    """The tier's queue in claim order (priority, customer tier, age)."""
    require_tier(Actor.of(_agent), tier)
    rows, total = await queues.page(session, ctx.tier_queue, tier, offset=offset, limit=limit)
    items = await ticket_views(session, rows)
    return TierQueuePage(tier=tier, total=total, offset=offset, limit=limit, items=items)


#: A client's own key for one claim: printable ASCII, as the IETF Idempotency-Key header draft has it.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="retrying a claim with the same key returns the ticket the first attempt took, for 24 hours",
    ),
]


@api.post(
    "/{tier}/claim",
    response_model=TicketOut,
    responses=answer(204, "the queue is empty")
    | answer(200, "the claimed ticket (Idempotent-Replayed: true when a retry returns an earlier claim's)")
    | problems(403, 409, 422),
)
async def claim(
    tier: SupportTierPath,
    ctx: ContextDep,
    session: SessionDep,
    agent: CurrentAgent,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> TicketOut | Response:
    """Take the head of the queue; no ticket ever goes to two agents, and one key claims one ticket."""
    result = await claim_keys.claim(session, ctx.tier_queue, tier, agent, idempotency_key)
    if result.ticket is None:
        return Response(status_code=204)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        CLAIMS.labels(str(tier)).inc()
    return await ticket_view(session, result.ticket)
