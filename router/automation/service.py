"""Acknowledge the requester once per ticket, when it first lands in a tier (tier 0 adds the knowledge base's
best articles for it, each with its one-click answers: ``router.self_service.suggesting``); a later tier move
sends a distinct notice only when ``tier_move_notice`` is on.

The acknowledgement is decided once: sent, or kept quiet with the reason (the requester asked for no
automatic replies, or the address reached its daily cap), and the decision is in the ticket's audit trail
(``ACKNOWLEDGEMENT_ACTIONS``). A tier move sets ``automation_tier`` again (the ticket service cannot know
what automation will do); this job then finds the decision already made, and sends a notice or nothing.
Notices do not count toward the daily cap of acknowledgements, so moves never cost a requester the
acknowledgement of their next ticket.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from jinja2 import Environment
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.chain import state_of
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.tickets import ACKNOWLEDGEMENT_KIND, TIER_NOTICE_KIND, Message, Ticket
from router.self_service import suggesting
from router.self_service.suggesting import SuggestedArticle
from router.settings import Settings
from router.tickets import messages
from router.tickets import service as tickets
from router.tickets.messages import AutomationResult
from rules.vocabulary import SELF_SERVICE_TIER

TEMPLATE = "messages/acknowledgement.txt"
KIND = ACKNOWLEDGEMENT_KIND
NOTICE_TEMPLATE = "messages/tier_notice.txt"
NOTICE_KIND = TIER_NOTICE_KIND
#: Audit actions of the once-per-ticket acknowledgement decision: sent, or kept quiet.
ACKNOWLEDGEMENT_ACTIONS = ("automation", "automation_skipped")
#: Audit actions of a tier move's notice: sent, or kept quiet (the requester asked for no automatic replies).
NOTICE_ACTIONS = ("tier_notice", "tier_notice_skipped")
SUPPRESSED = "the requester's mail asked for no automatic replies"
#: The most tickets one batched automation job handles in its transaction.
BATCH_LIMIT = 1000


async def _why_quiet(session: AsyncSession, ticket: Ticket, settings: Settings) -> str | None:
    """Automatic replies stay quiet for mail that asked for it, and past a daily cap per address."""
    if ticket.auto_reply_suppressed:
        return SUPPRESSED
    start_of_day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = (
        await session.exec(
            select(func.count())
            .select_from(Message)
            .join(Ticket, Ticket.id == Message.ticket_id)  # type: ignore[arg-type]
            .where(
                Ticket.requester_email == ticket.requester_email,
                Message.kind == KIND,
                col(Message.created_at) >= start_of_day,
            )
        )
    ).one()
    if int(sent_today) >= settings.auto_replies_per_address_per_day:
        return f"{ticket.requester_email} already had {sent_today} automatic replies today"
    return None


async def _acknowledged(session: AsyncSession, ticket_ids: Collection[int]) -> set[int]:
    """The tickets among ``ticket_ids`` whose acknowledgement was already decided (an earlier tier's job)."""
    if not ticket_ids:
        return set()
    query = (
        select(AuditEvent.ticket_id)
        .where(col(AuditEvent.ticket_id).in_(ticket_ids), col(AuditEvent.action).in_(ACKNOWLEDGEMENT_ACTIONS))
        .distinct()
    )
    return set((await session.exec(query)).all())


def _render_notice(templates: Environment, settings: Settings, ticket: Ticket, tier: int) -> str:
    template = templates.get_template(NOTICE_TEMPLATE)
    return template.render(ticket=ticket, tier=tier, tier_name=settings.support_tier_names[tier])


async def _notify_move(
    session: AsyncSession, ticket: Ticket, tier: int, *, templates: Environment, settings: Settings
) -> bool:
    """An acknowledged ticket moved to ``tier``: a notice when configured (and not suppressed), else nothing."""
    if not settings.tier_move_notice:
        return messages.clear_automation(ticket, tier=tier)
    sent, skipped = NOTICE_ACTIONS
    if ticket.auto_reply_suppressed:
        return await messages.skip_automation(session, ticket, tier=tier, reason=SUPPRESSED, action=skipped)
    body = _render_notice(templates, settings, ticket, tier)
    return await messages.record_automation(session, ticket, tier=tier, kind=NOTICE_KIND, body=body, action=sent)


async def run(session: AsyncSession, ticket_id: int, tier: int, *, templates: Environment, settings: Settings) -> bool:
    """Render and record the acknowledgement (or a moved ticket's notice); a duplicate job (same ticket and
    tier) does nothing."""
    ticket = await tickets.get(session, ticket_id, lock=True)
    if ticket.automation_tier != tier:
        return False
    if await _acknowledged(session, [ticket_id]):
        return await _notify_move(session, ticket, tier, templates=templates, settings=settings)
    quiet = await _why_quiet(session, ticket, settings)
    if quiet is not None:
        return await messages.skip_automation(session, ticket, tier=tier, reason=quiet)
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id else None
    suggested = await _suggest(session, [ticket], tier, settings)
    offered = suggested.get(ticket.id or 0, [])
    body = _render(templates, settings, ticket, tier, customer, offered)
    data = _suggested_data(offered)
    return await messages.record_automation(session, ticket, tier=tier, kind=KIND, body=body, data=data)


async def _suggest(
    session: AsyncSession, tickets: list[Ticket], tier: int, settings: Settings
) -> dict[int, list[SuggestedArticle]]:
    """Tier 0's acknowledgements suggest articles (``router.self_service.suggesting``); other tiers' do not."""
    if tier != SELF_SERVICE_TIER or not tickets:
        return {}
    return await suggesting.suggest(session, tickets, settings=settings, now=utcnow())


def _suggested_data(offered: list[SuggestedArticle]) -> dict[str, Any] | None:
    """The acknowledgement's audit event names the articles it suggested."""
    return {"suggested": [s.slug for s in offered]} if offered else None


def _render(
    templates: Environment,
    settings: Settings,
    ticket: Ticket,
    tier: int,
    customer: Customer | None,
    suggestions: list[SuggestedArticle],
) -> str:
    return templates.get_template(TEMPLATE).render(
        ticket=ticket,
        tier=tier,
        tier_name=settings.support_tier_names[tier],
        customer=customer,
        suggestions=suggestions,
    )


async def run_batch(
    session: AsyncSession,
    tier: int,
    *,
    templates: Environment,
    settings: Settings,
    up_to: int | None = None,
    limit: int = BATCH_LIMIT,
) -> tuple[int, int]:
    """``run`` for the tickets waiting for ``tier``'s automation, oldest first, at most ``limit`` (and none
    after ticket ``up_to``), in a few statements whatever their number: the tickets locked in one query
    (skipping those another job holds), the day's automatic replies counted per address in one, the
    messages and audit events written in one statement each. Returns (acknowledged, tickets taken): a
    caller that took ``limit`` runs it again. A ticket already done is not waiting any more (a repeat).
    """
    query = select(Ticket).where(Ticket.automation_tier == tier)
    if up_to is not None:
        query = query.where(col(Ticket.id) <= up_to)
    tickets_ = (await session.exec(query.order_by(col(Ticket.id)).limit(limit).with_for_update(skip_locked=True))).all()
    if not tickets_:
        return 0, 0
    start_of_day = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    addresses = sorted({t.requester_email for t in tickets_})
    sent_today = dict(
        (
            await session.exec(
                select(Ticket.requester_email, func.count())
                .select_from(Message)
                .join(Ticket, Ticket.id == Message.ticket_id)  # type: ignore[arg-type]
                .where(
                    col(Ticket.requester_email).in_(addresses),
                    Message.kind == KIND,
                    col(Message.created_at) >= start_of_day,
                )
                .group_by(col(Ticket.requester_email))
            )
        ).all()
    )
    customer_ids = {t.customer_id for t in tickets_ if t.customer_id is not None}
    customers = {
        c.id: c for c in (await session.exec(select(Customer).where(col(Customer.id).in_(customer_ids)))).all()
    }
    acknowledged = await _acknowledged(session, [t.id for t in tickets_ if t.id is not None])
    results: list[AutomationResult | Ticket] = []
    for ticket in tickets_:
        assert ticket.id is not None
        head = (ticket.id, ticket.audit_seq, ticket.audit_head, state_of(ticket))
        if ticket.id in acknowledged:
            results.append(_batch_notice(head, ticket, tier, templates=templates, settings=settings))
            continue
        quiet = (*head, KIND, ACKNOWLEDGEMENT_ACTIONS[1])
        sent = int(sent_today.get(ticket.requester_email, 0))
        if ticket.auto_reply_suppressed:
            results.append(AutomationResult(*quiet, quiet_reason=SUPPRESSED))
            continue
        if sent >= settings.auto_replies_per_address_per_day:
            reason = f"{ticket.requester_email} already had {sent} automatic replies today"
            results.append(AutomationResult(*quiet, quiet_reason=reason))
            continue
        sent_today[ticket.requester_email] = sent + 1
        results.append(ticket)  # acknowledged below, once its suggestions are found with the batch's
    to_acknowledge = [r for r in results if isinstance(r, Ticket)]
    suggested = await _suggest(session, to_acknowledge, tier, settings)
    done = [
        r if isinstance(r, AutomationResult) else _acknowledgement(r, tier, templates, settings, customers, suggested)
        for r in results
    ]
    # The ORM objects were only read: the rows are written below, by statement.
    for ticket in tickets_:
        session.expunge(ticket)
    await messages.record_automation_batch(session, tier=tier, results=done)
    return sum(1 for r in done if r.body is not None and r.kind == KIND), len(done)


def _acknowledgement(
    ticket: Ticket,
    tier: int,
    templates: Environment,
    settings: Settings,
    customers: dict[int | None, Customer],
    suggested: dict[int, list[SuggestedArticle]],
) -> AutomationResult:
    """A batch's acknowledgement of ``ticket``, with its suggestions (if any)."""
    assert ticket.id is not None
    head = (ticket.id, ticket.audit_seq, ticket.audit_head, state_of(ticket))
    customer = customers.get(ticket.customer_id) if ticket.customer_id else None
    offered = suggested.get(ticket.id, [])
    body = _render(templates, settings, ticket, tier, customer, offered)
    return AutomationResult(*head, KIND, ACKNOWLEDGEMENT_ACTIONS[0], body=body, data=_suggested_data(offered))


def _batch_notice(
    head: tuple[int, int, str, dict[str, Any]], ticket: Ticket, tier: int, *, templates: Environment, settings: Settings
) -> AutomationResult:
    """``_notify_move`` for a ticket of a batch: the notice, its quiet reason, or nothing to record."""
    if not settings.tier_move_notice:
        return AutomationResult(*head, NOTICE_KIND, None)
    sent, skipped = NOTICE_ACTIONS
    if ticket.auto_reply_suppressed:
        return AutomationResult(*head, NOTICE_KIND, skipped, quiet_reason=SUPPRESSED)
    return AutomationResult(*head, NOTICE_KIND, sent, body=_render_notice(templates, settings, ticket, tier))
