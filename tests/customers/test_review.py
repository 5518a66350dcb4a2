"""Tier reviews on the database: the figures the database folds are the scorer's own, the hysteresis holds a
slip until the next review, a review repeated in its period changes nothing, the worker applies each period
once under a lease."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from sqlmodel import select

from queues import jobs
from queues.lease import leased
from queues.names import TIER_REVIEW_LOCK
from queues.runtime import Runtime
from router.customers import review
from router.customers.figures import load_figures
from router.customers.policy import TierPolicyProvider
from router.models.customers import Customer, CustomerMetric, CustomerTierProposal, TierReviewRun
from router.unit_of_work import commit
from rules.review_periods import ReviewPeriod, add_months, parse_period
from rules.scoring import figures_from_rows
from rules.tier_loader import parse_tier_policy
from tests.conftest import make_customer
from tests.customers.tiers_helpers import POLICY, add_monthly, tier_policy, trail

Q4 = parse_period("2026Q4", "quarterly")
Q1 = parse_period("2027Q1", "quarterly")

EVERY_AGGREGATE = """\
criteria:
  - {id: a, metric: revenue, aggregate: sum, window: 12, normalise: {linear: {min: 0, max: 1}}, weight: 1}
  - {id: b, metric: revenue, aggregate: mean, window: 3, normalise: {linear: {min: 0, max: 1}}, weight: 1}
  - {id: c, metric: revenue, aggregate: min, window: 6, source: crm, normalise: {linear: {min: 0, max: 1}}, weight: 1}
  - {id: d, metric: growth, aggregate: max, window: 12, normalise: {linear: {min: 0, max: 1}}, weight: 1}
  - {id: e, metric: growth, aggregate: last, window: 12, minus: revenue, normalise: {linear: {min: 0, max: 1}},
     weight: 1}
  - {id: f, metric: growth, aggregate: last, window: 4, source: crm, minus: {metric: revenue, aggregate: mean,
     window: 4, source: billing}, normalise: {linear: {min: 0, max: 1}}, weight: 1}
  - {id: g, metric: revenue, aggregate: max, window: 4, source: billing, normalise: {linear: {min: 0, max: 1}},
     weight: 1}
thresholds: {1: 80, 2: 50, 3: 10}
"""


async def test_the_database_folds_the_figures_as_the_scorer_does(runtime: Runtime) -> None:
    policy = parse_tier_policy(EVERY_AGGREGATE)
    rng = random.Random(18)
    ids = []
    rows: dict[int, list[tuple[str, str, str, float]]] = {}
    for n in range(6):
        made = await make_customer(runtime, ref=f"c{n}", tier=2, domain=f"c{n}.example")
        assert made.id is not None
        ids.append(made.id)
        rows[made.id] = [
            (add_months("2026-12", -m), metric, source, round(rng.uniform(-500, 5000), 3))
            for m in range(16)
            for metric in ("revenue", "growth")
            for source in ("billing", "crm")
            if rng.random() > 0.3
        ]
    # The first customer has nothing in the last month: its latest month is an earlier one.
    rows[ids[0]] = [row for row in rows[ids[0]] if row[0] != "2026-09"]
    async with runtime.app.sessionmaker() as s:
        for cid, found in rows.items():
            for period, metric, source, value in found:
                s.add(CustomerMetric(customer_id=cid, period=period, metric=metric, value=value, source=source))
        await commit(s, runtime.app.effects)
        everyone = await load_figures(s, policy, "2026-09")
        some = await load_figures(s, policy, "2026-09", customer_ids=ids[:2])
    for cid in ids:
        assert everyone.get(cid, {}) == figures_from_rows(policy, rows[cid], "2026-09"), cid
    assert set(some) <= set(ids[:2]) and some[ids[0]] == everyone[ids[0]]


async def test_a_rise_is_made_at_once_a_slip_after_two_reviews_in_a_row(runtime: Runtime) -> None:
    policy = tier_policy()
    rising = await make_customer(runtime, ref="rising", tier=3, domain="rising.example")
    slipping = await make_customer(runtime, ref="slipping", tier=1, domain="slipping.example")
    steady = await make_customer(runtime, ref="steady", tier=2, domain="steady.example")
    unknown = await make_customer(runtime, ref="no-metrics", tier=1, domain="none.example")
    assert rising.id and slipping.id and steady.id and unknown.id
    await add_monthly(runtime, rising.id, "revenue", 11000)  # 132,000 a year: 80 points
    await add_monthly(runtime, slipping.id, "revenue", 2000)  # 24,000: 24 points -> tier 3
    await add_monthly(runtime, steady.id, "revenue", 6000)  # 72,000: 56 -> tier 2
    await add_monthly(runtime, steady.id, "margin", 2000)

    async def run(period: ReviewPeriod, *, apply: bool) -> review.ReviewReport:
        async with runtime.app.sessionmaker() as s:
            report = await review.review(s, policy, period, apply=apply, by="system:tier-review")
            await commit(s, runtime.app.effects)
            return report

    dry = await run(Q4, apply=False)
    assert (dry.customers, dry.scored) == (4, 3)
    assert [(o.external_ref, o.current, o.proposed) for o in dry.movers] == [("rising", 3, 1)]
    assert [(o.external_ref, o.decision.streak, o.decision.needed) for o in dry.held] == [("slipping", 1, 2)]
    assert (await trail(runtime, rising.id)).changes == []  # a dry run writes nothing

    first = await run(Q4, apply=True)
    assert [m.customer_id for m in first.moved] == [rising.id]
    again = await run(Q4, apply=True)  # the same period once more: the slip's count stays at one
    assert again.moved == [] and [o.decision.streak for o in again.held] == [1]
    async with runtime.app.sessionmaker() as s:
        [pending] = (await s.exec(select(CustomerTierProposal))).all()
        assert (pending.customer_id, pending.tier, pending.streak, pending.period) == (slipping.id, 3, 1, "2026Q4")
        assert pending.score["score"] == 24
        run_row = await s.get(TierReviewRun, "2026Q4")
        assert run_row is not None and (run_row.runs, run_row.moved, run_row.held, run_row.customers) == (2, 0, 1, 4)

    second = await run(Q1, apply=True)
    assert [m.customer_id for m in second.moved] == [slipping.id]
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(CustomerTierProposal))).all() == []
        tiers = {c.external_ref: (c.value_tier, c.highest_tier) for c in (await s.exec(select(Customer))).all()}
    assert tiers == {"rising": (1, 1), "slipping": (3, 1), "steady": (2, 2), "no-metrics": (1, 1)}

    # Every change is in the history with its score and policy version, audited, and told once.
    for customer_id, change in ((rising.id, (3, 1)), (slipping.id, (1, 3))):
        t = await trail(runtime, customer_id)
        [step] = t.changes
        assert (step.from_tier, step.to_tier, step.source, step.actor) == (*change, "policy", "system:tier-review")
        assert step.policy_version == policy.version and step.score is not None
        assert [c["criterion"] for c in step.score["components"]] == ["revenue", "profit"]
        [audited] = t.audit
        assert audited.data["score"] == step.score and audited.data["policy_version"] == policy.version
        direction = "customer.tier_rose" if change == (3, 1) else "customer.tier_slipped"
        assert sorted(t.event_types()) == sorted(["customer.tier_changed", direction])
    assert (await trail(runtime, slipping.id)).changes[0].reason == "tier review 2027Q1: score 24 reaches tier 3"


async def test_the_worker_applies_each_period_once(runtime: Runtime, tmp_path: Path) -> None:
    runtime.app.settings.tier_review_cadence = "quarterly"
    (tmp_path / "tiers.yaml").write_text(POLICY.format(best=1, thresholds="{1: 70, 2: 45, 3: 20}"))
    runtime.app.tier_policy = TierPolicyProvider(tmp_path / "tiers.yaml")
    rising = await make_customer(runtime, ref="rising", tier=3, domain="rising.example")
    assert rising.id is not None
    await add_monthly(runtime, rising.id, "revenue", 11000)
    ctx = {"app": runtime.app, "redis": runtime.pool}
    with time_machine.travel(datetime(2026, 10, 1, 2, 30, tzinfo=UTC), tick=False):
        assert await jobs.tier_review(ctx) == "period=2026Q4 customers=1 moved=1 held=0"
        assert await jobs.tier_review(ctx) == "period=2026Q4 done-already"
        async with leased(runtime.pool, TIER_REVIEW_LOCK, wait=1):
            assert (await jobs.tier_review(ctx)).startswith("busy")
    runtime.app.settings.tier_review_cadence = "off"
    with time_machine.travel(datetime(2027, 1, 1, 2, 30, tzinfo=UTC), tick=False):
        assert await jobs.tier_review(ctx) == "off"
    assert len((await trail(runtime, rising.id)).changes) == 1
