"""Notify agents: a stored notification each (the in-app banner and list), and a mail each, queued after
the commit (the sink drops mail jobs while outbound mail is not configured). Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router import job_names
from router.effects import MAIL, EnqueueJob, after_commit, agent_topic, live
from router.errors import NotFound
from router.models.agents import LEAD_ROLES, Agent
from router.models.columns import utcnow
from router.models.notifications import DEFAULT_MAIL_KINDS, Notification, NotificationKind, NotificationPreference
from router.models.tickets import MailStatus, Ticket


def notification_mail_job(notification_id: int) -> EnqueueJob:
    """Mail one notification to its agent (retried with backoff, like every outbound mail)."""
    return EnqueueJob(job_names.SEND_NOTIFICATION_MAIL, (notification_id,), f"notify:{notification_id}", MAIL)


async def leads_of_tier(session: AsyncSession, tier: int) -> list[Agent]:
    """Active leads (and admins) whose tiers include ``tier``: who answers for that tier's SLA."""
    query = select(Agent).where(col(Agent.active).is_(True), col(Agent.role).in_(LEAD_ROLES))
    return [a for a in (await session.exec(query.order_by(col(Agent.id)))).all() if tier in a.tiers]


async def mail_kinds(session: AsyncSession, agent_id: int) -> tuple[str, ...]:
    """The kinds the agent also wants by mail (``DEFAULT_MAIL_KINDS`` until they choose)."""
    preference = await session.get(NotificationPreference, agent_id)
    return DEFAULT_MAIL_KINDS if preference is None else tuple(preference.mail_kinds)


async def set_mail_kinds(session: AsyncSession, agent: Agent, kinds: Sequence[str]) -> tuple[str, ...]:
    """The agent's choice of kinds to mail (unknown kinds are dropped)."""
    assert agent.id is not None
    chosen = sorted({k for k in kinds if k in NotificationKind.__members__})
    preference = await session.get(NotificationPreference, agent.id)
    if preference is None:
        session.add(NotificationPreference(agent_id=agent.id, mail_kinds=chosen))
    else:
        preference.mail_kinds = chosen
    return tuple(chosen)


async def notify(
    session: AsyncSession, agents: Sequence[Agent], *, kind: str, ticket: Ticket | None, payload: dict[str, Any]
) -> list[Notification]:
    """One notification per agent who may see the ticket's tier, each sent live to their open pages once
    this commits, and mailed when the agent wants this kind by mail."""
    tier = ticket.support_tier if ticket is not None else None
    allowed = {a.id: a for a in agents if a.id is not None and a.active and (tier is None or a.works_tier(tier))}
    mailed = {i for i, a in allowed.items() if a.email and kind in await mail_kinds(session, i)}
    made = [
        Notification(
            agent_id=agent_id,
            kind=kind,
            ticket_id=ticket.id if ticket else None,
            payload=payload,
            mail_status=MailStatus.pending if agent_id in mailed else None,
        )
        for agent_id in allowed
    ]
    session.add_all(made)
    await session.flush()
    for notification in made:
        assert notification.id is not None
        if notification.mail_status == MailStatus.pending:
            after_commit(session, notification_mail_job(notification.id))
        after_commit(session, live(agent_topic(notification.agent_id), "notification", live_notice(notification, tier)))
    return made


def live_notice(notification: Notification, tier: int | None) -> dict[str, Any]:
    """What a live notice carries (the pub/sub message and a reconnecting stream's replay alike): enough to
    show it before the page is reloaded."""
    shown = {"id": notification.id, "kind": notification.kind, "ticket_id": notification.ticket_id}
    summary = {k: notification.payload[k] for k in ("ref", "subject", "text") if k in notification.payload}
    return shown | {"support_tier": tier} | summary


async def mark_read(session: AsyncSession, agent: Agent, notification_id: int) -> Notification:
    """An agent marks one of their own notifications read (again: nothing changes); anyone else's is a 404."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.agent_id != agent.id:
        raise NotFound(f"notification {notification_id} does not exist", notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


async def mark_all_read(session: AsyncSession, agent: Agent) -> int:
    """Every unread notification of the agent marked read; how many were."""
    query = select(Notification).where(Notification.agent_id == agent.id, col(Notification.read_at).is_(None))
    unread = list((await session.exec(query)).all())
    now = utcnow()
    for notification in unread:
        notification.read_at = now
    return len(unread)


async def mark_mailed(session: AsyncSession, notification_id: int, *, sent: bool) -> None:
    """The mailer handed the notification's mail to SMTP (``sent``), or gave up on it."""
    notification = await session.get(Notification, notification_id)
    if notification is not None and notification.mail_status == MailStatus.pending:
        notification.mail_status = MailStatus.sent if sent else MailStatus.failed
