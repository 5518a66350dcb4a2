"""The administration log: every change to an agent or a customer, written in the change's transaction.

Tickets keep their hash-chained trail (``router.audit.service``); agents and customers are not tickets,
so their changes go here, one row each, with who made them and what changed (never a secret).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.admin import AdminEvent
from router.models.agents import Agent

#: The actor of a change made from the command line (a shell on the server: no agent signed in).
CLI = "cli"


def actor_name(by: Agent | None) -> str:
    return f"agent:{by.id}" if by is not None else CLI


def record(session: AsyncSession, by: Agent | None, action: str, subject: str, **data: Any) -> AdminEvent:
    """Add the event to the session (flushed with the change it describes, committed by the edge)."""
    event = AdminEvent(actor=actor_name(by), action=action, subject=subject, data=data)
    session.add(event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for the fields whose value differs."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


async def events_of(session: AsyncSession, subject: str, limit: int = 50) -> list[AdminEvent]:
    """The subject's events, newest first."""
    rows = await session.exec(
        select(AdminEvent).where(AdminEvent.subject == subject).order_by(col(AdminEvent.id).desc()).limit(limit)
    )
    return list(rows.all())
