"""Webhook endpoints: signed intake per source, and the outbound deliveries a ticket caused."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from router.deps import ContextDep, CurrentLead, SessionDep, TicketFromPath
from router.errors import DomainError, Invalid, NotFound
from router.metrics import TICKETS_ACCEPTED
from router.models.webhooks import DeliveryStatus
from router.openapi import JSON_BODY, LEADS_ONLY, ONE_TICKET, SIGNED_IN_WITH_PARAMETERS, problems
from router.problems import require_json
from router.tickets.inputs import Opened
from router.unit_of_work import transaction
from router.webhooks import intake, queries
from router.webhooks.config import Source
from router.webhooks.schemas import DeliveryOut, WebhookAccepted
from router.webhooks.signatures import verify

api = APIRouter(tags=["webhooks"])


class DeliveryState(StrEnum):
    """The states of ``router.models.webhooks.DeliveryStatus`` a listing may filter on."""

    pending = DeliveryStatus.pending
    delivered = DeliveryStatus.delivered
    failed = DeliveryStatus.failed


class TooManyRequests(DomainError):
    status = 429
    title = "Too many requests"


async def webhook_source(source: Annotated[str, Path(max_length=64)], ctx: ContextDep) -> Source:
    found = ctx.webhooks.source(source)
    if found is None:
        raise NotFound(f"no webhook source named {source!r} is configured", source=source)
    return found


WebhookSource = Annotated[Source, Depends(webhook_source)]


@api.post(
    "/intake/webhooks/{source}",
    status_code=202,
    response_model=WebhookAccepted,
    dependencies=[Depends(require_json)],
    responses=problems(401, 404, 429, 503) | JSON_BODY,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "the event; the webhook-id, webhook-timestamp and webhook-signature headers sign it",
            "content": {"application/json": {"schema": {}}},
        }
    },
)
async def receive_webhook(
    source: WebhookSource, request: Request, ctx: ContextDep, response: Response
) -> WebhookAccepted:
    """A Standard Webhooks delivery: verified, rate limited, mapped to a ticket change, once per ``webhook-id``.

    A new ticket goes through group commit (``router.intake.batcher``) like JSON intake; comments, closes,
    reopens, vendor updates and a repeated alert on an open ticket run in a transaction of their own."""
    body = await request.body()
    webhook_id = verify(source.secrets, body, request.headers)
    key = f"webhook:{source.name}"
    if await ctx.counters.hit(key, source.rate_window) > source.rate_limit:
        _, wait = await ctx.counters.count(key)
        raise TooManyRequests(
            f"source {source.name!r} may send {source.rate_limit} deliveries per {source.rate_window} s",
            retry_after=wait,
        )
    try:
        payload: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Invalid(f"the body is not valid JSON: {exc}", field="body") from exc
    vendor = source.name in ctx.webhooks.vendors
    outcome: intake.WebhookOutcome | None = None
    if not vendor and source.mapping.action(payload) == "create":
        item = intake.new_ticket(source, payload, webhook_id, default_customer_tier=ctx.settings.default_customer_tier)
        opened = await ctx.batcher().open(item)
        if isinstance(opened, Opened):
            outcome = intake.WebhookOutcome(opened.outcome, opened.ticket_id, opened.ref, duplicate=not opened.created)
    if outcome is None:
        async with transaction(ctx.sessionmaker, ctx.effects) as session:
            outcome = await intake.receive(
                session,
                ctx.effects,
                source,
                webhook_id=webhook_id,
                payload=payload,
                vendor=vendor,
                default_customer_tier=ctx.settings.default_customer_tier,
                rulebook=ctx.rulebook.current(),
            )
    if outcome.outcome == "created" and not outcome.duplicate:
        TICKETS_ACCEPTED.labels("webhook").inc()
    response.headers["Location"] = f"/api/v1/tickets/{outcome.ticket_id}"
    return WebhookAccepted(**vars(outcome))


@api.get(
    "/tickets/{ticket_id}/webhooks", response_model=list[DeliveryOut], responses=SIGNED_IN_WITH_PARAMETERS | ONE_TICKET
)
async def ticket_deliveries(ticket: TicketFromPath, session: SessionDep) -> list[DeliveryOut]:
    """Outbound webhooks this ticket caused (vendor handoffs, subscriptions), with every attempt's outcome."""
    assert ticket.id is not None
    rows = await queries.deliveries(session, ticket_id=ticket.id)
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in rows]


@api.get("/webhooks/deliveries", response_model=list[DeliveryOut], responses=SIGNED_IN_WITH_PARAMETERS | LEADS_ONLY)
async def list_deliveries(
    session: SessionDep,
    _lead: CurrentLead,
    status: DeliveryState | None = None,
    limit: Annotated[int, Query(description="at most 500 (more is read as 500)")] = 100,
) -> list[DeliveryOut]:
    """Leads: recent outbound deliveries, e.g. ``status=failed`` to see what never arrived."""
    rows = await queries.deliveries(session, status=status, limit=min(max(limit, 1), 500))
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in rows]
