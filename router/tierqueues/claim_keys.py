"""Idempotent claims: a claim sent with an ``Idempotency-Key`` takes at most one ticket per agent and key.

A claim whose answer is lost (the API killed mid-request, a dropped connection) leaves its ticket
``in_progress`` under an agent who never saw it. Retried with the same key, the claim answers the ticket
the first attempt took and claims nothing new. The key is reserved in the claim's own transaction before
the queue is touched (``INSERT ... ON CONFLICT DO NOTHING`` on the unique (agent, key)), so a concurrent
retry waits for the first attempt's commit and then replays it; if the first attempt rolled back, the
retry claims afresh. Keys live for ``KEY_LIFETIME``; a claim that found the queue empty keeps no key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.context import TierQueuePort
from router.errors import Conflict, Invalid
from router.models import metadata
from router.models.agents import Agent
from router.models.claims import ClaimKey
from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.tickets import service as tickets
from router.tierqueues.service import claim_next

#: How long a retry finds the first attempt's ticket (a client retries within minutes; a day is generous).
KEY_LIFETIME = timedelta(hours=24)
CLAIM_KEY = metadata.tables["claim_key"]


@dataclass(frozen=True)
class ClaimResult:
    #: None: the queue was empty (and nothing is remembered for the key).
    ticket: Ticket | None
    #: True when the key had already claimed this ticket: nothing new was claimed.
    replayed: bool = False


async def claim(session: AsyncSession, queue: TierQueuePort, tier: int, agent: Agent, key: str | None) -> ClaimResult:
    """Claim the head of ``tier`` for ``agent``, or answer what an earlier claim with ``key`` took."""
    assert agent.id is not None
    if key is None:
        return ClaimResult(await claim_next(session, queue, tier, agent))
    earlier = await _replay(session, agent.id, key, tier)
    if earlier is not None:
        return earlier
    if not await _reserve(session, agent.id, key, tier):
        # Another attempt with the key committed meanwhile (we waited for it on the unique key).
        earlier = await _replay(session, agent.id, key, tier)
        if earlier is None:
            raise Conflict("a claim with this Idempotency-Key is still in progress; retry shortly", retry_after=1)
        return earlier
    ticket = await claim_next(session, queue, tier, agent)
    remembered = (CLAIM_KEY.c.agent_id == agent.id) & (CLAIM_KEY.c.key == key)
    connection = await session.connection()
    if ticket is None:
        await connection.execute(delete(CLAIM_KEY).where(remembered))
    else:
        await connection.execute(update(CLAIM_KEY).where(remembered).values(ticket_id=ticket.id))
    return ClaimResult(ticket)


async def _replay(session: AsyncSession, agent_id: int, key: str, tier: int) -> ClaimResult | None:
    row = (
        await session.exec(
            select(ClaimKey).where(
                ClaimKey.agent_id == agent_id, ClaimKey.key == key, col(ClaimKey.expires_at) > utcnow()
            )
        )
    ).first()
    if row is None or row.ticket_id is None:
        return None
    if row.tier != tier:
        raise Invalid(
            f"this Idempotency-Key was used for a claim in tier {row.tier}; use a new key for tier {tier}",
            field="Idempotency-Key",
        )
    return ClaimResult(await tickets.get(session, row.ticket_id), replayed=True)


async def _reserve(session: AsyncSession, agent_id: int, key: str, tier: int) -> bool:
    """Hold the key for this transaction; False if another attempt holds it (and has committed by now)."""
    now = utcnow()
    # An expired key may be used again; the agent's other expired keys go with it.
    connection = await session.connection()
    await connection.execute(delete(CLAIM_KEY).where(CLAIM_KEY.c.agent_id == agent_id, CLAIM_KEY.c.expires_at <= now))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(CLAIM_KEY)
        .values(agent_id=agent_id, key=key, tier=tier, created_at=now, expires_at=now + KEY_LIFETIME)
        .on_conflict_do_nothing(index_elements=["agent_id", "key"])
        .returning(CLAIM_KEY.c.id)
    )
    return (await connection.execute(statement)).first() is not None
