"""SLA clock mechanics: start, stop, pause, resume, move to another tier, and the timer's warning and breach.

Called only by the ticket service (``router/tickets/``, the one door for ticket state), inside its transaction.
Clock changes that follow an agent's action (start, stop, pause, tier change) return summaries the
ticket service puts in that action's audit event (``data.sla``); what the SLA engine does on its own
(warning, breach) is an audit event of its own with actor ``sla``. Timer work is recorded as effects.
Timers are one sorted-set member per clock generation; a timing change bumps the generation, cancels
the old member and schedules the new one, so a late or repeated timer finds a newer generation and
does nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import service as audit
from router.effects import CancelTimer, ScheduleTimer, after_commit
from router.events import service as events
from router.models.sla import ClockKind, ClockState, SlaClock
from router.models.tickets import Ticket
from router.sla.policies import policies_of
from rules.business_time import add_business_seconds, business_seconds_between
from rules.sla import SlaPolicies, SlaPolicy
from rules.vocabulary import SELF_SERVICE_TIER

ACTOR = "sla"


def member_of(clock: SlaClock) -> str:
    return f"{clock.ticket_id}:{clock.kind}:{clock.generation}"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def select_policy(policies: SlaPolicies, ticket: Ticket) -> SlaPolicy:
    return policies.select(
        pinned=ticket.sla_policy,
        support_tier=ticket.support_tier or 0,
        customer_tier=ticket.customer_tier,
        priority=ticket.priority,
    )


def policy_of(policies: SlaPolicies, clock: SlaClock, ticket: Ticket) -> SlaPolicy:
    """The clock's own policy; if a policy file change removed it, what the ticket would get now."""
    return policies.policies.get(clock.policy) or select_policy(policies, ticket)


async def clocks(session: AsyncSession, ticket: Ticket, kinds: Iterable[str] | None = None) -> list[SlaClock]:
    query = select(SlaClock).where(SlaClock.ticket_id == ticket.id)
    if kinds is not None:
        query = query.where(col(SlaClock.kind).in_(list(kinds)))
    return list((await session.exec(query.order_by(col(SlaClock.id)))).all())


def is_live(clock: SlaClock) -> bool:
    """Counting or paused: not stopped."""
    return clock.stopped_at is None


def _fold(clock: SlaClock, policy: SlaPolicy, now: datetime) -> None:
    """Move the running segment's business time into the counters; the segment restarts at ``now``."""
    if clock.running_since is None:
        return
    used = business_seconds_between(policy.calendar, clock.running_since, now)
    clock.consumed_seconds += used
    clock.total_seconds += used
    clock.running_since = now


def _retime(session: AsyncSession, clock: SlaClock, policy: SlaPolicy, now: datetime) -> None:
    """New generation: recompute due, warning and next timer; swap the Redis timer after the commit."""
    if clock.next_at is not None:
        after_commit(session, CancelTimer(member_of(clock)))
    clock.generation += 1
    clock.updated_at = now
    clock.next_at = None
    if clock.running_since is None:
        clock.warn_at = None
        if clock.paused_at is not None and clock.state != ClockState.breached:
            clock.due_at = None  # unknown until it resumes; a stopped or breached clock keeps the time it had
        return
    if clock.state == ClockState.breached:
        clock.warn_at = None  # keeps the due time it missed; nothing more is pending in this tier
        return
    cal, start = policy.calendar, clock.running_since
    clock.due_at = add_business_seconds(cal, start, clock.target_seconds - clock.consumed_seconds)
    clock.warn_at = add_business_seconds(cal, start, policy.warning_at * clock.target_seconds - clock.consumed_seconds)
    if clock.state == ClockState.ok:
        clock.next_at = clock.warn_at
    elif clock.state == ClockState.warning:
        clock.next_at = clock.due_at
    if clock.next_at is not None:
        after_commit(session, ScheduleTimer(member_of(clock), epoch_ms(clock.next_at)))


def _summary(clock: SlaClock, change: str | None = None) -> dict[str, Any]:
    return {
        **({"change": change} if change else {}),
        "kind": clock.kind,
        "state": clock.state,
        "due_at": clock.due_at.isoformat() if clock.due_at else None,
        "tier_seconds": round(clock.consumed_seconds, 3),
        "total_seconds": round(clock.total_seconds, 3),
    }


def _record(session: AsyncSession, ticket: Ticket, action: str, clock: SlaClock, **extra: Any) -> None:
    data = {"policy": clock.policy, "support_tier": clock.support_tier, **_summary(clock), **extra}
    audit.append(session, ticket, actor=ACTOR, action=action, to_tier=ticket.support_tier, data=data)


Changes = list[dict[str, Any]]
#: The clocks routing starts.
OPENING_KINDS = (ClockKind.first_response, ClockKind.resolution)


async def start(session: AsyncSession, ticket: Ticket, kinds: Sequence[str], now: datetime) -> Changes:
    """Start (or restart, keeping the lifetime total) the clocks of ``kinds`` the ticket's policy has targets for."""
    assert ticket.id is not None and ticket.support_tier is not None
    policy = select_policy(policies_of(session), ticket)
    existing = {c.kind: c for c in await clocks(session, ticket, kinds)}
    started = []
    for kind in kinds:
        if kind not in policy.targets:
            continue
        clock = existing.get(kind) or SlaClock(
            ticket_id=ticket.id, kind=kind, policy=policy.name, support_tier=ticket.support_tier, target_seconds=0
        )
        if clock.next_at is not None:
            after_commit(session, CancelTimer(member_of(clock)))
            clock.next_at = None
        clock.policy, clock.support_tier, clock.target_seconds = policy.name, ticket.support_tier, policy.targets[kind]
        clock.state, clock.consumed_seconds = ClockState.ok, 0.0
        clock.started_at = clock.tier_started_at = clock.running_since = now
        clock.paused_at = clock.warned_at = clock.breached_at = clock.stopped_at = None
        session.add(clock)
        _retime(session, clock, policy, now)
        started.append(_summary(clock, "started") | {"policy": policy.name})
    return started


def opening_clocks(
    policies: SlaPolicies, policy: SlaPolicy, *, ticket_id: int, support_tier: int, status: str, now: datetime
) -> tuple[list[dict[str, Any]], Changes, list[ScheduleTimer | CancelTimer]]:
    """The clocks that ``start`` then ``sync_pause`` give a ticket routed at ``now`` that has none yet, as
    table rows, with the audit summaries and timer effects those two would record: what batched intake
    (``router.tickets.opening``) inserts in one statement. ``tests/tickets/test_opening.py`` holds the two
    paths to the same rows.
    """
    rows: list[dict[str, Any]] = []
    started: Changes = []
    paused: Changes = []
    timers: list[ScheduleTimer | CancelTimer] = []
    pause = status in policies.pause_statuses
    for kind in OPENING_KINDS:
        if kind not in policy.targets:
            continue
        target = policy.targets[kind]
        due_at = add_business_seconds(policy.calendar, now, target - 0.0)
        warn_at = add_business_seconds(policy.calendar, now, policy.warning_at * target)
        row: dict[str, Any] = {
            "ticket_id": ticket_id,
            "kind": kind,
            "policy": policy.name,
            "support_tier": support_tier,
            "state": ClockState.ok,
            "target_seconds": target,
            "consumed_seconds": 0.0,
            "total_seconds": 0.0,
            "started_at": now,
            "tier_started_at": now,
            "running_since": now,
            "due_at": due_at,
            "warn_at": warn_at,
            "next_at": warn_at,
            "paused_at": None,
            "warned_at": None,
            "breached_at": None,
            "stopped_at": None,
            "breaches": 0,
            "generation": 1,
            "updated_at": now,
        }
        timers.append(ScheduleTimer(f"{ticket_id}:{kind}:1", epoch_ms(warn_at)))
        started.append(_row_summary(row, "started") | {"policy": policy.name})
        if pause:  # as sync_pause: nothing was used yet, the timer goes, the due time is unknown
            timers.append(CancelTimer(f"{ticket_id}:{kind}:1"))
            row.update(running_since=None, paused_at=now, due_at=None, warn_at=None, next_at=None, generation=2)
            paused.append(_row_summary(row, "paused"))
        rows.append(row)
    return rows, started + paused, timers


def _row_summary(row: dict[str, Any], change: str) -> dict[str, Any]:
    return {
        "change": change,
        "kind": row["kind"],
        "state": row["state"],
        "due_at": row["due_at"].isoformat() if row["due_at"] else None,
        "tier_seconds": round(row["consumed_seconds"], 3),
        "total_seconds": round(row["total_seconds"], 3),
    }


#: The clocks that wait for a response to the requester (the rest wait for the resolution).
RESPONSE_KINDS = (ClockKind.first_response, ClockKind.next_response)


def stopped_state(policies: SlaPolicies, clock: SlaClock, action: str) -> str:
    """What a clock stopped by ``action`` is: a breach stays a breach; a response clock is met only by an
    action that counts as a response (a public reply, or what the policies' ``responses`` add), else it was
    stopped without a response; any other clock is met."""
    if clock.state == ClockState.breached:
        return ClockState.breached
    if clock.kind in RESPONSE_KINDS and action not in policies.response_actions:
        return ClockState.unanswered
    return ClockState.met


async def stop(session: AsyncSession, ticket: Ticket, kinds: Sequence[str], now: datetime, *, action: str) -> Changes:
    """Stop live clocks of ``kinds`` because of ``action`` (``replied``, ``resolved``): met, unanswered or
    still breached (``stopped_state``)."""
    policies = policies_of(session)
    stopped = []
    for clock in await clocks(session, ticket, kinds):
        if not is_live(clock):
            continue
        _fold(clock, policy_of(policies, clock, ticket), now)
        clock.running_since = clock.paused_at = None
        clock.stopped_at = now
        clock.state = stopped_state(policies, clock, action)
        _retime(session, clock, policy_of(policies, clock, ticket), now)
        stopped.append(_summary(clock, "stopped"))
    return stopped


async def sync_pause(session: AsyncSession, ticket: Ticket, now: datetime) -> Changes:
    """Pause live clocks while the ticket's status is one the policies pause in; resume them when it leaves."""
    policies = policies_of(session)
    pause = ticket.status in policies.pause_statuses
    changed = []
    for clock in await clocks(session, ticket):
        if not is_live(clock) or (clock.paused_at is not None) == pause:
            continue
        policy = policy_of(policies, clock, ticket)
        if pause:
            _fold(clock, policy, now)
            clock.running_since, clock.paused_at = None, now
        else:
            clock.running_since, clock.paused_at = now, None
        _retime(session, clock, policy, now)
        changed.append(_summary(clock, "paused" if pause else "resumed"))
    return changed


async def tier_changed(session: AsyncSession, ticket: Ticket, now: datetime) -> Changes:
    """After an escalation or de-escalation: each live clock restarts for the new tier or runs on, as the
    policy in force says. Time in the old tier is kept in ``total_seconds`` either way. A move into
    self-service (tier 0) always restarts: there the tier's own policy must hand the ticket back to a person
    in time (``docs/self-service.md``), whatever the old policy would let run on."""
    policies = policies_of(session)
    new_policy = select_policy(policies, ticket)
    into_self_service = ticket.support_tier == SELF_SERVICE_TIER
    changed = []
    for clock in await clocks(session, ticket):
        if not is_live(clock):
            continue
        old_policy = policy_of(policies, clock, ticket)
        _fold(clock, old_policy, now)
        clock.support_tier = ticket.support_tier or 0
        policy = old_policy
        restart = old_policy.on_escalation == "restart" or into_self_service
        if restart:
            policy = new_policy
            clock.policy = new_policy.name
            clock.target_seconds = new_policy.targets.get(clock.kind, clock.target_seconds)
            clock.consumed_seconds, clock.tier_started_at = 0.0, now
            clock.state, clock.warned_at, clock.breached_at = ClockState.ok, None, None
        _retime(session, clock, policy, now)
        changed.append(_summary(clock, "restarted" if restart else "continued"))
    return changed


async def customer_replied(session: AsyncSession, ticket: Ticket, now: datetime, *, reopened: bool) -> Changes:
    """After a requester's message: a reopened ticket's resolution clock starts again; once the first
    response is given, every new requester message starts a next-response clock (unless one is already
    counting); the ticket's status may pause or resume clocks."""
    changes = await start(session, ticket, [ClockKind.resolution], now) if reopened else []
    found = {c.kind: c for c in await clocks(session, ticket, [ClockKind.first_response, ClockKind.next_response])}
    first, following = found.get(ClockKind.first_response), found.get(ClockKind.next_response)
    if first is not None and not is_live(first) and (following is None or not is_live(following)):
        changes += await start(session, ticket, [ClockKind.next_response], now)
    return changes + await sync_pause(session, ticket, now)


async def due_clock(session: AsyncSession, ticket: Ticket, kind: str, generation: int) -> SlaClock | None:
    """The clock a timer names, if that timer is still current (same generation, live, not paused)."""
    found = await clocks(session, ticket, [kind])
    clock = found[0] if found else None
    if clock is None or clock.generation != generation or not is_live(clock) or clock.paused_at is not None:
        return None
    return clock


def reschedule(session: AsyncSession, clock: SlaClock) -> None:
    """A timer claimed early (clock skew): put it back for its time."""
    if clock.next_at is not None:
        after_commit(session, ScheduleTimer(member_of(clock), epoch_ms(clock.next_at)))


def warn(session: AsyncSession, ticket: Ticket, clock: SlaClock, now: datetime) -> None:
    policy = policy_of(policies_of(session), clock, ticket)
    clock.state, clock.warned_at = ClockState.warning, now
    _retime(session, clock, policy, now)
    _record(session, ticket, "sla_warning", clock, warning_at=policy.warning_at)
    events.emit(session, ticket, "sla.warning", {**_summary(clock), "support_tier": ticket.support_tier})


def breach(session: AsyncSession, ticket: Ticket, clock: SlaClock, now: datetime) -> tuple[str, ...]:
    """Mark the clock breached and announce it; returns the policy's breach actions for the caller to run."""
    policy = policy_of(policies_of(session), clock, ticket)
    _fold(clock, policy, now)
    clock.state, clock.breached_at, clock.breaches = ClockState.breached, now, clock.breaches + 1
    _retime(session, clock, policy, now)
    _record(session, ticket, "sla_breached", clock, actions=list(policy.on_breach))
    events.emit(
        session,
        ticket,
        "sla.breached",
        {**_summary(clock), "support_tier": ticket.support_tier, "actions": list(policy.on_breach)},
    )
    return policy.on_breach
