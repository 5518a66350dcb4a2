"""Notify agents: a stored notification each (the in-app banner and list), and a mail each, queued after
the commit (the sink drops mail jobs while outbound mail is not configured). Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router import job_names
from router.effects import MAIL, EnqueueJob, after_commit
from router.errors import NotFound
from router.models.agents import LEAD_ROLES, Agent
from router.models.columns import utcnow
from router.models.notifications import Notification
from router.models.tickets import MailStatus, Ticket


def notification_mail_job(notification_id: int) -> EnqueueJob:
    """Mail one notification to its agent (retried with backoff, like every outbound mail)."""
    return EnqueueJob(job_names.SEND_NOTIFICATION_MAIL, (notification_id,), f"notify:{notification_id}", MAIL)


async def leads_of_tier(session: AsyncSession, tier: int) -> list[Agent]:
    """Active leads (and admins) whose tiers include ``tier``: who answers for that tier's SLA."""
    query = select(Agent).where(col(Agent.active).is_(True), col(Agent.role).in_(LEAD_ROLES))
    return [a for a in (await session.exec(query.order_by(col(Agent.id)))).all() if tier in a.tiers]


async def notify(
    session: AsyncSession, agents: Sequence[Agent], *, kind: str, ticket: Ticket | None, payload: dict[str, Any]
) -> list[Notification]:
    """One notification per agent, each with a mail queued after the commit."""
    made = [
        Notification(
            agent_id=agent.id,
            kind=kind,
            ticket_id=ticket.id if ticket else None,
            payload=payload,
            mail_status=MailStatus.pending if agent.email else None,
        )
        for agent in agents
        if agent.id is not None
    ]
    session.add_all(made)
    await session.flush()
    for notification in made:
        if notification.mail_status == MailStatus.pending:
            assert notification.id is not None
            after_commit(session, notification_mail_job(notification.id))
    return made


async def mark_read(session: AsyncSession, agent: Agent, notification_id: int) -> Notification:
    """An agent marks one of their own notifications read (again: nothing changes); anyone else's is a 404."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.agent_id != agent.id:
        raise NotFound(f"notification {notification_id} does not exist", notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


async def mark_mailed(session: AsyncSession, notification_id: int, *, sent: bool) -> None:
    """The mailer handed the notification's mail to SMTP (``sent``), or gave up on it."""
    notification = await session.get(Notification, notification_id)
    if notification is not None and notification.mail_status == MailStatus.pending:
        notification.mail_status = MailStatus.sent if sent else MailStatus.failed
