"""The administration log: every change to an agent or a customer, written in the change's transaction.

Tickets keep their hash-chained trail (``router.audit.service``); agents and customers are not tickets,
so their changes go here, one row each, with who made them and what changed (never a secret).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.admin import AdminEvent
from router.models.agents import Agent
from router.models.columns import utcnow

#: The actor of a change made from the command line (a shell on the server: no agent signed in).
CLI = "cli"
#: An agent (``Agent``), the command line (None), or a background job by name (``system:tier-review``).
By = Agent | str | None


def actor_name(by: By) -> str:
    if isinstance(by, str):
        return by
    return f"agent:{by.id}" if by is not None else CLI


def customer_subject(customer_id: int) -> str:
    """The subject of a customer's changes (``customer:3``)."""
    return f"customer:{customer_id}"


def record(session: AsyncSession, by: By, action: str, subject: str, **data: Any) -> AdminEvent:
    """Add the event to the session (flushed with the change it describes, committed by the edge)."""
    event = AdminEvent(actor=actor_name(by), action=action, subject=subject, data=data)
    session.add(event)
    return event


async def record_many(session: AsyncSession, by: By, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """``record`` for many ``(action, subject, data)`` at once, in one statement (a tier review's moves)."""
    if not events:
        return
    now, actor = utcnow(), actor_name(by)
    rows = [{"at": now, "actor": actor, "action": a, "subject": s, "data": d} for a, s, d in events]
    await (await session.connection()).execute(insert(AdminEvent.__table__), rows)  # type: ignore[attr-defined]


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields whose value differs."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


async def events_of(session: AsyncSession, subject: str, limit: int = 50) -> list[AdminEvent]:
    """The subject's events, newest first."""
    rows = await session.exec(
        select(AdminEvent).where(AdminEvent.subject == subject).order_by(col(AdminEvent.id).desc()).limit(limit)
    )
    return list(rows.all())
