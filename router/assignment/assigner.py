"""The assigner: offers the head of a pushing tier's queue to eligible agents, a batch per transaction.

It takes the head with the claim's atomic pop (``TierQueuePort.pop``: each entry goes to one caller), so two
assigners, or an assigner and an agent's "Claim next", never get the same ticket. The popped entry is put
back if the transaction rolls back (the undo list); if the process dies before the commit, the ticket is
still queued and unassigned in the database and the queue repair puts it back (``queues.reconcile``).
Caps hold under concurrent assigners: a batch locks its candidates' rows (in id order) before counting
their loads, so a second assigner counts after the first one's offers are committed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.assignment.shifts import calendars, on_shift
from router.context import AppContext, TierQueuePort
from router.effects import PlaceInQueue, drop_undo, on_rollback
from router.models.agents import Agent, AgentStatus
from router.models.assignment import AssignmentOffer, OfferState
from router.models.columns import utcnow
from router.models.customers import Customer
from router.models.tickets import OPEN_STATUSES, Status, Ticket
from router.tickets import offers
from router.tierqueues import placement
from router.unit_of_work import transaction
from rules.assignment import DEFAULT_MAX_OPEN, Candidate, TierAssignment, choose, ticket_terms

#: One run of the job stops after this long (well inside the routing job's timeout); the sweep wakes it again.
RUN_SECONDS = 10.0


#: Offers per transaction: one commit (and one read of the candidates) for many offers.
BATCH = 50


@dataclass(frozen=True)
class Eligible:
    agent: Agent
    candidate: Candidate


def cap_of(agent: Agent, tier: int) -> int:
    return int(agent.max_open.get(str(tier), DEFAULT_MAX_OPEN))


def is_present(
    agent_id: int, seen: dict[int, float], away_after: float, now: float, *, status_since: float | None = None
) -> bool:
    """Away automatically once their live stream has been gone for ``away_after`` seconds. An agent never seen
    (API-only, or Redis restarted) counts as present: their status says what they want; so does one who set
    their status after their last page closed (an agent who opened the UI last week, working by API today)."""
    last = seen.get(agent_id)
    if last is not None and status_since is not None:
        last = max(last, status_since)
    return away_after <= 0 or last is None or now - last <= away_after


async def load_in_tier(session: AsyncSession, tier: int, agent_ids: list[int]) -> dict[int, int]:
    """Open tickets (offered ones too) each agent holds in ``tier``."""
    if not agent_ids:
        return {}
    rows = await session.exec(
        select(Ticket.assignee_id, func.count())
        .where(
            col(Ticket.assignee_id).in_(agent_ids),
            Ticket.support_tier == tier,
            col(Ticket.status).in_([s.value for s in OPEN_STATUSES]),
        )
        .group_by(col(Ticket.assignee_id))
    )
    return {int(a): int(n) for a, n in rows.all() if a is not None}


async def last_offered(session: AsyncSession, tier: int, agent_ids: list[int]) -> dict[int, float]:
    rows = await session.exec(
        select(AssignmentOffer.agent_id, func.max(AssignmentOffer.offered_at))
        .where(AssignmentOffer.tier == tier, col(AssignmentOffer.agent_id).in_(agent_ids))
        .group_by(col(AssignmentOffer.agent_id))
    )
    return {int(a): _epoch(at) for a, at in rows.all()}


def _epoch(at: datetime | str | None) -> float:
    if at is None:
        return 0.0
    if isinstance(at, str):  # SQLite's max() answers the stored text
        at = datetime.fromisoformat(at)
    return at.timestamp()


async def eligible(
    session: AsyncSession,
    tier: int,
    *,
    seen: dict[int, float],
    away_after: float,
    now: datetime | None = None,
    lock: bool = False,
) -> list[Eligible]:
    """Active agents who work ``tier`` (leads only when the tier is theirs by name), are available, present
    and on shift, with their load and cap in the tier (full ones included: the choice skips them). ``lock``
    takes their rows' locks first, so the loads counted hold until the commit (caps under concurrency)."""
    now = now or utcnow()
    rows = (
        await session.exec(select(Agent).where(Agent.active == True, Agent.status == AgentStatus.available))  # noqa: E712
    ).all()
    known = calendars(session)
    stamp = now.timestamp()
    agents = [
        a
        for a in rows
        if a.id is not None
        and tier in a.tiers
        and is_present(a.id, seen, away_after, stamp, status_since=_epoch(a.status_changed_at) or None)
        and on_shift(known, a.shift_calendar, now)
    ]
    ids = [a.id for a in agents if a.id is not None]
    if lock and ids:
        # In id order, so concurrent assigners (of any tiers) never wait on each other in a circle; re-read,
        # since a status may have changed before the lock.
        locked = await session.exec(
            select(Agent)
            .where(col(Agent.id).in_(ids))
            .order_by(col(Agent.id))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        agents = [a for a in locked.all() if a.active and a.status == AgentStatus.available]
        ids = [a.id for a in agents if a.id is not None]
    loads, offered = await load_in_tier(session, tier, ids), await last_offered(session, tier, ids)
    out = []
    for a in agents:
        assert a.id is not None
        candidate = Candidate(a.id, loads.get(a.id, 0), cap_of(a, tier), frozenset(a.skills), offered.get(a.id, 0.0))
        out.append(Eligible(a, candidate))
    return out


async def _heads(session: AsyncSession, queue: TierQueuePort, tier: int, count: int) -> list[Ticket]:
    """Pop up to ``count`` entries at once and load their tickets under row locks, in claim order; entries the
    database no longer agrees with (claimed, moved, resolved since) are dropped, as a claim does. Each popped
    entry goes back if the transaction rolls back."""
    popped = await queue.pop_many(tier, count)
    if not popped:
        return []
    undo = {p.ticket_id: PlaceInQueue(tier, p.ticket_id, p.score, p.created_ms) for p in popped}
    for effect in undo.values():
        on_rollback(session, effect)
    rows = await session.exec(
        select(Ticket).where(col(Ticket.id).in_(list(undo))).order_by(col(Ticket.id)).with_for_update()
    )
    by_id = {t.id: t for t in rows.all()}
    waiting = []
    for p in popped:
        ticket = by_id.get(p.ticket_id)
        if (
            ticket is not None
            and ticket.status == Status.queued
            and ticket.assignee_id is None
            and ticket.support_tier == tier
        ):
            waiting.append(ticket)
        else:
            drop_undo(session, undo[p.ticket_id])
    await offers.withdraw_stale(session, [t.id for t in waiting if t.id is not None])
    return waiting


async def assign_batch(
    session: AsyncSession,
    queue: TierQueuePort,
    tier: int,
    rule: TierAssignment,
    *,
    seen: dict[int, float],
    away_after: float,
    limit: int = BATCH,
) -> list[AssignmentOffer]:
    """Offer up to ``limit`` tickets from the head of ``tier``'s queue, in this transaction.

    The candidates are read and locked once (in id order: no deadlock between assigners), their loads
    counted under the lock and kept in step here; as many heads as they have room for are popped at once.
    A head nobody has room for after all goes back once this commits.
    """
    if not rule.pushes:
        return []
    found = await eligible(session, tier, seen=seen, away_after=away_after, lock=True)
    pool = {e.candidate.agent_id: e for e in found}
    made: list[AssignmentOffer] = []
    while len(made) < limit:
        room = sum(max(e.candidate.max_open - e.candidate.open_count, 0) for e in pool.values())
        heads = await _heads(session, queue, tier, min(limit - len(made), room))
        if not heads:
            break
        passed = await passed_on(session, [t.id for t in heads if t.id is not None])
        for ticket in heads:
            offer = (
                await _offer_head(session, ticket, rule, pool, passed.get(ticket.id or 0, set())) if room > 0 else None
            )
            if offer is None:
                placement.place(session, ticket)  # nobody has room after all: back to its place
                room = 0
                continue
            made.append(offer)
    return made


#: An agent who declined a ticket, or let its offer run out, is not offered it again for this long, unless
#: nobody else has room (then they are: the ticket must not wait for an agent who may never come).
PASSED_ON_SECONDS = 3600


async def passed_on(session: AsyncSession, ticket_ids: list[int]) -> dict[int, set[int]]:
    """Per ticket, the agents who recently declined it or let its offer expire (one query for the batch)."""
    if not ticket_ids:
        return {}
    since = utcnow() - timedelta(seconds=PASSED_ON_SECONDS)
    rows = await session.exec(
        select(AssignmentOffer.ticket_id, AssignmentOffer.agent_id).where(
            col(AssignmentOffer.ticket_id).in_(ticket_ids),
            col(AssignmentOffer.state).in_([OfferState.declined, OfferState.expired]),
            col(AssignmentOffer.answered_at) >= since,
        )
    )
    found: dict[int, set[int]] = {}
    for ticket_id, agent_id in rows.all():
        found.setdefault(ticket_id, set()).add(agent_id)
    return found


async def _offer_head(
    session: AsyncSession, ticket: Ticket, rule: TierAssignment, pool: dict[int, Eligible], passed: set[int]
) -> AssignmentOffer | None:
    language = (ticket.decision or {}).get("language")
    language = language if isinstance(language, str) else None
    terms = ticket_terms(ticket.queue_group, ticket.product, language, ticket.tags)
    owner = await _account_owner(session, ticket)
    candidates = [e.candidate for e in pool.values()]
    others = [c for c in candidates if c.agent_id not in passed and c.max_open > c.open_count]
    choice = choose(rule, others or candidates, terms=terms, account_owner=owner if owner not in passed else None)
    if choice is None:
        return None
    chosen = pool[choice.agent_id]
    offer = await offers.offer(session, ticket, chosen.agent, choice, seconds=rule.offer_timeout)
    candidate = chosen.candidate
    pool[choice.agent_id] = Eligible(
        chosen.agent, replace(candidate, open_count=candidate.open_count + 1, last_offered=time.time())
    )
    return offer


async def _account_owner(session: AsyncSession, ticket: Ticket) -> int | None:
    if ticket.customer_id is None:
        return None
    return (await session.exec(select(Customer.account_owner_id).where(Customer.id == ticket.customer_id))).first()


async def run_tier(app: AppContext, tier: int, *, limit: int = 10_000, seconds: float = RUN_SECONDS) -> int:
    """Offer ``tier``'s queued tickets, one transaction each, until the queue is empty, nobody has room,
    ``limit`` offers or ``seconds`` passed. Returns the number of offers made."""
    settings = app.assignment.current()
    rule = settings.of(tier)
    if not rule.pushes:
        return 0
    try:
        seen = await app.live.last_seen()
    except Exception:  # Redis away: nobody counts as gone (their status still rules)
        seen = {}
    made, started = 0, time.monotonic()
    while made < limit and time.monotonic() - started < seconds:
        size = min(BATCH, limit - made)
        async with transaction(app.sessionmaker, app.effects) as session:
            batch = await assign_batch(
                session, app.tier_queue, tier, rule, seen=seen, away_after=settings.away_after, limit=size
            )
        made += len(batch)
        if len(batch) < size:  # the queue ran dry, or nobody has room
            return made
    return made
