"""A reply or note sent from a stale page: the form carries the ticket's version as the page showed it
(``router.tickets.versions``); when the ticket changed since, the agent sees what changed and confirms."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.audit import AuditEvent
from router.models.tickets import Ticket
from router.tickets.versions import moment_of, version_of
from router.web import views

#: The newest changes the confirmation lists.
SHOWN = 20


@dataclass(frozen=True)
class Conflict:
    """What the confirmation page shows: the changes since the page loaded, and the version to confirm on."""

    events: list[AuditEvent]
    agent_names: dict[str, str]
    version: str


async def reply_conflict(session: AsyncSession, ticket: Ticket, version: str) -> Conflict | None:
    """None when the page's version is the ticket's (or the form carries none: an old page or a script)."""
    current = version_of(ticket)
    if not version or version == current:
        return None
    since = moment_of(version)
    query = select(AuditEvent).where(AuditEvent.ticket_id == ticket.id)
    if since is not None:
        query = query.where(col(AuditEvent.at) > since)
    events = list((await session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(SHOWN))).all())
    names = await views._agent_names(session, [e.actor for e in events])
    return Conflict(list(reversed(events)), names, current)
