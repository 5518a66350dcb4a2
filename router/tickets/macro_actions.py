"""A macro applied to a ticket: its message and its actions, in one transaction, each audited. A room of
the ticket service; ``router.macros`` renders the template and calls this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from router.models.tickets import Message, Status, Ticket
from router.tickets import handover, messages, service, trail
from router.tickets.actors import Actor, require_may_act
from router.tickets.inputs import StoredAttachment


@dataclass(frozen=True)
class MacroRun:
    """What one application of a macro does (the template already rendered into ``body``)."""

    macro_id: int
    name: str
    body: str
    internal: bool = False
    status: str | None = None
    priority: str | None = None
    add_tags: Sequence[str] = ()
    remove_tags: Sequence[str] = ()
    escalate_reason: str | None = None
    escalate_to: int | None = None
    attachments: Sequence[StoredAttachment] = field(default_factory=tuple)


async def apply_macro(session: AsyncSession, ticket: Ticket, actor: Actor, run: MacroRun) -> Message:
    """The message first (a reply may reopen a resolved ticket), then priority, tags, and the status or the
    escalation. Any step refused (a closed ticket, the top tier) refuses the whole: the caller's
    transaction rolls back."""
    require_may_act(actor, ticket.support_tier)
    why = f"macro {run.name!r}"
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="macro_applied",
        to_tier=ticket.support_tier,
        data={"macro": run.macro_id, "name": run.name},
        touch=False,
    )
    message = await messages.add_message(
        session, ticket, actor, body=run.body, internal=run.internal, attachments=run.attachments
    )
    if run.priority is not None:
        await handover.set_priority(session, ticket, actor, priority=run.priority, reason=why)
    if run.add_tags or run.remove_tags:
        await handover.change_tags(session, ticket, actor, add=run.add_tags, remove=run.remove_tags)
    if run.status == Status.resolved and ticket.status != Status.resolved:
        await service.resolve(session, ticket, actor, resolution=why)
    elif run.status == Status.waiting_on_customer and ticket.status != Status.waiting_on_customer:
        await service.wait_on_customer(session, ticket, actor, reason=why)
    if run.escalate_reason is not None:
        await service.escalate(session, ticket, actor, reason=run.escalate_reason, to_tier=run.escalate_to)
    return message
