"""The tier policy language: the shipped policy loads, and every mistake is reported at its file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.tier_costs import CostRates
from rules.tier_loader import TierPolicyError, load_tier_policy, parse_tier_policy
from rules.tiers import Bands, Hysteresis, Linear, MetricKey
from rules.vocabulary import TierScale

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
best: 4
criteria:
  - id: revenue
    metric: revenue
    aggregate: sum
    window: 12
    normalise: {bands: [{from: 0, points: 0}, {from: 1000, points: 50}, {from: 5000, points: 100}]}
    weight: 3
  - id: margin
    metric: margin
    minus: cost_to_serve
    source: billing
    window: 6
    normalise: {linear: {min: 0, max: 2000}}
    weight: 1
  - id: left
    metric: revenue_12m
    aggregate: last
    minus: {metric: support_cost, aggregate: sum, source: tierroute}
    normalise: {linear: {min: 0, max: 2000}}
    weight: 1
  - id: logo
    attribute: logo_strength
    normalise: {linear: {min: 0, max: 10}}
    missing: 20
    weight: 1
thresholds: {4: 80, 3: 50, 2: 20}
bumps:
  - {attribute: strategic}
  - {attribute: segment, equals: smb, steps: -1}
bump_limit: 2
hysteresis: {periods: 3, up: 1}
costs:
  currency: USD
  per_hour: {1: 40, 3: 90.5}
  vendor_handoff: 150
"""


def test_the_shipped_policy_loads() -> None:
    policy = load_tier_policy(ROOT / "rules" / "tiers.yaml")
    assert policy.scale == TierScale(best=1)
    assert [c.id for c in policy.criteria] == ["revenue", "after_support", "margin", "growth"]
    assert policy.criteria[1].minus == MetricKey("support_cost", "sum", 12, "tierroute")
    assert policy.thresholds == {1: 70, 2: 45, 3: 20}
    assert policy.costs == CostRates(per_hour={0: 0, 1: 30, 2: 45, 3: 75, 4: 0}, per_vendor_handoff=120, currency="EUR")
    assert len(policy.version) == 16


def test_a_policy_compiles_to_what_it_says() -> None:
    policy = parse_tier_policy(GOOD, "good.yaml")
    assert policy.scale.best == 4 and policy.thresholds == {4: 80, 3: 50, 2: 20}
    revenue, margin, left, logo = policy.criteria
    assert revenue.normalise == Bands(((0, 0), (1000, 50), (5000, 100))) and revenue.weight == 3
    assert margin.metric == MetricKey("margin", "sum", 6, "billing")
    assert margin.minus == MetricKey("cost_to_serve", "sum", 6, "billing")
    assert left.metric == MetricKey("revenue_12m", "last", 12) and left.minus == MetricKey(
        "support_cost", "sum", 12, "tierroute"
    )
    assert logo.attribute == "logo_strength" and logo.missing == 20 and logo.normalise == Linear(0, 10)
    assert [(b.attribute, b.steps, b.equals) for b in policy.bumps] == [("strategic", 1, None), ("segment", -1, "smb")]
    assert policy.bump_limit == 2
    assert policy.hysteresis == Hysteresis(up=1, down=3)
    assert policy.costs.hourly(3) == 90.5 and policy.costs.hourly(0) == 0 and policy.costs.currency == "USD"
    assert policy.metric_keys() == (
        MetricKey("revenue", "sum", 12),
        MetricKey("margin", "sum", 6, "billing"),
        MetricKey("cost_to_serve", "sum", 6, "billing"),
        MetricKey("revenue_12m", "last", 12),
        MetricKey("support_cost", "sum", 12, "tierroute"),
    )
    # The version is the text's: the same text, the same version; any edit, another.
    assert parse_tier_policy(GOOD).version == policy.version != parse_tier_policy(GOOD + "\n# edited\n").version


def test_thresholds_follow_the_scale() -> None:
    policy = parse_tier_policy(GOOD)
    assert [policy.tier_for(s) for s in (100, 80, 79.99, 50, 20, 19.99, 0)] == [4, 4, 3, 3, 2, 1, 1]


BAD = """\
best: 3
criteria:
  - id: Revenue
    metric: revenue
    aggregate: median
    normalise: {bands: [{from: 10, points: 5}, {from: 5, points: 20}]}
    weight: 0
  - id: logo
    attribute: strategic
    window: 3
    normalise: {linear: {min: 1, max: 1}}
    weight: 1
  - metric: x
  - {id: y, metric: Revenue-12m, minus: {aggregate: sum}, source: "crm hub", weight: 1,
     normalise: {linear: {min: 0, max: 1}}}
thresholds: {1: 40, 2: 50, 4: 10, 7: 3}
bumps: [{attribute: strategic, steps: 0}]
hysteresis: {periods: 0}
costs: {per_hour: {5: 1}, currency: euro}
colour: red
"""


def test_every_mistake_is_located_and_all_are_listed_at_once() -> None:
    with pytest.raises(TierPolicyError) as caught:
        parse_tier_policy(BAD, "bad.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "bad.yaml:1:1: best is 1 or 4 (which end of the tiers is the best)",
        "bad.yaml:3:5: a criterion id is lower-case letters, digits, '_' or '-' (at most 40), got 'Revenue'",
        "bad.yaml:5:5: aggregate is one of sum, mean, min, max, last, got 'median'",
        "bad.yaml:6:49: bands rise: from 5 is not above 10",
        "bad.yaml:7:5: weight must be above 0 (leave a criterion out rather than weigh it 0)",
        "bad.yaml:10:5: window applies to a metric, not to an attribute",
        "bad.yaml:11:34: max must differ from min (min earns 0 points, max earns 100)",
        "bad.yaml:13:5: criterion is missing id, normalise, weight",
        "bad.yaml:14:13: a metric is a letter, then up to 39 lower-case letters, digits or '_'; got 'Revenue-12m'",
        "bad.yaml:14:34: minus names a metric: minus: NAME or minus: {metric: NAME, aggregate: ...}",
        "bad.yaml:14:59: a source is lower-case letters, digits, '_', '.' or '-' (billing, crm.hubspot); got 'crm hub'",
        "bad.yaml:16:1: thresholds lack tier 3 (every tier but the worst)",
        "bad.yaml:16:14: tier 1 is better than tier 2: its threshold must be higher",
        "bad.yaml:16:28: tier 4 is the worst: it takes every score below the others (0)",
        "bad.yaml:16:35: thresholds are keyed by customer tier 1 to 4",
        "bad.yaml:17:32: steps is how many tiers up (or down, negative): not 0",
        "bad.yaml:18:14: periods must be a whole number from 1 to 12, got 0",
        "bad.yaml:19:20: per_hour is keyed by support tier 0 to 4",
        "bad.yaml:19:27: currency is a three-letter code such as EUR or USD, got 'euro'",
        "bad.yaml:20:1: unknown field 'colour' in the tier policy; known: at_risk, best, bump_limit, bumps, costs, "
        "criteria, description, hysteresis, thresholds, version",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("criteria: [\n", "<tier policy>:2:1: not valid YAML"),
        ("- a list\n", "<tier policy>:1:1: a tier policy is a mapping with criteria and thresholds"),
        ("thresholds: {1: 50, 2: 30, 3: 10}\n", "<tier policy>:1:1: criteria is a non-empty list"),
        (
            "criteria: [{id: a, metric: m, normalise: {linear: {min: 0, max: 1}}, weight: 1}]\n",
            "<tier policy>:1:1: the tier policy needs thresholds",
        ),
        (
            "best: 4\ncriteria: [{id: a, metric: m, normalise: {linear: {min: 0, max: 1}}, weight: 1}]\n"
            "thresholds: {1: 60, 2: 40, 3: 20}\n",
            "<tier policy>:3:1: thresholds lack tier 4 (every tier but the worst)",
        ),
    ],
)
def test_a_broken_file_is_one_located_line(text: str, problem: str) -> None:
    with pytest.raises(TierPolicyError) as caught:
        parse_tier_policy(text)
    assert str(caught.value.problems[0]).startswith(problem)


def test_a_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_bytes(b"best: 1\n# caf\xe9\n")
    with pytest.raises(TierPolicyError) as caught:
        load_tier_policy(path)
    assert str(caught.value.problems[0]).startswith(f"{path}:2:6: not UTF-8 text")
