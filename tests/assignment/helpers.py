"""Small factories for the push assignment tests: agents with a status and caps, queued tickets in bulk."""

from __future__ import annotations

from queues.names import tier_age_key, tier_queue_key
from queues.runtime import Runtime
from router.agents import service as agents
from router.assignment.settings import AssignmentProvider
from router.models.agents import Agent
from router.models.columns import utcnow
from router.models.tickets import Status, Ticket, ticket_ref
from router.tierqueues.ordering import created_ms, queue_score
from router.unit_of_work import commit
from rules.assignment import AssignmentSettings, TierAssignment
from tests.conftest import make_agent


def push(runtime: Runtime, strategy: str, *, tier: int = 1, timeout: float = 60, away_after: float = 300) -> None:
    """Tier ``tier`` pushes with ``strategy`` for this test (the runtime fixture puts the provider back)."""
    settings = AssignmentSettings("test", {tier: TierAssignment(strategy, timeout)}, away_after)
    runtime.app.assignment = AssignmentProvider.fixed(settings)


async def agent(
    runtime: Runtime,
    *,
    status: str = "available",
    cap: int = 5,
    skills: tuple[str, ...] = (),
    tier: int = 1,
) -> tuple[Agent, str]:
    made, token = await make_agent(runtime, tiers=(tier,))
    async with runtime.app.sessionmaker() as s:
        row = await agents.get_agent(s, made.id or 0)
        await agents.change_agent(s, None, row, status=status, max_open={tier: cap}, skills=skills)
        await commit(s, runtime.app.effects)
        return row, token


async def queued(
    runtime: Runtime, count: int, *, tier: int = 1, queue_group: str | None = None, tags: tuple[str, ...] = ()
) -> list[int]:
    """``count`` tickets queued in ``tier`` (as routing leaves them), in the database and the Redis queue."""
    now = utcnow()
    async with runtime.app.sessionmaker() as s:
        rows = [
            Ticket(
                subject=f"ticket {i}",
                requester_email="pat@customer.example",
                customer_tier=3,
                status=Status.queued,
                support_tier=tier,
                queue_group=queue_group,
                tags=list(tags),
                queued_at=now,
            )
            for i in range(count)
        ]
        s.add_all(rows)
        await s.flush()
        for t in rows:
            t.ref = ticket_ref(t.id or 0)
        await s.commit()
        entries = [
            (t.id or 0, queue_score(t.priority, t.customer_tier, t.created_at), created_ms(t.created_at)) for t in rows
        ]
    async with runtime.pool.pipeline(transaction=False) as pipe:
        for tid, score, ms in entries:
            pipe.zadd(tier_queue_key(tier), {str(tid): score})
            pipe.zadd(tier_age_key(tier), {str(tid): ms})
        await pipe.execute()
    return [tid for tid, _, _ in entries]
