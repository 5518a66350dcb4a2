"""Taking and handing over by hand: take a chosen ticket, release it back to its queue, set its priority
and tags. A room of the ticket service (``service.reassign`` is the lead's hand-over).

"Claim next" (``claiming``) hands out the head of a queue; a tier's *take policy* says who may instead
pick a particular queued ticket (``rules.vocabulary.TAKE_POLICIES``). A released ticket goes back to the place its
priority, customer tier and age give it (``tierqueues.ordering``): the same place reconcile would give
it, so Redis stays rebuildable from the database.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from router.agents import service as agents
from router.errors import Conflict, Forbidden, Invalid, NotFound
from router.models.columns import utcnow
from router.models.tickets import OPEN_STATUSES, Status, Ticket
from router.sla import service as sla
from router.tickets import service, trail
from router.tickets.actors import Actor, require_may_act
from router.tierqueues import placement
from rules.vocabulary import PRIORITIES

#: The most tags a ticket keeps, and the longest tag.
MAX_TAGS = 50
MAX_TAG_LENGTH = 64


def may_take(actor: Actor, policy: str) -> bool:
    """Whether the tier's take policy lets ``actor`` pick a particular ticket (the tier check comes apart)."""
    if policy == "agents":
        return True
    return policy == "leads" and actor.is_lead


def available(ticket: Ticket, actor: Actor, policies: Sequence[str]) -> set[str]:
    """What of taking and handing over ``actor`` may do to ``ticket`` now (for the UI; each action checks again)."""
    allowed: set[str] = set()
    tier = ticket.support_tier
    if tier is None or ticket.status not in OPEN_STATUSES:
        return allowed
    allowed |= {"priority", "tags"}
    if ticket.status == Status.queued and ticket.assignee_id is None and may_take(actor, policies[tier]):
        allowed.add("take")
    mine = actor.agent is not None and ticket.assignee_id == actor.agent.id
    if ticket.status == Status.in_progress and (mine or actor.is_lead):
        allowed.add("release")
    return allowed


async def take(session: AsyncSession, ticket: Ticket, actor: Actor, *, policies: Sequence[str]) -> Ticket:
    """Assign a particular queued ticket to the acting agent, where its tier's take policy allows it.

    :param policies: the take policy of each support tier (``Settings.take_policy``).
    """
    require_may_act(actor, ticket.support_tier)
    if actor.agent is None:
        raise Forbidden("only an agent takes a ticket")
    tier = ticket.support_tier
    if ticket.status != Status.queued or ticket.assignee_id is not None or tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}, not waiting in a queue; it cannot be taken")
    if not may_take(actor, policies[tier]):
        who = "only leads and admins" if policies[tier] == "leads" else "nobody"
        raise Forbidden(f"in tier {tier} {who} may take a particular ticket; claim the next one instead", tier=tier)
    placement.remove(session, ticket)
    ticket.status = Status.in_progress
    ticket.assignee_id = actor.agent.id
    changes = await sla.sync_pause(session, ticket, utcnow())
    # Audited as a claim (what reports and the timeline know), marked as a chosen one.
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="claimed",
        to_tier=ticket.support_tier,
        data={"taken": True},
        sla_changes=changes,
    )
    return ticket


async def release(session: AsyncSession, ticket: Ticket, actor: Actor, *, reason: str | None) -> Ticket:
    """Give an in-progress ticket back to its tier's queue, unassigned, at its original place.

    The assignee releases their own ticket; leads and admins release anyone's."""
    require_may_act(actor, ticket.support_tier)
    if ticket.status != Status.in_progress or ticket.support_tier is None:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only an in-progress ticket is released")
    mine = actor.agent is not None and ticket.assignee_id == actor.agent.id
    if not mine and not actor.is_lead:
        raise Forbidden(f"ticket {ticket.ref} is not assigned to you; only its assignee or a lead releases it")
    previous = ticket.assignee_id
    ticket.status = Status.queued
    ticket.assignee_id = None
    # queued_at says when it joined the queue (reconcile re-adds tickets queued during a rebuild); its place
    # comes from created_at, so it goes back where it was.
    ticket.queued_at = utcnow()
    placement.place(session, ticket)
    changes = await sla.sync_pause(session, ticket, utcnow())
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="released",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"from_agent": previous},
        sla_changes=changes,
    )
    return ticket


async def assign_to(session: AsyncSession, ticket: Ticket, actor: Actor, agent_id: int, *, reason: str) -> Ticket:
    """A lead hands the ticket to the active agent ``agent_id`` (``service.reassign`` checks the rest)."""
    target = await agents.active_agent(session, agent_id)
    if target is None:
        raise NotFound(f"there is no active agent {agent_id}", agent_id=agent_id)
    return await service.reassign(session, ticket, actor, target, reason=reason)


def _require_open(ticket: Ticket, what: str) -> None:
    if ticket.status not in OPEN_STATUSES:
        raise Conflict(f"ticket {ticket.ref} is {ticket.status}; only an open ticket's {what} can change")


async def set_priority(
    session: AsyncSession, ticket: Ticket, actor: Actor, *, priority: str, reason: str | None = None
) -> Ticket:
    """Set the priority by hand; a queued ticket moves to the place the new priority gives it."""
    require_may_act(actor, ticket.support_tier)
    if priority not in PRIORITIES:
        raise Invalid(f"priority is one of {', '.join(PRIORITIES)}", field="priority")
    _require_open(ticket, "priority")
    if ticket.priority == priority:
        return ticket
    before, ticket.priority = ticket.priority, priority
    placement.place(session, ticket)
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="priority_changed",
        to_tier=ticket.support_tier,
        reason=reason,
        data={"from": before, "to": priority},
    )
    return ticket


def clean_tags(tags: Sequence[str], field: str = "tags") -> list[str]:
    """Tags as stored: trimmed, lower case, no duplicates; each 1 to ``MAX_TAG_LENGTH`` characters."""
    out: list[str] = []
    for raw in tags:
        tag = raw.strip().lower()
        if not tag or len(tag) > MAX_TAG_LENGTH or any(ch.isspace() or not ch.isprintable() for ch in tag):
            raise Invalid(
                f"a tag is 1 to {MAX_TAG_LENGTH} printable characters without spaces: {raw[:80]!r}", field=field
            )
        if tag not in out:
            out.append(tag)
    return out


async def change_tags(
    session: AsyncSession, ticket: Ticket, actor: Actor, *, add: Sequence[str] = (), remove: Sequence[str] = ()
) -> Ticket:
    """Add and remove tags by hand (removing a tag the ticket lacks is no error)."""
    require_may_act(actor, ticket.support_tier)
    adding, removing = clean_tags(add, "add"), clean_tags(remove, "remove")
    _require_open(ticket, "tags")
    tags = [t for t in ticket.tags if t not in removing]
    tags += [t for t in adding if t not in tags]
    if len(tags) > MAX_TAGS:
        raise Invalid(f"a ticket keeps at most {MAX_TAGS} tags", field="add")
    if tags == ticket.tags:
        return ticket
    added = [t for t in tags if t not in ticket.tags]
    removed = [t for t in ticket.tags if t not in tags]
    ticket.tags = tags
    trail.record(
        session,
        ticket,
        actor=actor.name,
        action="tags_changed",
        to_tier=ticket.support_tier,
        data={"added": added, "removed": removed},
    )
    return ticket
