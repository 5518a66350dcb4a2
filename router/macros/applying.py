"""A macro on a ticket: the fields its template sees, the preview (rendered text and actions in words),
and applying it through the ticket service (``router.tickets.macro_actions``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from router.errors import Invalid
from router.macros import service as macros
from router.macros import templating
from router.macros.schemas import MacroActions
from router.models.customers import Customer
from router.models.macros import Macro
from router.models.tickets import Message, Ticket
from router.rendering import timestamp
from router.settings import Settings
from router.tickets import macro_actions
from router.tickets.actors import Actor, require_may_act, require_tier
from router.tickets.inputs import StoredAttachment
from rules.vocabulary import customer_scale


def _name(names: Sequence[str], index: int | None) -> str | None:
    return names[index] if index is not None and 0 <= index < len(names) else None


async def fields(session: AsyncSession, ticket: Ticket, actor: Actor, settings: Settings) -> dict[str, Any]:
    """Plain values only (``templating.FIELDS``): the template never holds a row, a session or a method."""
    customer = await session.get(Customer, ticket.customer_id) if ticket.customer_id is not None else None
    customer_names = customer_scale().numbered(settings.customer_tier_names)  # best first -> by number
    return {
        "ticket": {
            "ref": ticket.ref,
            "subject": ticket.subject,
            "status": str(ticket.status),
            "priority": str(ticket.priority),
            "support_tier": ticket.support_tier,
            "support_tier_name": _name(settings.support_tier_names, ticket.support_tier),
            "requester_email": ticket.requester_email,
            "tags": list(ticket.tags),
            "product": ticket.product,
            "component": ticket.component,
            "service": ticket.service,
            "channel": ticket.channel,
            "created_at": timestamp(ticket.created_at),
            "customer_tier": ticket.customer_tier,
            "customer_tier_name": _name(customer_names, ticket.customer_tier - 1),
        },
        "customer": {
            "known": customer is not None,
            "name": customer.name if customer else None,
            "external_ref": customer.external_ref if customer else None,
            "value_tier": customer.value_tier if customer else None,
            "value_tier_name": _name(customer_names, customer.value_tier - 1) if customer else None,
        },
        "agent": {
            "name": actor.agent.name if actor.agent else actor.name,
            "email": actor.agent.email if actor.agent else None,
        },
    }


def describe(actions: MacroActions) -> list[str]:
    """The actions in words, for the preview."""
    out: list[str] = []
    if actions.priority is not None:
        out.append(f"set priority to {actions.priority}")
    if actions.add_tags:
        out.append(f"add tags {', '.join(actions.add_tags)}")
    if actions.remove_tags:
        out.append(f"remove tags {', '.join(actions.remove_tags)}")
    if actions.status is not None:
        out.append(f"set status to {actions.status.replace('_', ' ')}")
    if actions.escalate is not None:
        where = f"tier {actions.escalate.to_tier}" if actions.escalate.to_tier is not None else "the next tier"
        out.append(f"escalate to {where}: {actions.escalate.reason}")
    return out


def _text(body: str) -> str:
    """A message has words: a template that renders to blank space sends nothing (422)."""
    if not body.strip():
        raise Invalid("the macro's message is empty for this ticket; edit the text or the macro", field="body")
    return body.strip()


@dataclass(frozen=True)
class Preview:
    macro: Macro
    body: str
    actions: list[str]


async def preview(session: AsyncSession, ticket: Ticket, actor: Actor, macro_id: int, settings: Settings) -> Preview:
    """What applying the macro would send and do; nothing changes."""
    require_tier(actor, ticket.support_tier)
    macro = await macros.usable(session, macro_id, ticket)
    body = _text(templating.render(macro.body, await fields(session, ticket, actor, settings)))
    return Preview(macro, body, describe(MacroActions.model_validate(macro.actions)))


async def apply(
    session: AsyncSession,
    ticket: Ticket,
    actor: Actor,
    macro_id: int,
    settings: Settings,
    *,
    body: str | None = None,
    attachments: Sequence[StoredAttachment] = (),
) -> Message:
    """Send the macro's message (``body``: as the agent edited the preview; else rendered now) and take its
    actions, all or nothing."""
    require_may_act(actor, ticket.support_tier)
    macro = await macros.usable(session, macro_id, ticket)
    if body is None:
        body = templating.render(macro.body, await fields(session, ticket, actor, settings))
    body = _text(body)
    actions = MacroActions.model_validate(macro.actions)
    assert macro.id is not None
    run = macro_actions.MacroRun(
        macro_id=macro.id,
        name=macro.name,
        body=body,
        internal=macro.internal,
        status=actions.status,
        priority=actions.priority,
        add_tags=actions.add_tags,
        remove_tags=actions.remove_tags,
        escalate_reason=actions.escalate.reason if actions.escalate else None,
        escalate_to=actions.escalate.to_tier if actions.escalate else None,
        attachments=attachments,
    )
    return await macro_actions.apply_macro(session, ticket, actor, run)
