"""Claim a queued ticket by statement: the ticket service's fast path for "claim next".

``service.claim`` loads the ticket under its row lock, changes it through the ORM and flushes an audit
event: five round trips and an ORM unit of work for the commonest action of an agent's day. Here a
conditional ``UPDATE ... RETURNING`` takes the ticket (it only matches a ticket still queued in that tier
and unassigned, and holds its row lock until the commit), and one more statement appends the ``claimed``
event to its chain and moves the chain's head. What is written is what ``service.claim`` writes
(``tests/tierqueues/test_claim.py`` holds the two to the same rows).

When the SLA policies pause clocks in ``queued`` or ``in_progress``, a claim may pause or resume clocks:
the caller then takes ``service.claim`` (``needs_clock_changes``).
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit.chain import Entry, chain_rows, state_of
from router.audit.keys import keyring_of
from router.models import metadata
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.tickets import Status
from router.sla.policies import policies_of
from router.tickets.actors import Actor, require_tier

TICKET = metadata.tables["ticket"]
AUDIT = metadata.tables["audit_event"]


def needs_clock_changes(session: AsyncSession) -> bool:
    """Whether a claim (queued -> in_progress) can pause or resume SLA clocks under the policies in force."""
    return bool(policies_of(session).pause_statuses & {Status.queued.value, Status.in_progress.value})


async def claim_queued(session: AsyncSession, ticket_id: int, tier: int, agent: Agent) -> bool:
    """Assign ``ticket_id`` to ``agent`` if it is still queued, unassigned, in ``tier``; False otherwise (a
    stale queue entry: claimed, moved or resolved since it was queued)."""
    actor = Actor.of(agent)
    require_tier(actor, tier)
    conn: AsyncConnection = await session.connection()
    now = utcnow()
    taken = (
        await conn.execute(
            update(TICKET)
            .where(
                TICKET.c.id == ticket_id,
                TICKET.c.status == Status.queued.value,
                TICKET.c.assignee_id.is_(None),
                TICKET.c.support_tier == tier,
            )
            .values(status=Status.in_progress.value, assignee_id=agent.id, updated_at=now)
            .returning(TICKET.c.audit_seq, TICKET.c.audit_head, TICKET.c.priority, TICKET.c.customer_tier)
        )
    ).first()
    if taken is None:
        return False
    state = state_of(
        {"status": Status.in_progress, "support_tier": tier, "priority": taken.priority, "assignee_id": agent.id,
         "customer_tier": taken.customer_tier}
    )  # fmt: skip
    entry = Entry(actor.name, "claimed", {}, state, to_tier=tier)
    key = keyring_of(session).current
    [event] = chain_rows(key, ticket_id, [entry], now, after_seq=taken.audit_seq, after_hash=taken.audit_head)
    head = update(TICKET).where(TICKET.c.id == ticket_id).values(audit_seq=event["seq"], audit_head=event["hash"])
    if conn.dialect.name == "postgresql":  # one round trip: the event and the new head together
        await conn.execute(head.add_cte(AUDIT.insert().values(event).cte("appended")))
    else:
        await conn.execute(AUDIT.insert().values(event))
        await conn.execute(head)
    return True
