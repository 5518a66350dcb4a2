"""Read-only notification queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.notifications import Notification
from router.models.tickets import MailStatus


async def for_agent(session: AsyncSession, agent_id: int, *, unread_only: bool, limit: int) -> list[Notification]:
    """An agent's notifications, newest first."""
    query = select(Notification).where(Notification.agent_id == agent_id)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    return list((await session.exec(query.order_by(col(Notification.id).desc()).limit(limit))).all())


#: Unread notices shown as banners on My queues (the API lists them all).
NOTICES_ON_PAGE = 5


async def unread_notices(session: AsyncSession, agent: Agent) -> list[Notification]:
    """The banners of My queues: the agent's newest unread notifications."""
    assert agent.id is not None
    return await for_agent(session, agent.id, unread_only=True, limit=NOTICES_ON_PAGE)


async def mail_of(session: AsyncSession, notification_id: int) -> tuple[Notification, Agent] | None:
    """A notification whose mail is still to send, with its agent; None when there is nothing to send."""
    notification = await session.get(Notification, notification_id)
    if notification is None or notification.mail_status != MailStatus.pending:
        return None
    agent = await session.get(Agent, notification.agent_id)
    return None if agent is None or not agent.email else (notification, agent)


#: A notification mail still unsent after this is given up by reconcile: news of a breach a day late is noise.
MAIL_WINDOW = timedelta(days=1)


async def pending_mails(session: AsyncSession, *, created_before: datetime | None) -> list[int]:
    """Notifications of the last day whose mail is still to send (reconcile queues their jobs again)."""
    query = select(Notification.id).where(
        Notification.mail_status == MailStatus.pending, Notification.created_at >= utcnow() - MAIL_WINDOW
    )
    if created_before is not None:
        query = query.where(Notification.created_at < created_before)
    return [int(i) for i in (await session.exec(query.order_by(col(Notification.id)))).all() if i is not None]
