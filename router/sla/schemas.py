"""The ``sla`` object on ticket JSON: state, policy, and per clock its due time and business time left."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel

from router.models.sla import ClockState, SlaClock
from rules.business_time import business_seconds_between
from rules.sla import SlaPolicies

#: The ticket's SLA state is its worst clock's, in this order.
_SEVERITY = (
    ClockState.breached,
    ClockState.warning,
    ClockState.paused,
    ClockState.ok,
    ClockState.unanswered,
    ClockState.met,
)


class SlaClockOut(BaseModel):
    kind: str
    state: str
    policy: str
    support_tier: int
    due_at: datetime | None
    remaining_business_seconds: float | None
    paused: bool
    breached_at: datetime | None
    met_at: datetime | None
    #: Business seconds used in the current tier and over the ticket's life.
    tier_business_seconds: float
    total_business_seconds: float


class SlaOut(BaseModel):
    state: str
    policy: str | None
    clocks: list[SlaClockOut]


def clock_view(clock: SlaClock, policies: SlaPolicies, now: datetime) -> SlaClockOut:
    """What a clock shows at ``now``; a running clock adds the business time since its segment began."""
    policy = policies.policies.get(clock.policy)
    running = 0.0
    if clock.running_since is not None and policy is not None:
        running = business_seconds_between(policy.calendar, clock.running_since, now)
    tier_used = clock.consumed_seconds + running
    live = clock.stopped_at is None
    state = ClockState.paused if live and clock.paused_at is not None else ClockState(clock.state)
    return SlaClockOut(
        kind=clock.kind,
        state=state,
        policy=clock.policy,
        support_tier=clock.support_tier,
        due_at=clock.due_at,
        remaining_business_seconds=round(clock.target_seconds - tier_used, 3) if live else None,
        paused=live and clock.paused_at is not None,
        breached_at=clock.breached_at,
        met_at=clock.stopped_at if clock.state == ClockState.met else None,
        tier_business_seconds=round(tier_used, 3),
        total_business_seconds=round(clock.total_seconds + running, 3),
    )


def sla_view(clocks: Sequence[SlaClock], policies: SlaPolicies, now: datetime) -> SlaOut | None:
    """``None`` for a ticket without clocks (not routed yet)."""
    if not clocks:
        return None
    views = [clock_view(c, policies, now) for c in clocks]
    live = [v for v, c in zip(views, clocks, strict=True) if c.stopped_at is None] or views
    state = min((v.state for v in live), key=lambda s: _SEVERITY.index(ClockState(s)))
    return SlaOut(state=state, policy=clocks[-1].policy, clocks=views)
