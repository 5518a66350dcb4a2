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
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import ARRAY, ColumnElement, Integer, and_, any_, func, literal, or_, text
from sqlalchemy import select as sa_select
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.assignment.shifts import calendars, on_shift
from router.context import AppContext, TierQueuePort
from router.effects import PlaceInQueue, drop_undo, on_rollback
from router.models.agents import Agent, AgentStatus
from router.models.assignment import AssignmentOffer, OfferState
from router.models.columns import json_list_has, utcnow
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


def cap_of(agent: Agent, tier: int) -> int:
    return _cap(agent.max_open, tier)


def _cap(max_open: dict[str, int] | None, tier: int) -> int:
    return int((max_open or {}).get(str(tier), DEFAULT_MAX_OPEN))


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


def _load_in_tier(tier: int) -> ScalarSelect[int]:
    """Open tickets (offered ones too) the outer query's agent holds in ``tier``: an index-only count over
    ``ix_ticket_open_assignee_tier`` (the statuses written as literals, so the planner always matches its
    predicate; by ``ix_ticket_assignee_id`` it read every held ticket's row: 15 ms at 6,000 held)."""
    return (
        select(func.count())
        .select_from(Ticket)
        .where(col(Ticket.assignee_id) == Agent.id, Ticket.support_tier == tier, text(_OPEN_TICKET))
        .correlate(Agent)
        .scalar_subquery()
    )


def _last_offered(tier: int) -> ScalarSelect[datetime | None]:
    """The outer query's agent's latest offer in ``tier``: one backward step of
    ``ix_assignment_offer_tier_agent_at`` (a max grouped by agent read every offer of the tier: 14 ms at
    6,000)."""
    o = AssignmentOffer  # no alias needed: the outer query is over ``agent`` only
    return (
        select(func.max(o.offered_at))
        .where(o.tier == tier, col(o.agent_id) == Agent.id)
        .correlate(Agent)
        .scalar_subquery()
    )


#: ``OPEN_STATUSES`` as SQL over ``ticket`` (inside a query over ``agent``, which has a status too).
_OPEN_TICKET = "ticket.status IN (" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


def _epoch(at: datetime | str | None) -> float:
    if at is None:
        return 0.0
    if isinstance(at, str):  # SQLite's max() answers the stored text
        at = datetime.fromisoformat(at)
    return at.timestamp()


def _among(dialect: str, ids: list[int]) -> ColumnElement[bool]:
    """``agent.id`` is one of ``ids``: one array parameter on PostgreSQL (a statement text of its own for every
    count of ids is parsed anew each time, and a hundred bound ids cost more to render than to run)."""
    if dialect == "postgresql":
        return col(Agent.id) == any_(literal(ids, ARRAY(Integer)))
    return col(Agent.id).in_(ids)


async def eligible(
    session: AsyncSession,
    tier: int,
    *,
    seen: dict[int, float],
    away_after: float,
    now: datetime | None = None,
    lock: bool = False,
) -> list[Candidate]:
    """Active agents who work ``tier`` (leads only when the tier is theirs by name), are available, present
    and on shift, with their load and cap in the tier (full ones included: the choice skips them).

    One read finds the tier's available agents, in id order and, with ``lock``, under their rows' locks: the
    loads counted next hold until the commit (caps under concurrency), and concurrent assigners (of any
    tiers) never wait on each other in a circle. PostgreSQL re-checks a locked row's conditions on its
    newest version, so an agent who went away while the lock was awaited is not among them. Plain columns,
    not agent objects: this runs for every batch, over every agent of the tier."""
    now = now or utcnow()
    dialect = session.get_bind().dialect.name
    query = (
        sa_select(Agent.id, Agent.max_open, Agent.skills, Agent.status_changed_at, Agent.shift_calendar)  # type: ignore[call-overload]
        .where(Agent.active == True, Agent.status == AgentStatus.available)  # noqa: E712
        .where(json_list_has(dialect, col(Agent.tiers), tier))
        .order_by(col(Agent.id))
    )
    if lock:
        query = query.with_for_update(of=Agent)
    rows = (await session.exec(query)).all()
    known = calendars(session)
    stamp = now.timestamp()
    found = {
        agent_id: (max_open, skills)
        for agent_id, max_open, skills, changed, shift in rows
        if agent_id is not None
        and is_present(agent_id, seen, away_after, stamp, status_since=_epoch(changed) or None)
        and on_shift(known, shift, now)
    }
    if not found:
        return []
    # Their loads and latest offers in one round trip, in a statement of its own after the lock: its snapshot
    # sees the offers of an assigner the lock waited for (a subquery of the locking statement would not).
    figures = {
        agent_id: (int(load), _epoch(at))
        for agent_id, load, at in (
            await session.exec(
                select(Agent.id, _load_in_tier(tier), _last_offered(tier)).where(_among(dialect, list(found)))
            )
        ).all()
    }
    out = []
    for agent_id, (max_open, skills) in found.items():
        load, at = figures[agent_id]
        out.append(Candidate(agent_id, load, _cap(max_open, tier), frozenset(skills or ()), at))
    return out


async def _heads(session: AsyncSession, queue: TierQueuePort, tier: int, count: int) -> list[tuple[Ticket, int | None]]:
    """Pop up to ``count`` entries at once and load their tickets under row locks, in claim order; entries the
    database no longer agrees with (claimed, moved, resolved since) are dropped, as a claim does. Each popped
    entry goes back if the transaction rolls back. Each ticket comes with its customer's account owner (read
    in the same statement: one round trip fewer per offer)."""
    popped = await queue.pop_many(tier, count)
    if not popped:
        return []
    undo = {p.ticket_id: PlaceInQueue(tier, p.ticket_id, p.score, p.created_ms) for p in popped}
    for effect in undo.values():
        on_rollback(session, effect)
    rows = await session.exec(
        select(Ticket, Customer.account_owner_id)
        .outerjoin(Customer, col(Customer.id) == Ticket.customer_id)
        .where(col(Ticket.id).in_(list(undo)))
        .order_by(col(Ticket.id))
        .with_for_update(of=Ticket)
    )
    by_id = {t.id: (t, owner) for t, owner in rows.all()}
    waiting: list[tuple[Ticket, int | None]] = []
    for p in popped:
        ticket, owner = by_id.get(p.ticket_id, (None, None))
        if (
            ticket is not None
            and ticket.status == Status.queued
            and ticket.assignee_id is None
            and ticket.support_tier == tier
        ):
            waiting.append((ticket, owner))
        else:
            drop_undo(session, undo[p.ticket_id])
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
    pool = {c.agent_id: c for c in found}
    made: list[AssignmentOffer] = []
    while len(made) < limit:
        room = sum(max(c.max_open - c.open_count, 0) for c in pool.values())
        heads = await _heads(session, queue, tier, min(limit - len(made), room))
        if not heads:
            break
        passed = await _clear_and_passed(session, [t.id for t, _ in heads if t.id is not None])
        for ticket, owner in heads:
            offer = (
                await _offer_head(session, ticket, owner, rule, pool, passed.get(ticket.id or 0, set()))
                if room > 0
                else None
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


async def _clear_and_passed(session: AsyncSession, ticket_ids: list[int]) -> dict[int, set[int]]:
    """Per head, the agents who recently declined it or let its offer expire; the heads' stale pending offers
    are withdrawn (``offers.withdraw_stale``: rare, and a new offer's pending row is unique per ticket). One
    read of the offers answers both."""
    if not ticket_ids:
        return {}
    since = utcnow() - timedelta(seconds=PASSED_ON_SECONDS)
    o = AssignmentOffer
    rows = await session.exec(
        select(o.ticket_id, o.agent_id, o.state).where(
            col(o.ticket_id).in_(ticket_ids),
            or_(
                col(o.state) == OfferState.pending,
                and_(col(o.state).in_([OfferState.declined, OfferState.expired]), col(o.answered_at) >= since),
            ),
        )
    )
    pending: list[int] = []
    passed: dict[int, set[int]] = {}
    for ticket_id, agent_id, state in rows.all():
        if state == OfferState.pending:
            pending.append(ticket_id)
        else:
            passed.setdefault(ticket_id, set()).add(agent_id)
    if pending:
        await offers.withdraw_stale(session, pending)
    return passed


async def _offer_head(
    session: AsyncSession,
    ticket: Ticket,
    owner: int | None,
    rule: TierAssignment,
    pool: dict[int, Candidate],
    passed: set[int],
) -> AssignmentOffer | None:
    language = (ticket.decision or {}).get("language")
    language = language if isinstance(language, str) else None
    terms = ticket_terms(ticket.queue_group, ticket.product, language, ticket.tags)
    candidates = list(pool.values())
    others = [c for c in candidates if c.agent_id not in passed and c.max_open > c.open_count]
    choice = choose(rule, others or candidates, terms=terms, account_owner=owner if owner not in passed else None)
    if choice is None:
        return None
    chosen = pool[choice.agent_id]
    offer = await offers.offer(session, ticket, chosen.agent_id, choice, seconds=rule.offer_timeout)
    pool[choice.agent_id] = replace(chosen, open_count=chosen.open_count + 1, last_offered=time.time())
    return offer


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
