"""Messages on a ticket: storing one with its mail's attachments, agents' replies and notes, and what tier
automation sends. Outbound messages start ``pending`` and go to the mailer once the transaction commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.chain import Entry, chain_rows
from router.audit.keys import keyring_of
from router.effects import after_commit, mail_job
from router.errors import Conflict
from router.models import metadata
from router.models.columns import utcnow
from router.models.sla import ClockKind
from router.models.tickets import Attachment, Direction, MailStatus, Message, Status, Ticket
from router.sla import service as sla
from router.tickets import trail
from router.tickets.actors import Actor, require_may_act
from router.tickets.inputs import MailDetails, StoredAttachment

TICKET = metadata.tables["ticket"]
MESSAGE = metadata.tables["message"]
AUDIT = metadata.tables["audit_event"]


async def store(
    session: AsyncSession,
    ticket_id: int,
    direction: str,
    author: str,
    body: str,
    mail: MailDetails,
    kind: str = "message",
) -> Message:
    """Add a message and its attachments (flushed: it has an id); the caller audits it."""
    message = Message(
        ticket_id=ticket_id,
        direction=direction,
        kind=kind,
        author=author,
        body_text=body,
        body_html=mail.html,
        message_id_header=mail.message_id_header,
        raw_sha256=mail.raw_sha256,
    )
    session.add(message)
    await session.flush()
    assert message.id is not None
    attach(session, message.id, mail.attachments)
    return message


def attach(session: AsyncSession, message_id: int, attachments: Sequence[StoredAttachment]) -> None:
    """The attachment rows of a stored message (the files are on disk already)."""
    for a in attachments:
        session.add(
            Attachment(
                message_id=message_id,
                filename=a.filename[:255],
                content_type=a.content_type[:255],
                size=a.size,
                sha256=a.sha256,
                inline=a.inline,
                content_id=a.content_id[:255] if a.content_id else None,
            )
        )


async def _store_outbound(session: AsyncSession, ticket_id: int, *, author: str, body: str, kind: str) -> Message:
    """A mail to the requester, ``pending`` until the mailer job (queued after the commit) sends it."""
    message = Message(
        ticket_id=ticket_id,
        direction=Direction.outbound,
        kind=kind,
        author=author,
        body_text=body,
        delivery_status=MailStatus.pending,
    )
    session.add(message)
    await session.flush()
    assert message.id is not None
    after_commit(session, mail_job(message.id))
    return message


async def add_message(
    session: AsyncSession,
    ticket: Ticket,
    actor: Actor,
    *,
    body: str,
    internal: bool,
    attachments: Sequence[StoredAttachment] = (),
) -> Message:
    """An agent's reply (outbound, sent by the mailer) or internal note, with any files (stored already);
    both are audited. A reply on a resolved ticket reopens it first; a closed ticket refuses replies
    (``reopen_for_reply``)."""
    require_may_act(actor, ticket.support_tier)
    assert ticket.id is not None
    if not internal:
        await reopen_for_reply(session, ticket, actor)
    if internal:
        message = Message(ticket_id=ticket.id, direction=Direction.note, author=actor.name, body_text=body)
        session.add(message)
        await session.flush()
    else:
        message = await _store_outbound(session, ticket.id, author=actor.name, body=body, kind="message")
    assert message.id is not None
    attach(session, message.id, attachments)
    # A public reply answers the first (or next) response the ticket owes.
    changes = [] if internal else await sla.stop(session, ticket, sla.RESPONSE_KINDS, utcnow(), action="replied")
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="note_added" if internal else "replied",
        to_tier=ticket.support_tier,
        data={"chars": len(body), **({"attachments": len(attachments)} if attachments else {})},
        sla_changes=changes,
        event=None if internal else "ticket.commented",
        event_data={"author": actor.name, "direction": "outbound"},
    )
    return message


async def reopen_for_reply(session: AsyncSession, ticket: Ticket, actor: Actor) -> bool:
    """The one rule for a public reply on a finished ticket (API and UI alike; README, "HTTP API").

    As in Zendesk: a reply to a *resolved* ticket reopens it, in the replying agent's hands (they are
    working it now; a requester's reply reopens it into the queue instead), with its resolution clock
    running again; a *closed* ticket is final, so a reply is refused until someone reopens it. Internal
    notes never change the status. True when the ticket was reopened.
    """
    if ticket.status == Status.closed:
        raise Conflict(f"ticket {ticket.ref} is closed; a reply does not reopen a closed ticket: reopen it first")
    if ticket.status != Status.resolved:
        return False
    if ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} was never routed; only routed tickets reopen")
    ticket.status = Status.in_progress
    if actor.agent is not None:
        ticket.assignee_id = actor.agent.id
    await record_reopen(session, ticket, actor, reason="public reply on a resolved ticket")
    return True


async def record_reopen(session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str | None) -> None:
    """What every reopen does once the ticket's new status and holder are set (a reopen into the queue,
    ``service.reopen``, or into the replying agent's hands): count it, restart the resolution clock and
    re-sync the pauses with the new status, and audit it."""
    ticket.reopen_count += 1
    ticket.resolved_at = None
    now = utcnow()
    changes = await sla.start(session, ticket, [ClockKind.resolution], now) + await sla.sync_pause(session, ticket, now)
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="reopened",
        to_tier=ticket.support_tier,
        reason=reason,
        sla_changes=changes,
        event="ticket.reopened",
        event_data={"reason": reason, "by": actor.name},
    )


async def record_automation(
    session: AsyncSession,
    ticket: Ticket,
    *,
    tier: int,
    kind: str,
    body: str,
    action: str = "automation",
    data: dict[str, Any] | None = None,
) -> bool:
    """Record what tier automation sent the requester (``data``: more for its audit event, such as the
    articles suggested); a repeated job for the same tier does nothing."""
    if ticket.automation_tier != tier:
        return False
    assert ticket.id is not None
    ticket.automation_tier = None
    await _store_outbound(session, ticket.id, author="system", body=body, kind=kind)
    trail.record(session, ticket, actor="system", action=action, to_tier=tier, data={"kind": kind, **(data or {})})
    return True


async def skip_automation(
    session: AsyncSession, ticket: Ticket, *, tier: int, reason: str, action: str = "automation_skipped"
) -> bool:
    """Tier automation decided to stay quiet; the decision is audited."""
    if ticket.automation_tier != tier:
        return False
    ticket.automation_tier = None
    trail.record(session, ticket, actor="system", action=action, to_tier=tier, reason=reason)
    return True


def clear_automation(ticket: Ticket, *, tier: int) -> bool:
    """Tier automation has nothing to do for this move (no notice configured): nothing to send or audit."""
    if ticket.automation_tier != tier:
        return False
    ticket.automation_tier = None
    return True


@dataclass(frozen=True)
class AutomationResult:
    """What tier automation does for one ticket of a batch: a message of ``kind`` to send (``body``), the
    reason it stays quiet (``quiet_reason``), both audited as ``action``; or, without an action, nothing."""

    ticket_id: int
    audit_seq: int
    audit_head: str
    #: The ticket's state (``audit.chain.state_of``): automation leaves it as it is, its events record it.
    state: dict[str, Any]
    kind: str
    action: str | None
    body: str | None = None
    quiet_reason: str | None = None
    #: More for the audit event of a message sent (the articles suggested).
    data: dict[str, Any] | None = None


async def record_automation_batch(session: AsyncSession, *, tier: int, results: Sequence[AutomationResult]) -> None:
    """``record_automation``, ``skip_automation`` and ``clear_automation`` for a batch, one statement per table:
    the caller loaded the tickets locked and still waiting for ``tier``'s automation (``automation_tier == tier``)."""
    if not results:
        return
    conn = await session.connection()
    now = utcnow()
    sending = [r for r in results if r.body is not None]
    if sending:
        rows = [
            {"ticket_id": r.ticket_id, "direction": Direction.outbound, "kind": r.kind, "author": "system",
             "body_text": r.body, "delivery_status": MailStatus.pending, "created_at": now}
            for r in sending
        ]  # fmt: skip
        statement = insert(MESSAGE).returning(MESSAGE.c.id, sort_by_parameter_order=True)
        for (message_id,) in (await conn.execute(statement, rows)).all():
            after_commit(session, mail_job(message_id))
    events: list[dict[str, Any]] = []
    heads: list[dict[str, Any]] = []
    key = keyring_of(session).current
    for r in results:
        if r.action is None:
            continue
        if r.body is not None:
            entry = Entry("system", r.action, {"kind": r.kind, **(r.data or {})}, r.state, to_tier=tier)
        else:
            entry = Entry("system", r.action, {}, r.state, to_tier=tier, reason=r.quiet_reason)
        [row] = chain_rows(key, r.ticket_id, [entry], now, after_seq=r.audit_seq, after_hash=r.audit_head)
        events.append(row)
        heads.append({"tid": r.ticket_id, "seq": row["seq"], "head": row["hash"], "at": now})
    if events:
        await conn.execute(insert(AUDIT), events)
        clear = (
            update(TICKET)
            .where(TICKET.c.id == bindparam("tid"))
            .values(
                automation_tier=None,
                audit_seq=bindparam("seq"),
                audit_head=bindparam("head"),
                updated_at=bindparam("at"),
            )
        )
        await conn.execute(clear, heads)
    silent = [r.ticket_id for r in results if r.action is None]
    if silent:
        await conn.execute(update(TICKET).where(TICKET.c.id.in_(silent)).values(automation_tier=None))
    # No report facts to refresh: they read none of what automation writes (its audit actions, messages,
    # automation_tier, the chain head); tests/tickets/test_automation_batch.py compares the facts rows.


#: ``Message.kind`` of a mail held for an agent: its sender may not write into the ticket it threads to.
HELD_KIND = "held"
#: The most addresses a ticket's CC list keeps.
MAX_CC = 50


def widen_cc(ticket: Ticket, addresses: Sequence[str]) -> None:
    """A participant copied others on their mail: those may write into the ticket too."""
    added = [a for a in dict.fromkeys(addresses) if a not in ticket.cc]
    if added:
        ticket.cc = [*ticket.cc, *added][:MAX_CC]


def refuse_mail(session: AsyncSession, ticket: Ticket, *, sender: str, message_id: str, opened: str | None) -> None:
    """A mail threaded to ``ticket`` from someone who may not write into it went elsewhere: audited here."""
    where = f"opened {opened} instead" if opened else "opened no ticket (the sender's rate limit)"
    trail.record(
        session,
        ticket,
        actor="system",
        action="mail_refused",
        to_tier=ticket.support_tier,
        reason=f"a mail from {sender}, who is not a participant of {ticket.ref}, {where}",
        data={"sender": sender, "opened": opened, "message_id": message_id},
        touch=False,
    )


async def hold_mail(session: AsyncSession, ticket: Ticket, *, author: str, body: str, mail: MailDetails) -> Message:
    """Keep a mail from someone who may not write into ``ticket`` on it, set aside for an agent: it is not the
    requester's word (no reopening, no SLA change), and the decision is audited."""
    assert ticket.id is not None
    message = await store(session, ticket.id, Direction.inbound, author, body, mail, kind=HELD_KIND)
    trail.record(
        session,
        ticket,
        actor="system",
        action="mail_held",
        to_tier=ticket.support_tier,
        reason=f"a mail from {author}, who is not a participant of {ticket.ref}, is held for an agent",
        data={"sender": author, "message_id": mail.message_id_header, "message": message.id},
        touch=False,
    )
    return message
