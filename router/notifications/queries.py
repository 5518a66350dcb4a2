"""Read-only notification queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.notifications import Notification
from router.models.tickets import MailStatus, Ticket

T = TypeVar("T")


def _visible(agent: Agent, query: SelectOfScalar[T]) -> SelectOfScalar[T]:
    """The agent's notifications about tickets of tiers they may see now (a ticket escalated out of their
    tiers takes its notices with it; so does a tier taken from the agent)."""
    return query.outerjoin(Ticket, col(Ticket.id) == col(Notification.ticket_id)).where(*_visibility(agent))


def _visibility(agent: Agent) -> list[ColumnElement[bool]]:
    mine = [col(Notification.agent_id) == agent.id]
    if agent.is_lead:
        return mine
    seen = or_(col(Ticket.support_tier).is_(None), col(Ticket.support_tier).in_(list(agent.tiers)))
    return [*mine, or_(col(Notification.ticket_id).is_(None), seen)]


async def for_agent(session: AsyncSession, agent: Agent, *, unread_only: bool, limit: int) -> list[Notification]:
    """An agent's notifications, newest first."""
    query = _visible(agent, select(Notification))
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    return list((await session.exec(query.order_by(col(Notification.id).desc()).limit(limit))).all())


async def nav_figures(session: AsyncSession, agent: Agent) -> tuple[int, int]:
    """The number on the navigation bar and the newest notification id the page was rendered with: the
    page's live stream replays what came after it (a notice committed before the stream subscribed)."""
    unread = func.count(col(Notification.id)).filter(col(Notification.read_at).is_(None))
    newest = func.coalesce(func.max(col(Notification.id)), 0)
    query = select(unread, newest).select_from(Notification)
    query = query.outerjoin(Ticket, col(Ticket.id) == col(Notification.ticket_id)).where(*_visibility(agent))
    count, last = (await session.exec(query)).one()
    return int(count), int(last or 0)


async def unread_since(session: AsyncSession, agent: Agent, after_id: int, *, limit: int) -> list[Notification]:
    """Unread notifications newer than ``after_id``, oldest first: what a live stream replays on (re)connect."""
    query = _visible(agent, select(Notification)).where(col(Notification.read_at).is_(None))
    query = query.where(col(Notification.id) > after_id).order_by(col(Notification.id)).limit(limit)
    return list((await session.exec(query)).all())


#: Unread notices shown as banners on My queues (the API lists them all).
NOTICES_ON_PAGE = 5


async def unread_notices(session: AsyncSession, agent: Agent) -> list[Notification]:
    """The banners of My queues: the agent's newest unread notifications."""
    return await for_agent(session, agent, unread_only=True, limit=NOTICES_ON_PAGE)


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
