"""Delivery bookkeeping on a ticket: outbound mail sent or failed; the vendor handoff queued, attempted and
answered.

The mailer, the webhook sender and the vendor's signed updates call these inside their job's or request's
transaction; each leaves an audit event on the ticket so its history shows every attempt. None of them
changes the ticket's tier, status, assignee or SLA (those go through ``service``).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.tickets import Direction, MailStatus, Message, Ticket
from router.tickets import service as tickets
from router.tickets import trail
from router.tickets.actors import Actor


async def mark_sent(session: AsyncSession, message: Message, *, message_id_header: str) -> bool:
    """The mailer handed the message to the SMTP server; False if it was already marked."""
    if message.delivery_status == MailStatus.sent:
        return False
    ticket = await tickets.get(session, message.ticket_id, lock=True)
    message.delivery_status = MailStatus.sent
    message.delivery_error = None
    message.message_id_header = message_id_header
    trail.record(session, ticket, actor="system", action="mail_sent", data={"message": message.id}, touch=False)
    return True


async def note_send_failure(session: AsyncSession, message: Message, *, error: str, final: bool) -> None:
    """A failed attempt is visible on the ticket; the last one marks the message failed."""
    ticket = await tickets.get(session, message.ticket_id, lock=True)
    message.delivery_error = error[:500]
    if final:
        message.delivery_status = MailStatus.failed
    trail.record(
        session,
        ticket,
        actor="system",
        action="mail_failed" if final else "mail_attempt_failed",
        reason=error[:500],
        data={"message": message.id},
        touch=False,
    )


def record_handoff(
    session: AsyncSession, ticket: Ticket, *, vendor: str | None, delivery_id: int | None, reason: str | None = None
) -> None:
    """The vendor-tier handoff was queued for ``vendor``, or is skipped: no vendor fits, or ``reason`` says why
    it must not go (the ticket left the vendor's hands before the handoff went out)."""
    queued = vendor is not None and reason is None
    trail.record(
        session,
        ticket,
        actor="system",
        action="vendor_handoff" if queued else "vendor_handoff_skipped",
        to_tier=ticket.support_tier,
        reason=None if queued else reason or "no vendor is configured for this ticket",
        data={"vendor": vendor, "delivery": delivery_id},
        touch=False,
    )


def record_handoff_attempt(
    session: AsyncSession,
    ticket: Ticket,
    *,
    vendor: str,
    delivery_id: int,
    attempt: int,
    error: str | None,
    final: bool,
) -> None:
    """Every attempt to reach the vendor is on the ticket: delivered, failed and retried, or given up."""
    if error is None:
        action = "vendor_delivered"
    else:
        action = "vendor_delivery_failed" if final else "vendor_delivery_attempt_failed"
    trail.record(
        session,
        ticket,
        actor="system",
        action=action,
        to_tier=ticket.support_tier,
        reason=error,
        data={"vendor": vendor, "delivery": delivery_id, "attempt": attempt},
        touch=False,
    )


async def record_vendor_update(
    session: AsyncSession,
    ticket: Ticket,
    actor: Actor,
    *,
    status: str | None,
    vendor_ref: str | None,
    body: str | None,
) -> Ticket:
    """A vendor reports progress (their status and case number): an internal note and an audit event."""
    assert ticket.id is not None
    if body:
        session.add(Message(ticket_id=ticket.id, direction=Direction.note, author=actor.name, body_text=body))
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="vendor_updated",
        to_tier=ticket.support_tier,
        data={"status": status, "vendor_ref": vendor_ref},
    )
    return ticket
