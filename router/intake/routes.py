"""Intake endpoints: ``POST /tickets`` (a new ticket as JSON) and ``POST /intake/email`` (a raw email).

Creating a ticket is intake, so it lives here, with its shapes in ``router/intake/schemas.py``; reading and
changing tickets is ``router/tickets/routes.py``, signed webhooks ``router/webhooks/routes.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from router.deps import ActorWithoutTransaction, ContextDep
from router.intake import email_service
from router.intake.schemas import EmailAccepted, TicketAccepted, TicketIn
from router.metrics import TICKETS_ACCEPTED
from router.openapi import JSON_BODY, SIGNED_IN, problems
from router.problems import UnsupportedMediaType, require_json
from router.tickets.inputs import NewTicket, Opened, TicketContext
from router.unit_of_work import transaction

api = APIRouter(tags=["intake"], responses=SIGNED_IN)


@api.post(
    "/tickets",
    status_code=202,
    response_model=TicketAccepted,
    dependencies=[Depends(require_json)],
    responses=JSON_BODY,
)
async def create_ticket(
    body: TicketIn, ctx: ContextDep, actor: ActorWithoutTransaction, response: Response
) -> TicketAccepted:
    """Accept a ticket; answered only once it is committed, routed and queued (group commit: see
    ``router.intake.batcher``). The same ``external_id`` returns the same ticket."""
    opened = await ctx.batcher().open(
        NewTicket(
            source=f"api:{body.channel}",
            delivery_id=body.external_id,
            subject=body.subject,
            body=body.body,
            requester_email=str(body.requester_email).lower(),
            customer_ref=body.customer_ref,
            priority_hint=body.priority.value if body.priority else None,
            channel=body.channel,
            actor=actor.name,
            default_customer_tier=ctx.settings.default_customer_tier,
            context=TicketContext(
                product=body.product, component=body.component, service=body.service, tags=tuple(body.tags)
            ),
        )
    )
    assert isinstance(opened, Opened)  # JSON intake never merges into an open ticket
    if opened.created:
        TICKETS_ACCEPTED.labels(body.channel).inc()
    response.headers["Location"] = f"/api/v1/tickets/{opened.ticket_id}"
    return TicketAccepted(id=opened.ticket_id, ref=opened.ref, status=opened.status, created=opened.created)


async def require_rfc822(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "message/rfc822":
        raise UnsupportedMediaType(f"send the raw email as message/rfc822 (got {content_type or 'no content type'})")


@api.post(
    "/intake/email",
    status_code=202,
    response_model=EmailAccepted,
    dependencies=[Depends(require_rfc822)],
    responses=problems(400, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def ingest_email(request: Request, ctx: ContextDep, actor: ActorWithoutTransaction) -> EmailAccepted:
    """A raw email (message/rfc822): a new ticket, a reply on its ticket, or an automatic mail set aside.

    A mail that looks new goes through group commit (``router.intake.batcher``); replies, automatic mail,
    repeats and senders over their rate limit are handled one at a time, in a transaction of their own."""
    prepared = await email_service.prepare_off_loop(await request.body(), settings=ctx.settings, store=ctx.blobs)
    item = email_service.new_ticket(prepared, source="email:http", actor=actor.name, settings=ctx.settings)
    if item is not None:
        opened = await ctx.batcher().open(item)
        if isinstance(opened, Opened):
            TICKETS_ACCEPTED.labels("email").inc()
            return EmailAccepted(
                outcome="created", reason=None, ticket_id=opened.ticket_id, ticket_ref=opened.ref, duplicate=False
            )
    async with transaction(ctx.sessionmaker, ctx.effects) as session:
        outcome = await email_service.ingest_prepared(
            session,
            ctx.effects,
            prepared,
            settings=ctx.settings,
            source="email:http",
            actor=actor,
            rulebook=ctx.rulebook.current(),
        )
    if outcome.outcome == "created" and not outcome.duplicate:
        TICKETS_ACCEPTED.labels("email").inc()
    return EmailAccepted(**vars(outcome))
