"""The tail every ticket change ends with: its audit event, its outbox event, the ticket's ``updated_at``.

One function, so every change records itself the same way in the caller's transaction: the audit chain and
the outbox rows commit with the change or not at all. Only the ticket service's modules call it.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import service as audit
from router.effects import after_commit, live, ticket_topic
from router.events import service as events
from router.models.audit import AuditEvent
from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.sla import service as sla
from router.tickets.versions import version_of


def record(
    session: AsyncSession,
    ticket: Ticket,
    *,
    actor: str,
    action: str,
    from_tier: int | None = None,
    to_tier: int | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
    sla_changes: sla.Changes | None = None,
    event: str | None = None,
    event_data: dict[str, Any] | None = None,
    touch: bool = True,
) -> AuditEvent:
    """Append the audit event of a change to ``ticket``, publish its outbox event, mark the ticket updated.

    :param actor: who acted, as the audit trail names them (``agent:7``, ``system``, ``sla``, ``rule:...``).
    :param action: the audit action (``escalated``, ``mail_sent``, ...).
    :param from_tier: the tier the change left, when it moved the ticket.
    :param to_tier: the tier the ticket is in after the change.
    :param reason: the words a person or the system gave for it.
    :param data: the event's details.
    :param sla_changes: the SLA clock changes the change caused; they go into ``data`` under ``sla``.
    :param event: the outbox event type to publish for subscribers (one of ``events.EVENT_TYPES``), if any.
    :param event_data: that event's details.
    :param touch: the change counts as an update of the ticket (``updated_at``); bookkeeping passes False.
    """
    if sla_changes:
        data = {**(data or {}), "sla": sla_changes}
    appended = audit.append(
        session, ticket, actor=actor, action=action, from_tier=from_tier, to_tier=to_tier, reason=reason, data=data
    )
    if event is not None:
        events.emit(session, ticket, event, event_data)
    if touch:
        ticket.updated_at = utcnow()
        if ticket.id is not None:  # open pages of the ticket hear of it once this commits
            change: dict[str, Any] = {"version": version_of(ticket), "action": action, "actor": actor}
            change["support_tier"] = ticket.support_tier
            after_commit(session, live(ticket_topic(ticket.id), "changed", change))
    return appended
