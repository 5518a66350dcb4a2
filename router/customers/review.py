"""A tier review: every customer scored against the tier policy, a tier proposed, moves held back by the
hysteresis; applied, the moves are made through ``tiering.retier_many`` (history, log, events) and what is
still pending is remembered for the next review.

A review belongs to a period (``rules.review_periods``): it reads the metric months before the period starts,
and a proposal counts once per period, so running it again in the same period changes nothing more. The
scheduled job (``scheduled_review``) applies each period once; its ledger is ``tier_review_run``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import delete, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import admin_log
from router.customers import tiering
from router.customers.figures import load_figures
from router.models.columns import utcnow
from router.models.customers import Customer, CustomerTierProposal, TierReviewRun, TierSource
from rules.review_periods import Cadence, ReviewPeriod, period_of
from rules.scoring import Decision, Pending, Score, decide, proposer, score
from rules.tiers import MetricKey, TierPolicy

#: Who applies the policy on schedule (the history's and the log's actor).
SCHEDULE_ACTOR = "system:tier-review"
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
PROPOSAL = CustomerTierProposal.__table__  # type: ignore[attr-defined]
_CHUNK = 1000


class ReviewProgress(Protocol):
    """What a long review tells a progress bar."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, count: int) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """One customer in a review."""

    customer_id: int
    external_ref: str
    name: str
    current: int
    highest: int
    score: Score
    decision: Decision

    @property
    def proposed(self) -> int:
        return self.score.tier


@dataclass
class ReviewReport:
    period: ReviewPeriod
    policy_version: str
    applied: bool
    customers: int = 0
    scored: int = 0
    #: Customers the review moves (moved, when applied), and those whose move it holds back.
    movers: list[Outcome] = field(default_factory=list)
    held: list[Outcome] = field(default_factory=list)
    #: Moves made (applied only): fewer than ``movers`` when a person changed a customer meanwhile.
    moved: list[tiering.TierMove] = field(default_factory=list)


async def review(
    session: AsyncSession,
    policy: TierPolicy,
    period: ReviewPeriod,
    *,
    apply: bool,
    by: admin_log.By = None,
    each: Callable[[Outcome], None] | None = None,
    progress: ReviewProgress | None = None,
) -> ReviewReport:
    """Score every customer for ``period``; with ``apply``, make the moves and remember what is held back.

    :param each: hears every customer's outcome, in id order (the command line writes its CSV from it).
    """
    report = ReviewReport(period, policy.version, apply)
    conn = await session.connection()
    if progress:
        progress.phase("reading metrics")
    figures = await load_figures(session, policy, period.last_metric_period)
    held_back = select(PROPOSAL.c.customer_id, PROPOSAL.c.tier, PROPOSAL.c.streak, PROPOSAL.c.period)
    pending = {row.customer_id: Pending(row.tier, row.streak, row.period) for row in await conn.execute(held_back)}
    customers = (
        await conn.execute(
            select(
                CUSTOMER.c.id, CUSTOMER.c.external_ref, CUSTOMER.c.name, CUSTOMER.c.value_tier,
                CUSTOMER.c.highest_tier, CUSTOMER.c.attributes,
            ).order_by(CUSTOMER.c.id)
        )
    ).all()  # fmt: skip
    report.customers = len(customers)
    if progress:
        progress.phase("scoring customers", len(customers))
    remembered: dict[int, tuple[Pending, Score]] = {}
    previous = period.previous().label
    propose = proposer(policy)
    nothing: dict[MetricKey, float] = {}
    for index, (cid, ref, name, current, highest, attributes) in enumerate(customers, 1):
        if progress and index % _CHUNK == 0:
            progress.advance(_CHUNK)
        found, attributes = figures.get(cid, nothing), attributes or {}
        if each is None:  # most customers stay: they need no explained score, no outcome
            tier, with_data = propose(found, attributes, current)
            if tier == current:
                report.scored += with_data
                continue
        scored = score(policy, found, attributes, current)
        decision = decide(
            policy, current=current, proposed=scored.tier, pending=pending.get(cid), period=period.label,
            previous=previous,
        )  # fmt: skip
        outcome = Outcome(cid, ref, name, current, highest, scored, decision)
        report.scored += scored.scored
        if decision.outcome == "move":
            report.movers.append(outcome)
        elif decision.outcome == "hold":
            report.held.append(outcome)
            assert decision.pending is not None
            remembered[cid] = (decision.pending, scored)
        if each is not None:
            each(outcome)
    if progress:
        progress.advance(len(customers) % _CHUNK)
    if apply:
        if progress:
            progress.phase("applying", None)
        report.moved = await tiering.retier_many(session, [_move(o, policy, period) for o in report.movers], by=by)
        await _remember(session, pending, remembered, policy)
        await _ledger(session, report, by)
    return report


def _move(outcome: Outcome, policy: TierPolicy, period: ReviewPeriod) -> tiering.TierMove:
    s = outcome.score
    bumps = f", bumps {', '.join(s.bumps)}" if s.bumps else ""
    return tiering.TierMove(
        customer_id=outcome.customer_id,
        from_tier=outcome.current,
        to_tier=s.tier,
        highest_before=outcome.highest,
        reason=f"tier review {period.label}: score {s.score:g} reaches tier {s.by_score}{bumps}",
        source=TierSource.policy,
        score=s.as_dict(),
        policy_version=policy.version,
    )


async def _remember(
    session: AsyncSession, before: dict[int, Pending], after: dict[int, tuple[Pending, Score]], policy: TierPolicy
) -> None:
    """Pending moves as the review leaves them: rows that changed are replaced, rows no longer pending go."""
    changed = [cid for cid in before if cid not in after or after[cid][0] != before[cid]]
    changed += [cid for cid in after if cid not in before]
    conn = await session.connection()
    for start in range(0, len(changed), _CHUNK):
        await conn.execute(delete(PROPOSAL).where(PROPOSAL.c.customer_id.in_(changed[start : start + _CHUNK])))
    now = utcnow()
    rows: list[dict[str, Any]] = [
        {"customer_id": cid, "tier": p.tier, "streak": p.streak, "period": p.period,
         "policy_version": policy.version, "score": s.as_dict(), "updated_at": now}
        for cid in changed if cid in after for p, s in [after[cid]]
    ]  # fmt: skip
    if rows:
        await conn.execute(insert(PROPOSAL), rows)


async def _ledger(session: AsyncSession, report: ReviewReport, by: admin_log.By) -> TierReviewRun:
    """The period's row in ``tier_review_run``: made by the first applied review, counted on by later ones."""
    run = await session.get(TierReviewRun, report.period.label, with_for_update=True)
    if run is None:
        run = TierReviewRun(period=report.period.label, cadence=report.period.cadence, policy_version="", actor="")
        run.runs = 0
        session.add(run)
    run.runs += 1
    run.policy_version = report.policy_version
    run.actor = admin_log.actor_name(by)
    run.customers, run.scored = report.customers, report.scored
    run.held, run.moved = len(report.held), len(report.moved)
    run.finished_at = utcnow()
    await session.flush()
    return run


async def scheduled_review(session: AsyncSession, policy: TierPolicy, cadence: Cadence, today: date) -> str:
    """The worker's review: once per period of ``cadence`` (a period applied already, by the schedule or by a
    person, is left alone), applied as ``SCHEDULE_ACTOR``."""
    period = period_of(today, cadence)
    if await session.get(TierReviewRun, period.label) is not None:
        return f"period={period.label} done-already"
    report = await review(session, policy, period, apply=True, by=SCHEDULE_ACTOR)
    return f"period={period.label} customers={report.customers} moved={len(report.moved)} held={len(report.held)}"
