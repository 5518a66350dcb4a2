"""Read-only assembly of what each page shows (routes stay thin: they call one of these and render)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents import service as agents
from router.audit import service as audit
from router.context import TierQueuePort
from router.customers import banners
from router.customers import queries as customers
from router.errors import NotFound
from router.forecast import service as forecasts
from router.models.agents import Agent
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.tickets import OPEN_STATUSES, Attachment, Message, Status, Ticket
from router.self_service import queries as self_service
from router.tickets import handover
from router.tickets import history as ticket_history
from router.tickets import queries as ticket_queries
from router.tickets.actors import Actor, may_act
from router.tierqueues import service as tierqueues
from router.web import sla, ticket_rows
from rules.vocabulary import MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, SUPPORT_TIERS

PAGE_SIZE = 50


def visible_tiers(agent: Agent) -> list[int]:
    """The tiers an agent works; leads and admins see them all."""
    return [t for t in SUPPORT_TIERS if agent.works_tier(t)]


@dataclass(frozen=True)
class QueueSummary:
    tier: int
    name: str
    depth: int
    oldest_age_seconds: float | None
    #: Of the ``depth`` waiting tickets, those with a clock due within the hour or overdue (``router.web.sla``).
    near_breach: int | None
    #: Of the waiting tickets, those the breach forecast predicts will breach in the next 2 h.
    predicted_breaches: int = 0


async def my_queues(session: AsyncSession, queue: TierQueuePort, names: list[str], agent: Agent) -> list[QueueSummary]:
    tiers = visible_tiers(agent)
    near = await sla.near_breach(session, tiers)
    predicted = await forecasts.breaches_soon(session, tiers, utcnow())
    return [
        QueueSummary(s.tier, s.name, s.depth, s.oldest_age_seconds, near.get(s.tier), predicted.get(s.tier, 0))
        for s in await tierqueues.overview(queue, names)
        if s.tier in tiers
    ]


@dataclass(frozen=True)
class QueueRow:
    position: int
    ticket: Ticket
    age_seconds: float
    sla: Any | None


@dataclass(frozen=True)
class QueuePage:
    tier: int
    name: str
    rows: list[QueueRow]
    total: int
    page: int
    pages: int
    #: Requester's customer, assignee, SLA per ticket id (``router/web/ticket_rows.py``).
    details: dict[int, ticket_rows.RowDetails] = field(default_factory=dict)


async def queue_page(session: AsyncSession, queue: TierQueuePort, names: list[str], tier: int, page: int) -> QueuePage:
    """One page in claim order: ids from the tier's sorted set, then that page's rows in one query."""
    offset = (page - 1) * PAGE_SIZE
    tickets, total = await tierqueues.page(session, queue, tier, offset=offset, limit=PAGE_SIZE)
    now = utcnow()
    slas = await sla.ticket_slas(session, tickets)
    rows = [
        QueueRow(offset + i + 1, t, (now - t.created_at).total_seconds(), slas.get(t.id or 0))
        for i, t in enumerate(tickets)
    ]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return QueuePage(tier, names[tier], rows, total, page, pages, await ticket_rows.details(session, tickets))


@dataclass(frozen=True)
class MessageView:
    message: Message
    attachments: list[Attachment]


@dataclass(frozen=True)
class TicketPage:
    ticket: Ticket
    messages: list[MessageView]
    customer: customers.CustomerCard | None
    events: list[AuditEvent]
    chain: audit.ChainReport
    assignee: Agent | None
    #: ``agent:7`` → the agent's name, for authors and audit actors.
    agent_names: dict[str, str]
    sla: Any | None
    #: What the signed-in agent may do here (the service checks again on every action).
    actions: set[str] = field(default_factory=set)
    escalate_to: list[int] = field(default_factory=list)
    deescalate_to: list[int] = field(default_factory=list)
    assignable: list[Agent] = field(default_factory=list)
    #: The requester's and the customer's other tickets that this agent may see (``router.tickets.history``).
    history: ticket_history.TicketHistory | None = None
    #: The articles tier 0 suggested to the requester, and what they answered (``router.self_service``).
    suggestions: list[self_service.SuggestionView] = field(default_factory=list)
    #: The customer's slip and at-risk banners (open tickets only: ``router.customers.banners``).
    banners: list[banners.Banner] = field(default_factory=list)


def _actions(ticket: Ticket, actor: Actor) -> set[str]:
    allowed: set[str] = set()
    if not may_act(actor, ticket.support_tier):
        return allowed
    if ticket.status in OPEN_STATUSES:
        allowed |= {"reply", "note", "resolve"}
        if ticket.support_tier is not None and ticket.support_tier < MAX_SUPPORT_TIER:
            allowed.add("escalate")
        if ticket.status in (Status.queued, Status.in_progress):
            allowed.add("wait")
        if actor.is_lead and ticket.support_tier is not None:
            allowed.add("reassign")
            if ticket.support_tier > MIN_SUPPORT_TIER:
                allowed.add("deescalate")
    else:
        allowed |= {"note", "reopen"}
        if ticket.status == Status.resolved:
            allowed.add("reply")  # and the reply reopens it (``messages.reopen_for_reply``); closed is final
    return allowed


async def ticket_page(
    session: AsyncSession, ticket: Ticket, actor: Actor, take_policies: Sequence[str] = ()
) -> TicketPage:
    assert ticket.id is not None
    messages = await ticket_queries.messages(session, ticket.id)
    attachments = await _attachments(session, [m.id for m in messages if m.id is not None])
    events = await audit.events(session, ticket.id)
    actions = _actions(ticket, actor) | (handover.available(ticket, actor, take_policies) if take_policies else set())
    tier = ticket.support_tier
    return TicketPage(
        ticket=ticket,
        messages=[MessageView(m, attachments.get(m.id or 0, [])) for m in messages],
        customer=await customers.card(session, ticket.customer_id),
        events=events,
        chain=audit.check_chain(ticket, events, audit.keyring_of(session)),
        assignee=await session.get(Agent, ticket.assignee_id) if ticket.assignee_id is not None else None,
        agent_names=await _agent_names(session, [m.author for m in messages] + [e.actor for e in events]),
        sla=(await sla.ticket_slas(session, [ticket])).get(ticket.id),
        actions=actions,
        escalate_to=list(range(tier + 1, MAX_SUPPORT_TIER + 1)) if tier is not None else [],
        deescalate_to=list(range(MIN_SUPPORT_TIER, tier)) if tier is not None else [],
        assignable=await agents.agents_for_tier(session, tier) if "reassign" in actions and tier is not None else [],
        history=await ticket_history.for_ticket(session, ticket, actor),
        suggestions=await self_service.suggestions_of(session, ticket.id),
        banners=await banners.for_customer(session, ticket.customer_id, utcnow())
        if ticket.status in OPEN_STATUSES
        else [],
    )


async def _attachments(session: AsyncSession, message_ids: list[int]) -> dict[int, list[Attachment]]:
    if not message_ids:
        return {}
    rows = await session.exec(
        select(Attachment).where(col(Attachment.message_id).in_(message_ids)).order_by(col(Attachment.id))
    )
    out: dict[int, list[Attachment]] = {}
    for a in rows.all():
        out.setdefault(a.message_id, []).append(a)
    return out


async def _agent_names(session: AsyncSession, actors: list[str]) -> dict[str, str]:
    ids = {int(a.partition(":")[2]) for a in actors if a.startswith("agent:") and a.partition(":")[2].isdigit()}
    if not ids:
        return {}
    rows = await session.exec(select(Agent.id, Agent.name).where(col(Agent.id).in_(ids)))
    return {f"agent:{i}": name for i, name in rows.all()}


async def attachment_of(session: AsyncSession, ticket: Ticket, attachment_id: int) -> Attachment:
    """An attachment of one of this ticket's messages (404 for any other, so ids reveal nothing)."""
    row = (
        await session.exec(
            select(Attachment)
            .join(Message, col(Message.id) == col(Attachment.message_id))
            .where(Attachment.id == attachment_id, Message.ticket_id == ticket.id)
        )
    ).first()
    if row is None:
        raise NotFound(f"ticket {ticket.ref} has no attachment {attachment_id}")
    return row
