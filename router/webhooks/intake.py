"""Signed webhook deliveries become ticket changes, exactly once per ``webhook-id``.

A delivery creates a ticket, comments on one, closes or reopens it, or (vendors) reports progress. The
idempotency ledger (``Delivery``, source ``webhook:<name>``) records what each delivery did, so a
redelivery answers the same and changes nothing, also when many copies race.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.customers import service as customers
from router.effects import EffectSink
from router.errors import NotFound
from router.intake.models import Delivery
from router.tickets import service as tickets
from router.tickets.models import OPEN_STATUSES, Priority, Status, Ticket
from router.tickets.schemas import Text
from router.tickets.service import Actor, MailDetails, TicketContext
from router.unit_of_work import rollback
from router.webhooks.config import Source
from router.webhooks.mapping import MappingProblem, PayloadMapping
from router.webhooks.models import WebhookDelivery


@dataclass(frozen=True)
class WebhookOutcome:
    outcome: str
    ticket_id: int
    ticket_ref: str
    duplicate: bool


class MappedTicket(BaseModel):
    """The ticket fields a mapping produced, held to the same limits as the JSON ticket API."""

    model_config = ConfigDict(str_strip_whitespace=True)

    subject: Text = Field(min_length=1, max_length=500)
    body: Text = Field(max_length=200_000)
    requester: EmailStr
    customer_ref: str | None = Field(default=None, min_length=1, max_length=120)
    priority: Priority | None = None
    service: str | None = Field(default=None, min_length=1, max_length=100)
    product: str | None = Field(default=None, min_length=1, max_length=100)
    component: str | None = Field(default=None, min_length=1, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=20)
    external_id: str | None = Field(default=None, min_length=1, max_length=255)


def ledger_source(source: Source) -> str:
    return f"webhook:{source.name}"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float | bool):
        return str(value)
    raise MappingProblem(f"expected a single value, got {type(value).__name__}")


def _mapped_ticket(mapping: PayloadMapping, payload: Any) -> MappedTicket:
    """Read every ticket field; a value the API would refuse is a 422 naming the field and its path."""
    raw: dict[str, Any] = {}
    for name in ("subject", "body", "requester", "customer_ref", "priority", "service", "product", "component"):
        try:
            raw[name] = _text(mapping.read(name, payload, "create"))
        except MappingProblem as exc:
            raise MappingProblem(f"{name}: {exc.detail}" if not exc.detail.startswith(name) else exc.detail) from exc
    raw["body"] = raw["body"] or ""
    tags = mapping.read("tags", payload, "create")
    raw["tags"] = [tags] if isinstance(tags, str) else [str(t) for t in (tags or [])]
    raw["external_id"] = _text(mapping.read("external_id", payload, "create"))
    try:
        return MappedTicket.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "payload"
            spec = mapping.fields.get(name)
            where = f" (from {spec.rule.where})" if spec else ""
            problems.append(f"{name}{where}: {err['msg']}")
        raise MappingProblem("; ".join(problems), errors=problems) from exc


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


async def _target(session: AsyncSession, source: Source, payload: Any, action: str, *, vendor: bool) -> Ticket:
    """The ticket a comment, close, reopen or update is about: by our ref (vendors), else the sender's id."""
    mapping = source.mapping
    ref = _text(mapping.read("ticket_ref", payload, action))
    external_id = _text(mapping.read("external_id", payload, action))
    ticket: Ticket | None = None
    if ref:
        ticket = (await session.exec(select(Ticket).where(Ticket.ref == ref).with_for_update())).first()
        if ticket is not None and not await _may_touch(session, source, ticket, vendor=vendor):
            ticket = None
    elif external_id:
        ticket = await _by_external_id(session, source, external_id, lock=True)
    else:
        raise MappingProblem(f"a {action!r} delivery names its ticket by ticket_ref or external_id; it has neither")
    if ticket is None:
        raise NotFound(
            f"no ticket {ref or external_id!r} from {source.name!r}" + (" was handed to this vendor" if vendor else ""),
            ticket_ref=ref,
            external_id=external_id,
        )
    return ticket


async def _may_touch(session: AsyncSession, source: Source, ticket: Ticket, *, vendor: bool) -> bool:
    """A source changes only its own tickets; a vendor only the tickets handed off to it."""
    if not vendor:
        return ticket.source == ledger_source(source)
    handoff = await session.exec(
        select(WebhookDelivery.id).where(
            WebhookDelivery.ticket_id == ticket.id,
            WebhookDelivery.endpoint_kind == "vendor",
            WebhookDelivery.endpoint == source.name,
        )
    )
    return handoff.first() is not None


async def _create(
    session: AsyncSession, source: Source, payload: Any, webhook_id: str, *, default_customer_tier: int
) -> tuple[str, Ticket]:
    fields = _mapped_ticket(source.mapping, payload)
    actor = Actor(f"webhook:{source.name}")
    external_id = fields.external_id or webhook_id
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
    )
    return "created", ticket


async def _change(
    session: AsyncSession, source: Source, payload: Any, action: str, *, vendor: bool
) -> tuple[str, Ticket]:
    ticket = await _target(session, source, payload, action, vendor=vendor)
    actor = Actor(f"webhook:{source.name}")
    mapping = source.mapping
    body = _text(mapping.read("body", payload, action))
    if action == "comment":
        author = _text(mapping.read("requester", payload)) or actor.name
        await tickets.add_inbound(session, ticket, author=author[:320], body=body or "", mail=MailDetails())
        return "commented", ticket
    if action == "close":
        if ticket.status not in OPEN_STATUSES:
            return "unchanged", ticket
        await tickets.resolve(session, ticket, actor, resolution=body)
        return "closed", ticket
    if action == "reopen":
        if ticket.status not in (Status.resolved, Status.closed) or ticket.support_tier is None:
            return "unchanged", ticket
        await tickets.reopen(session, ticket, actor, reason=body)
        return "reopened", ticket
    status = _text(mapping.read("vendor_status", payload, action))
    vendor_ref = _text(mapping.read("vendor_ref", payload, action))
    await tickets.record_vendor_update(
        session, ticket, actor, status=status and status[:100], vendor_ref=vendor_ref and vendor_ref[:255], body=body
    )
    return "updated", ticket


async def receive(
    session: AsyncSession,
    sink: EffectSink,
    source: Source,
    *,
    webhook_id: str,
    payload: Any,
    vendor: bool,
    default_customer_tier: int,
) -> WebhookOutcome:
    """Apply one verified delivery, or answer what its first copy did.

    Copies racing past the first look-up meet at the ledger's unique key: the loser rolls back its whole
    transaction and answers with the winner's outcome.
    """
    replayed = await _replayed(session, source, webhook_id)
    if replayed is not None:
        return replayed
    action = source.mapping.action(payload)
    if action == "create":
        outcome, ticket = await _create(
            session, source, payload, webhook_id, default_customer_tier=default_customer_tier
        )
    else:
        outcome, ticket = await _change(session, source, payload, action, vendor=vendor)
    assert ticket.id is not None and ticket.ref is not None
    session.add(Delivery(source=ledger_source(source), delivery_id=webhook_id, ticket_id=ticket.id, outcome=outcome))
    try:
        await session.flush()
    except IntegrityError:
        await rollback(session, sink)
        replayed = await _replayed(session, source, webhook_id)
        if replayed is None:  # the winner rolled back too; the sender retries
            raise
        return replayed
    return WebhookOutcome(outcome, ticket.id, ticket.ref, duplicate=False)
