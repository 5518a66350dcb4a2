"""Signed webhook deliveries become ticket changes, exactly once per ``webhook-id``.

A delivery creates a ticket, comments on one, closes or reopens it, or (vendors) reports progress. The
idempotency ledger (``Delivery``, source ``webhook:<name>``) records what each delivery did, so a
redelivery answers the same and changes nothing, also when many copies race.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.effects import EffectSink
from router.errors import NotFound, Unavailable
from router.intake.service import record_once
from router.models.intake import Delivery
from router.models.tickets import OPEN_STATUSES, Priority, Status, Ticket
from router.models.webhooks import WebhookDelivery
from router.routing import service as routing
from router.tickets import deliveries
from router.tickets import service as tickets
from router.tickets.actors import Actor
from router.tickets.inputs import MailDetails, NewTicket, TicketContext
from router.tickets.schemas import Text
from router.webhooks.config import Source
from router.webhooks.mapping import MappingProblem, PayloadMapping
from rules import Rulebook
from rules.vocabulary import VENDOR_TIER

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class WebhookOutcome:
    outcome: str
    ticket_id: int
    ticket_ref: str
    duplicate: bool


Tag = Annotated[Text, Field(min_length=1, max_length=50)]


class MappedTicket(BaseModel):
    """The ticket fields a mapping produced, held to the same limits as the JSON ticket API."""

    model_config = ConfigDict(str_strip_whitespace=True)

    subject: Text = Field(min_length=1, max_length=500)
    body: Text = Field(max_length=200_000)
    requester: EmailStr
    customer_ref: Text | None = Field(default=None, min_length=1, max_length=120)
    priority: Priority | None = None
    service: Text | None = Field(default=None, min_length=1, max_length=100)
    product: Text | None = Field(default=None, min_length=1, max_length=100)
    component: Text | None = Field(default=None, min_length=1, max_length=100)
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    external_id: Text | None = Field(default=None, min_length=1, max_length=255)


class MappedChange(BaseModel):
    """What a comment, close, reopen or update delivery carries."""

    model_config = ConfigDict(str_strip_whitespace=True)

    ticket_ref: Text | None = Field(default=None, min_length=1, max_length=20)
    external_id: Text | None = Field(default=None, min_length=1, max_length=255)
    body: Text | None = Field(default=None, max_length=200_000)
    requester: Text | None = Field(default=None, max_length=300)
    vendor_status: Text | None = Field(default=None, max_length=100)
    vendor_ref: Text | None = Field(default=None, max_length=255)


def ledger_source(source: Source) -> str:
    return f"webhook:{source.name}"


def _scalar(mapping: PayloadMapping, name: str, payload: Any, action: str) -> str | None:
    value = mapping.read(name, payload, action)
    if value is None:
        return None
    if isinstance(value, str | int | float | bool):
        return str(value)
    spec = mapping.fields.get(name)
    where = f" ({spec.rule.where})" if spec else ""
    raise MappingProblem(f"{name}{where}: expected a single value, got {type(value).__name__}", field=name)


def _tags(mapping: PayloadMapping, payload: Any) -> list[Any]:
    tags = mapping.read("tags", payload, "create")
    if tags is None:
        return []
    if isinstance(tags, str):
        return [tags]
    if isinstance(tags, list) and all(isinstance(t, str | int | float) for t in tags):
        return [str(t) for t in tags]
    raise MappingProblem("tags: expected a string or a list of strings", field="tags")


def _validated(model: type[M], mapping: PayloadMapping, raw: dict[str, Any]) -> M:
    """Validate mapped values; a value the API would refuse is a 422 naming the field and its path."""
    try:
        return model.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "payload"
            spec = mapping.fields.get(name)
            where = f" (from {spec.rule.where})" if spec else ""
            problems.append(f"{name}{where}: {err['msg']}")
        raise MappingProblem("; ".join(problems), errors=problems) from exc


def _mapped_ticket(mapping: PayloadMapping, payload: Any) -> MappedTicket:
    names = ("subject", "body", "requester", "customer_ref", "priority", "service", "product", "component")
    raw: dict[str, Any] = {name: _scalar(mapping, name, payload, "create") for name in names}
    raw["body"] = raw["body"] or ""
    raw["tags"] = _tags(mapping, payload)
    raw["external_id"] = _scalar(mapping, "external_id", payload, "create")
    return _validated(MappedTicket, mapping, raw)


def _mapped_change(mapping: PayloadMapping, payload: Any, action: str) -> MappedChange:
    names = ("ticket_ref", "external_id", "body", "requester", "vendor_status", "vendor_ref")
    return _validated(MappedChange, mapping, {name: _scalar(mapping, name, payload, action) for name in names})


def new_ticket(source: Source, payload: Any, webhook_id: str, *, default_customer_tier: int) -> NewTicket:
    """A ``create`` delivery as batched intake takes it (``router.intake.batcher``); the mapping is checked here,
    so a bad payload is a ``MappingProblem`` before anything is written. What ``_create`` would open, with
    the same ledger key; a still-open ticket with the same external id comes back ``Deferred`` (a comment)."""
    fields = _mapped_ticket(source.mapping, payload)
    return NewTicket(
        source=ledger_source(source),
        delivery_id=webhook_id,
        external_id=fields.external_id or webhook_id,
        subject=fields.subject,
        body=fields.body,
        requester_email=str(fields.requester).lower(),
        customer_ref=fields.customer_ref,
        priority_hint=fields.priority.value if fields.priority else None,
        channel=source.channel,
        actor=f"webhook:{source.name}",
        default_customer_tier=default_customer_tier,
        context=TicketContext(
            product=fields.product, component=fields.component, service=fields.service, tags=tuple(fields.tags)
        ),
        merge_open=True,
    )


async def _replayed(session: AsyncSession, source: Source, webhook_id: str) -> WebhookOutcome | None:
    row = (
        await session.exec(
            select(Delivery, Ticket)
            .join(Ticket, Ticket.id == Delivery.ticket_id)  # type: ignore[arg-type]
            .where(Delivery.source == ledger_source(source), Delivery.delivery_id == webhook_id)
        )
    ).first()
    if row is None:
        return None
    delivery, ticket = row
    assert ticket.id is not None and ticket.ref is not None
    return WebhookOutcome(delivery.outcome, ticket.id, ticket.ref, duplicate=True)


async def _by_external_id(session: AsyncSession, source: Source, external_id: str, *, lock: bool) -> Ticket | None:
    query = (
        select(Ticket)
        .where(Ticket.source == ledger_source(source), Ticket.external_id == external_id)
        .order_by(col(Ticket.id).desc())
    )
    if lock:
        query = query.with_for_update()
    return (await session.exec(query)).first()


async def _target(session: AsyncSession, source: Source, change: MappedChange, action: str, *, vendor: bool) -> Ticket:
    """The ticket a change is about: by our ref (vendors), else the sender's own id."""
    ticket: Ticket | None = None
    if change.ticket_ref:
        ticket = (await session.exec(select(Ticket).where(Ticket.ref == change.ticket_ref).with_for_update())).first()
        if ticket is not None and not await _may_touch(session, source, ticket, vendor=vendor):
            ticket = None
    elif change.external_id:
        ticket = await _by_external_id(session, source, change.external_id, lock=True)
    else:
        raise MappingProblem(f"a {action!r} delivery names its ticket by ticket_ref or external_id; it has neither")
    if ticket is None:
        held = " that is handed to this vendor now" if vendor else ""
        raise NotFound(
            f"no ticket {change.ticket_ref or change.external_id!r} from {source.name!r}{held}",
            ticket_ref=change.ticket_ref,
            external_id=change.external_id,
        )
    return ticket


async def _may_touch(session: AsyncSession, source: Source, ticket: Ticket, *, vendor: bool) -> bool:
    """A source changes only its own tickets; a vendor only tickets at tier 4 whose latest handoff is its own."""
    if not vendor:
        return ticket.source == ledger_source(source)
    if ticket.support_tier != VENDOR_TIER:
        return False
    latest = await session.exec(
        select(WebhookDelivery.endpoint)
        .where(WebhookDelivery.ticket_id == ticket.id, WebhookDelivery.endpoint_kind == "vendor")
        .order_by(col(WebhookDelivery.id).desc())
        .limit(1)
    )
    return latest.first() == source.name


async def _lock_external_id(session: AsyncSession, source: Source, external_id: str) -> None:
    """Serialise deliveries about one external id (different webhook-ids for the same alert, sent at once).

    PostgreSQL: a transaction-scoped advisory lock on the key; SQLite's ``BEGIN IMMEDIATE`` already
    serialises writers.
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"{ledger_source(source)}|{external_id}"},
        )


async def _create(
    session: AsyncSession,
    source: Source,
    payload: Any,
    webhook_id: str,
    *,
    default_customer_tier: int,
    route_after_commit: bool,
) -> tuple[str, Ticket]:
    fields = _mapped_ticket(source.mapping, payload)
    actor = Actor(f"webhook:{source.name}")
    external_id = fields.external_id or webhook_id
    await _lock_external_id(session, source, external_id)
    existing = await _by_external_id(session, source, external_id, lock=True)
    if existing is not None and existing.status in OPEN_STATUSES:
        # A repeated alert (same external id) adds to the open ticket instead of opening another.
        await tickets.add_inbound(
            session, existing, author=str(fields.requester), body=fields.body or fields.subject, mail=MailDetails()
        )
        return "commented", existing
    customer = await customers.find_for_requester(session, str(fields.requester), fields.customer_ref)
    ticket = await tickets.open_ticket(
        session,
        subject=fields.subject,
        body=fields.body,
        requester_email=str(fields.requester).lower(),
        customer_id=customer.id if customer else None,
        customer_tier=customer.value_tier if customer else default_customer_tier,
        priority_hint=fields.priority.value if fields.priority else None,
        channel=source.channel,
        source=ledger_source(source),
        external_id=external_id,
        actor=actor,
        context=TicketContext(
            product=fields.product, component=fields.component, service=fields.service, tags=tuple(fields.tags)
        ),
        route_after_commit=route_after_commit,
    )
    return "created", ticket


async def _change(
    session: AsyncSession, source: Source, payload: Any, action: str, *, vendor: bool
) -> tuple[str, Ticket]:
    change = _mapped_change(source.mapping, payload, action)
    if change.external_id and not change.ticket_ref:
        await _lock_external_id(session, source, change.external_id)
    ticket = await _target(session, source, change, action, vendor=vendor)
    actor = Actor(f"webhook:{source.name}")
    if action == "comment":
        if vendor:  # the vendor's words, never mistaken for the requester's (no reopen, no resume)
            await tickets.add_inbound(
                session,
                ticket,
                author=f"vendor:{source.name}",
                body=change.body or "",
                mail=MailDetails(),
                kind="vendor_comment",
            )
        else:
            author = change.requester or actor.name
            await tickets.add_inbound(session, ticket, author=author[:320], body=change.body or "", mail=MailDetails())
        return "commented", ticket
    if action == "close":
        if ticket.status not in OPEN_STATUSES:
            return "unchanged", ticket
        await tickets.resolve(session, ticket, actor, resolution=change.body)
        return "closed", ticket
    if action == "reopen":
        if ticket.status not in (Status.resolved, Status.closed) or ticket.support_tier is None:
            return "unchanged", ticket
        await tickets.reopen(session, ticket, actor, reason=change.body)
        return "reopened", ticket
    await deliveries.record_vendor_update(
        session, ticket, actor, status=change.vendor_status, vendor_ref=change.vendor_ref, body=change.body
    )
    return "updated", ticket


VENDOR_ACTIONS = ("comment", "update", "close")


async def receive(
    session: AsyncSession,
    sink: EffectSink,
    source: Source,
    *,
    webhook_id: str,
    payload: Any,
    vendor: bool,
    default_customer_tier: int,
    rulebook: Rulebook | None = None,
) -> WebhookOutcome:
    """Apply one verified delivery, or answer what its first copy did.

    Copies racing past the first look-up meet at the ledger's unique key: the loser rolls back its whole
    transaction and answers with the winner's outcome.
    """
    replayed = await _replayed(session, source, webhook_id)
    if replayed is not None:
        return replayed
    action = source.mapping.action(payload)
    if vendor and action not in VENDOR_ACTIONS:
        raise MappingProblem(f"a vendor may {', '.join(VENDOR_ACTIONS)}; not {action!r}", field="event")
    if action == "create":
        outcome, ticket = await _create(
            session,
            source,
            payload,
            webhook_id,
            default_customer_tier=default_customer_tier,
            route_after_commit=rulebook is None,
        )
    else:
        outcome, ticket = await _change(session, source, payload, action, vendor=vendor)
    assert ticket.id is not None and ticket.ref is not None
    row = Delivery(source=ledger_source(source), delivery_id=webhook_id, ticket_id=ticket.id, outcome=outcome)
    try:
        replayed = await record_once(session, sink, row, lambda: _replayed(session, source, webhook_id))
    except IntegrityError:  # the winner rolled back too: the sender should simply retry
        raise Unavailable("a concurrent copy of this delivery failed; retry", retry_after=1) from None
    if replayed is not None:
        return replayed
    if outcome == "created" and rulebook is not None:  # routed once the ledger has it (see intake.submit)
        await routing.route_opened(session, ticket, rulebook)
    return WebhookOutcome(outcome, ticket.id, ticket.ref, duplicate=False)
