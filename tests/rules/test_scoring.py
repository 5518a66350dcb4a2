"""The tier scorer: deterministic, explains itself, and the hysteresis holds moves back until they persist."""

from __future__ import annotations

import random
from datetime import date

import pytest

from rules.review_periods import ReviewPeriod, add_months, parse_period, period_of, window
from rules.scoring import Decision, Pending, aggregate, decide, figures_from_rows, proposer, score
from rules.tier_loader import parse_tier_policy
from rules.tiers import MetricKey, TierPolicy

POLICY = """\
best: {best}
criteria:
  - id: revenue
    metric: revenue
    window: 12
    normalise: {{bands: [{{from: 0, points: 0}}, {{from: 10000, points: 40}}, {{from: 50000, points: 80}},
                         {{from: 100000, points: 100}}]}}
    weight: 50
  - id: profit
    metric: margin
    minus: cost_to_serve
    window: 12
    normalise: {{linear: {{min: 0, max: 40000}}}}
    weight: 30
  - id: growth
    metric: growth_potential
    aggregate: last
    normalise: {{linear: {{min: 1, max: 5}}}}
    missing: 50
    weight: 20
thresholds: {thresholds}
bumps:
  - {{attribute: strategic}}
  - {{attribute: reference_logo}}
  - {{attribute: plan, equals: Legacy, steps: -1}}
bump_limit: 1
hysteresis: {{up: 1, down: 2}}
"""
REVENUE = MetricKey("revenue", "sum", 12)
MARGIN = MetricKey("margin", "sum", 12)
COST = MetricKey("cost_to_serve", "sum", 12)
GROWTH = MetricKey("growth_potential", "last", 12)


def policy(best: int = 1) -> TierPolicy:
    thresholds = "{1: 70, 2: 45, 3: 20}" if best == 1 else "{4: 70, 3: 45, 2: 20}"
    return parse_tier_policy(POLICY.format(best=best, thresholds=thresholds), "tiers.yaml")


def test_a_score_explains_itself() -> None:
    s = score(policy(), {REVENUE: 60000, MARGIN: 30000, COST: 6000, GROWTH: 4}, {"strategic": "yes"}, current=3)
    assert [(c.criterion, c.value, c.points, c.contribution) for c in s.components] == [
        ("revenue", 60000, 80, 40),  # the 50,000 band: 80 points x 50/100
        ("profit", 24000, 60, 18),  # 30,000 margin - 6,000 cost to serve, 60% of the line x 30/100
        ("growth", 4, 75, 15),
    ]
    assert s.components[1].parts == {"margin, sum of 12 months": 30000, "cost_to_serve, sum of 12 months": 6000}
    assert (s.score, s.by_score, s.bumps, s.bump_steps, s.tier, s.scored) == (73, 1, ("strategic +1",), 1, 1, True)
    assert s.score == sum(c.contribution for c in s.components)
    assert s.explain() == [
        "revenue: 60000 -> 80 points x weight 50/100 = 40",
        "profit: 24000 -> 60 points x weight 30/100 = 18",
        "growth: 4 -> 75 points x weight 20/100 = 15",
        "score 73 reaches tier 1",
        "bumps (strategic +1) move it +1: tier 1",  # the best already
    ]
    kept = s.as_dict()
    assert kept["policy_version"] == policy().version and kept["proposed_tier"] == 1
    assert kept["components"][1] == {
        "criterion": "profit",
        "what": "margin, sum of 12 months minus cost_to_serve, sum of 12 months; linear 0→0 … 40000→100; weight 30",
        "value": 24000,
        "parts": {"margin, sum of 12 months": 30000, "cost_to_serve, sum of 12 months": 6000},
        "points": 60,
        "weight": 30,
        "contribution": 18,
        "note": "",
    }


def test_the_same_inputs_give_the_same_score_to_the_last_decimal() -> None:
    rng = random.Random(7)
    p = policy()
    for _ in range(200):
        figures = {
            k: round(rng.uniform(-1000, 150000), 6) for k in (REVENUE, MARGIN, COST, GROWTH) if rng.random() > 0.2
        }
        attributes = {"strategic": rng.random() > 0.8, "plan": rng.choice(["Legacy", "Pro"])}
        first = score(p, figures, attributes, current=2)
        # Another dict order, another process's hash seed: nothing the score depends on.
        again = score(p, dict(reversed(list(figures.items()))), dict(reversed(list(attributes.items()))), current=2)
        assert first == again and first.as_dict() == again.as_dict()
        assert 0 <= first.score <= 100


WITH_ATTRIBUTE = """\
criteria:
  - {id: revenue, metric: revenue, window: 12, normalise: {linear: {min: 0, max: 90000}}, weight: 3}
  - {id: logo, attribute: logo_strength, normalise: {linear: {min: 0, max: 10}}, missing: 20, weight: 1.5}
thresholds: {1: 66.6, 2: 33.3, 3: 10}
bumps: [{attribute: strategic, steps: 2}, {attribute: plan, equals: Legacy, steps: -1}]
"""


def test_the_quick_proposal_is_the_scores_tier() -> None:
    """A review proposes every customer's tier with ``proposer`` and explains only the movers with ``score``:
    both must propose the same tier, whatever the figures, attributes, scale and current tier."""
    rng = random.Random(18)
    policies = [policy(1), policy(4), parse_tier_policy(WITH_ATTRIBUTE, "tiers.yaml")]
    for p in policies:
        propose = proposer(p)
        for _ in range(3000):
            figures = {
                k: round(rng.choice([rng.uniform(-5000, 160000), rng.randrange(0, 120000, 500)]), 6)
                for k in (REVENUE, MARGIN, COST, GROWTH)
                if rng.random() > 0.25
            }
            attributes = {
                name: rng.choice([True, False, "yes", "", 0, 1, 7, "4.5", "x", None, "Legacy", "pro"])
                for name in ("strategic", "reference_logo", "plan", "logo_strength")
                if rng.random() > 0.5
            }
            current = rng.randint(1, 4)
            expected = score(p, figures, attributes, current)
            assert propose(figures, attributes, current) == (expected.tier, expected.scored), (figures, attributes)


def test_missing_figures_earn_the_criterions_missing_points_and_no_metric_at_all_is_no_score() -> None:
    p = policy()
    partial = score(p, {REVENUE: 120000}, {}, current=2)
    assert [(c.criterion, c.points, c.note) for c in partial.components] == [
        ("revenue", 100, ""),
        ("profit", 0, "no data: 0 points"),
        ("growth", 50, "no data: 50 points"),
    ]
    assert partial.score == 60 and partial.tier == 2
    no_cost = score(p, {MARGIN: 20000}, {}, current=2)
    assert no_cost.components[1].value == 20000 and no_cost.components[1].note == "no cost_to_serve: 0"
    nothing = score(p, {}, {"strategic": True}, current=2)
    assert (nothing.scored, nothing.tier, nothing.by_score) == (False, 2, 4)
    assert nothing.explain()[-1] == "no metric in any window: not scored, stays at tier 2"


def test_bumps_move_towards_the_best_within_the_limit_on_either_scale() -> None:
    figures = {REVENUE: 12000, MARGIN: 10000, GROWTH: 3}  # 20 + 7.5 + 10 = 37.5: the tier above the worst
    for best, by_score, bumped in ((1, 3, 2), (4, 2, 3)):
        p = policy(best)
        assert score(p, figures, {}, current=by_score).tier == by_score
        both = score(p, figures, {"strategic": True, "reference_logo": 1}, current=by_score)
        assert (both.by_score, both.bump_steps, both.tier) == (by_score, 1, bumped)  # two bumps, one step at most
        down = score(p, figures, {"plan": "legacy"}, current=by_score)
        assert (down.bump_steps, down.tier) == (-1, p.scale.worst)
        cancelled = score(p, figures, {"strategic": True, "plan": "Legacy"}, current=by_score)
        assert cancelled.tier == by_score
    assert score(policy(), {REVENUE: 200000, MARGIN: 40000, GROWTH: 5}, {"strategic": True}, 2).tier == 1


def test_figures_from_rows_fold_the_window_and_sum_sources() -> None:
    rows = [
        ("2025-09", "revenue", "billing", 999.0),  # before the window
        ("2025-10", "revenue", "billing", 1000.0),
        ("2026-03", "revenue", "billing", 2000.0),
        ("2026-03", "revenue", "crm", 500.0),  # the same month from another source: added
        ("2026-09", "revenue", "billing", 3000.0),
        ("2026-10", "revenue", "billing", 999.0),  # after the window
        ("2026-01", "growth_potential", "crm", 2.0),
        ("2026-06", "growth_potential", "crm", 4.0),
        ("2026-02", "cost_to_serve", "tierroute", 123.456789),
    ]
    figures = figures_from_rows(policy(), rows, "2026-09")
    assert figures == {REVENUE: 6500.0, GROWTH: 4.0, COST: 123.456789}
    assert aggregate("mean", [1, 2, 6]) == 3 and aggregate("min", [3, 1]) == 1 and aggregate("max", [3, 1]) == 3
    assert aggregate("last", [3, 1]) == 1 and aggregate("sum", []) is None


@pytest.mark.parametrize(
    ("current", "proposed", "pending", "expected"),
    [
        (2, 2, None, Decision("stay", None, 0, 0)),
        (2, 2, Pending(3, 1, "2026Q3"), Decision("stay", None, 0, 0)),  # the slip proposed last time is gone
        (3, 2, None, Decision("move", None, 1, 1)),  # a rise needs one review
        (2, 3, None, Decision("hold", Pending(3, 1, "2026Q4"), 1, 2)),  # a slip needs two in a row
        (2, 3, Pending(3, 1, "2026Q3"), Decision("move", None, 2, 2)),
        (2, 3, Pending(3, 1, "2026Q2"), Decision("hold", Pending(3, 1, "2026Q4"), 1, 2)),  # not in a row
        (2, 3, Pending(4, 1, "2026Q3"), Decision("hold", Pending(3, 1, "2026Q4"), 1, 2)),  # another tier
        (2, 3, Pending(3, 1, "2026Q4"), Decision("hold", Pending(3, 1, "2026Q4"), 1, 2)),  # the same period again
    ],
)
def test_hysteresis(current: int, proposed: int, pending: Pending | None, expected: Decision) -> None:
    decision = decide(policy(), current=current, proposed=proposed, pending=pending, period="2026Q4", previous="2026Q3")
    assert decision == expected


def test_hysteresis_follows_the_scale() -> None:
    reversed_policy = policy(best=4)  # 3 -> 2 is a slip there: two reviews
    held = decide(reversed_policy, current=3, proposed=2, pending=None, period="2026Q4", previous="2026Q3")
    assert held.outcome == "hold" and held.needed == 2
    assert decide(reversed_policy, current=2, proposed=3, pending=None, period="2026Q4", previous="2026Q3").outcome == (
        "move"
    )


def test_review_periods_and_their_metric_windows() -> None:
    q = period_of(date(2026, 11, 20), "quarterly")
    assert (q.label, q.start, q.end, q.last_metric_period) == ("2026Q4", date(2026, 10, 1), date(2027, 1, 1), "2026-09")
    assert q.previous().label == "2026Q3" and period_of(date(2026, 1, 1), "quarterly").previous().label == "2025Q4"
    assert parse_period("2026q4", "quarterly") == q
    assert period_of(date(2026, 7, 1), "half-yearly").label == "2026H2"
    assert period_of(date(2026, 7, 9), "monthly").previous() == ReviewPeriod(date(2026, 6, 1), "monthly")
    assert period_of(date(2026, 7, 9), "yearly").last_metric_period == "2025-12"
    assert window("2026-09", 12) == ("2025-10", "2026-09") and add_months("2026-01", -1) == "2025-12"
    for text, cadence, message in [
        ("2026-4", "quarterly", "a quarterly review period is written like 2026Q4, got '2026-4'"),
        ("2026-13", "monthly", "month 13 is not a month"),
        ("0000", "yearly", "year 0 is out of range"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_period(text, cadence)  # type: ignore[arg-type]
