"""Read-only webhook queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.columns import utcnow
from router.models.events import OutboxEvent
from router.models.webhooks import DeliveryStatus, WebhookDelivery


async def deliveries(
    session: AsyncSession, *, ticket_id: int | None = None, status: str | None = None, limit: int = 500
) -> list[WebhookDelivery]:
    query = select(WebhookDelivery)
    if ticket_id is not None:
        query = query.where(WebhookDelivery.ticket_id == ticket_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = await session.exec(query.order_by(col(WebhookDelivery.id).desc()).limit(limit))
    return list(rows.all())


async def pending_deliveries(session: AsyncSession) -> list[tuple[int, datetime | None]]:
    """Deliveries still to attempt, with when (reconcile re-enqueues their jobs)."""
    rows = await session.exec(
        select(WebhookDelivery.id, WebhookDelivery.next_attempt_at).where(
            WebhookDelivery.status == DeliveryStatus.pending
        )
    )
    return [(int(i), at) for i, at in rows.all() if i is not None]


#: Events older than this are history, not news: a subscription added today is not sent last month's
#: events (they stay in the outbox), and a vendor configured today gets no handoffs of old tickets.
REPUBLISH_WINDOW = timedelta(hours=24)


async def unpublished_events(
    session: AsyncSession, types: list[str], *, created_before: datetime | None, limit: int = 5000
) -> list[str]:
    """Outbox events of the wanted types, from the last day, not yet fanned out (oldest first, a batch)."""
    if not types:
        return []
    query = select(OutboxEvent.id).where(
        col(OutboxEvent.published_at).is_(None),
        col(OutboxEvent.type).in_(types),
        OutboxEvent.created_at >= utcnow() - REPUBLISH_WINDOW,
    )
    if created_before is not None:
        query = query.where(OutboxEvent.created_at < created_before)
    return list((await session.exec(query.order_by(col(OutboxEvent.created_at)).limit(limit))).all())
