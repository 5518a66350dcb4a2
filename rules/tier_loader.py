"""Read a tier policy (YAML) into a ``TierPolicy``; every mistake is reported with file:line:column, all at once.

Nothing is half-loaded: either the whole policy checks out, or ``TierPolicyError`` lists every problem.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path
from typing import Any

from rules.at_risk_loader import parse_at_risk
from rules.located import Problem, RulebookError, UnreadableSource, load_yaml_mapping, position, read_source
from rules.tier_costs import MAX_RATE, CostRates
from rules.tiers import (
    AGGREGATES,
    DEFAULT_WINDOW,
    FULL_MARKS,
    Bands,
    Bump,
    Criterion,
    Hysteresis,
    Linear,
    MetricKey,
    Normalisation,
    TierPolicy,
)
from rules.vocabulary import (
    CUSTOMER_TIERS,
    MAX_CUSTOMER_TIER,
    MIN_CUSTOMER_TIER,
    SUPPORT_TIERS,
    TierScale,
)

TOP_KEYS = (
    "at_risk",
    "best",
    "bump_limit",
    "bumps",
    "costs",
    "criteria",
    "description",
    "hysteresis",
    "thresholds",
    "version",
)
CRITERION_KEYS = (
    "aggregate",
    "attribute",
    "description",
    "metric",
    "minus",
    "missing",
    "normalise",
    "source",
    "weight",
    "window",
)
#: Metric, attribute and source names as imports and the metrics API accept them (docs/customer-data.md).
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: Sources name systems: ``billing``, ``crm.hubspot``.
SOURCE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
#: The longest window a criterion may look back over (ten years of months).
MAX_WINDOW = 120
#: A review cadence is quarterly by default: a move needing more than three years of reviews is a mistake.
MAX_HYSTERESIS = 12


class TierPolicyError(RulebookError):
    """Every problem of a tier policy, one per line as ``file:line:column: message``."""


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, node: Any, key: Any, message: str) -> None:
        line, column = position(node, key)
        self.problems.append(Problem(self.source, line, column, message))

    def number(self, node: Any, key: Any, *, low: float | None = None, high: float | None = None) -> float | None:
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(node, key, f"{key} takes a number, got {value!r}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{_num(low)} to {_num(high)}" if low is not None and high is not None else f"at least {_num(low)}"
            self.fail(node, key, f"{key} must be {span}, got {_num(value)}")
            return None
        return float(value)

    def integer(self, node: Any, key: Any, low: int, high: int) -> int | None:
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(node, key, f"{key} must be a whole number from {low} to {high}, got {value!r}")
            return None
        return int(value)

    def name(self, node: Any, key: Any, what: str) -> str | None:
        value = node[key]
        if not isinstance(value, str) or not NAME.match(value):
            self.fail(node, key, f"{what} is a letter, then up to 39 lower-case letters, digits or '_'; got {value!r}")
            return None
        return value

    def source_name(self, node: Any, key: Any) -> str | None:
        value = node[key]
        if not isinstance(value, str) or not SOURCE.match(value):
            self.fail(
                node,
                key,
                f"a source is lower-case letters, digits, '_', '.' or '-' (billing, crm.hubspot); got {value!r}",
            )
            return None
        return value

    def mapping(self, node: Any, key: Any, what: str) -> dict[Any, Any] | None:
        value = node[key]
        if not isinstance(value, dict):
            self.fail(node, key, f"{key} is a mapping of {what}")
            return None
        return value

    def unknown(self, node: dict[Any, Any], known: tuple[str, ...], what: str) -> None:
        for k in node:
            if k not in known:
                self.fail(node, k, f"unknown field {k!r} in {what}; known: {', '.join(known)}")


def parse_tier_policy(text: str, source: str = "<tier policy>") -> TierPolicy:
    """Check and compile tier policy text; raises ``TierPolicyError`` listing every problem."""
    doc = load_yaml_mapping(
        text, source, error=TierPolicyError, expected="a tier policy is a mapping with criteria and thresholds"
    )
    c = _Checker(source)
    c.unknown(doc, TOP_KEYS, "the tier policy")
    scale = _scale(c, doc)
    criteria = _criteria(c, doc)
    thresholds = _thresholds(c, doc, scale)
    bumps = _bumps(c, doc)
    bump_limit = c.integer(doc, "bump_limit", 0, len(CUSTOMER_TIERS) - 1) if "bump_limit" in doc else None
    hysteresis = _hysteresis(c, doc)
    costs = _costs(c, doc)
    at_risk = parse_at_risk(c, doc)
    if c.problems:
        raise TierPolicyError(sorted(c.problems, key=lambda p: (p.line, p.column)))
    return TierPolicy(
        version=hashlib.sha256(text.encode()).hexdigest()[:16],
        scale=scale,
        criteria=tuple(criteria),
        thresholds=thresholds,
        bumps=tuple(bumps),
        bump_limit=len(CUSTOMER_TIERS) - 1 if bump_limit is None else bump_limit,
        hysteresis=hysteresis,
        costs=costs,
        at_risk=at_risk,
        source=source,
    )


def load_tier_policy(path: Path) -> TierPolicy:
    try:
        text = read_source(path, "tier policy")
    except UnreadableSource as exc:
        raise TierPolicyError([exc.problem]) from exc
    return parse_tier_policy(text, str(path))


def _scale(c: _Checker, doc: Any) -> TierScale:
    if "best" not in doc:
        return TierScale()
    best = doc["best"]
    if best not in (MIN_CUSTOMER_TIER, MAX_CUSTOMER_TIER) or isinstance(best, bool):
        c.fail(doc, "best", f"best is {MIN_CUSTOMER_TIER} or {MAX_CUSTOMER_TIER} (which end of the tiers is the best)")
        return TierScale()
    return TierScale(best=int(best))


def _criteria(c: _Checker, doc: Any) -> list[Criterion]:
    items = doc.get("criteria")
    if not isinstance(items, list) or not items:
        c.fail(doc, "criteria" if "criteria" in doc else None, "criteria is a non-empty list of weighted criteria")
        return []
    out: list[Criterion] = []
    seen: set[str] = set()
    for index, node in enumerate(items):
        if not isinstance(node, dict):
            c.fail(items, index, "a criterion is a mapping with id, metric (or attribute), normalise and weight")
            continue
        criterion = _criterion(c, items, index, node)
        if criterion is None:
            continue
        if criterion.id in seen:
            c.fail(node, "id", f"criterion id {criterion.id!r} is used twice")
        seen.add(criterion.id)
        out.append(criterion)
    return out


def _criterion(c: _Checker, items: Any, index: int, node: Any) -> Criterion | None:
    before = len(c.problems)
    c.unknown(node, ("id", *CRITERION_KEYS), "a criterion")
    missing = [k for k in ("id", "normalise", "weight") if k not in node]
    if ("metric" in node) == ("attribute" in node):
        missing.append("metric or attribute (one of them)")
    if missing:
        c.fail(items, index, f"criterion is missing {', '.join(missing)}")
        return None
    ident = node["id"]
    if not isinstance(ident, str) or not ID.match(ident):
        c.fail(node, "id", f"a criterion id is lower-case letters, digits, '_' or '-' (at most 40), got {ident!r}")
    weight = c.number(node, "weight", low=0)
    if weight == 0:
        c.fail(node, "weight", "weight must be above 0 (leave a criterion out rather than weigh it 0)")
    missing_points = c.number(node, "missing", low=0, high=FULL_MARKS) if "missing" in node else 0.0
    normalise = _normalisation(c, node)
    metric = minus = None
    attribute: str | None = None
    if "attribute" in node:
        attribute = c.name(node, "attribute", "an attribute")
        for k in ("aggregate", "window", "source", "minus"):
            if k in node:
                c.fail(node, k, f"{k} applies to a metric, not to an attribute")
    else:
        metric, minus = _metric_keys(c, node)
    description = node.get("description", "")
    if not isinstance(description, str):
        c.fail(node, "description", "description is text")
    if len(c.problems) > before or weight is None or normalise is None or missing_points is None:
        return None
    return Criterion(
        id=str(ident),
        weight=weight,
        normalise=normalise,
        metric=metric,
        minus=minus,
        attribute=attribute,
        missing=missing_points,
        description=str(description),
        line=position(items, index)[0],
    )


def _metric_keys(c: _Checker, node: Any) -> tuple[MetricKey | None, MetricKey | None]:
    key = _metric_key(c, node, "metric", None)
    minus: MetricKey | None = None
    if "minus" in node:
        spec = node["minus"]
        if isinstance(spec, dict):  # another metric folded its own way: {metric, aggregate?, window?, source?}
            c.unknown(spec, ("aggregate", "metric", "source", "window"), "minus")
            if "metric" not in spec:
                c.fail(node, "minus", "minus names a metric: minus: NAME or minus: {metric: NAME, aggregate: ...}")
            else:
                minus = _metric_key(c, spec, "metric", key)
        elif key is not None and (name := c.name(node, "minus", "a metric")) is not None:
            minus = key._replace(metric=name)  # folded as the criterion's metric is
    return key, minus


def _metric_key(c: _Checker, node: Any, field: str, like: MetricKey | None) -> MetricKey | None:
    """The metric ``node[field]`` with the aggregate, window and source ``node`` gives (else ``like``'s)."""
    metric = c.name(node, field, "a metric")
    aggregate = node.get("aggregate", like.aggregate if like else "sum")
    if aggregate not in AGGREGATES:
        c.fail(node, "aggregate", f"aggregate is one of {', '.join(AGGREGATES)}, got {aggregate!r}")
    default_window = like.window if like else DEFAULT_WINDOW
    window = c.integer(node, "window", 1, MAX_WINDOW) if "window" in node else default_window
    source = c.source_name(node, "source") if "source" in node else (like.source if like else None)
    if metric is None or aggregate not in AGGREGATES or window is None:
        return None
    return MetricKey(metric, aggregate, window, source)


def _normalisation(c: _Checker, node: Any) -> Normalisation | None:
    spec = c.mapping(node, "normalise", "bands or linear")
    if spec is None:
        return None
    if len(spec) != 1 or next(iter(spec)) not in ("bands", "linear"):
        c.fail(node, "normalise", "normalise takes one of bands: [{from, points}, ...] or linear: {min, max}")
        return None
    if "linear" in spec:
        line = c.mapping(spec, "linear", "min and max")
        if line is None:
            return None
        c.unknown(line, ("min", "max"), "linear")
        if "min" not in line or "max" not in line:
            c.fail(spec, "linear", "linear needs min (0 points) and max (100 points)")
            return None
        low, high = c.number(line, "min"), c.number(line, "max")
        if low is None or high is None:
            return None
        if low == high:
            c.fail(line, "max", "max must differ from min (min earns 0 points, max earns 100)")
            return None
        return Linear(low, high)
    return _bands(c, spec)


def _bands(c: _Checker, spec: Any) -> Bands | None:
    items = spec["bands"]
    if not isinstance(items, list) or not items:
        c.fail(spec, "bands", "bands is a non-empty list of {from, points}, from rising")
        return None
    steps: list[tuple[float, float]] = []
    for i, band in enumerate(items):
        if not isinstance(band, dict) or set(band) != {"from", "points"}:
            c.fail(items, i, "a band is {from: value, points: 0-100}")
            continue
        lower, points = c.number(band, "from"), c.number(band, "points", low=0, high=FULL_MARKS)
        if lower is None or points is None:
            continue
        if steps and lower <= steps[-1][0]:
            c.fail(band, "from", f"bands rise: from {_num(lower)} is not above {_num(steps[-1][0])}")
            continue
        steps.append((lower, points))
    return Bands(tuple(steps)) if len(steps) == len(items) else None


def _thresholds(c: _Checker, doc: Any, scale: TierScale) -> dict[int, float]:
    if "thresholds" not in doc:
        c.fail(doc, None, "the tier policy needs thresholds: the least score of each tier but the worst")
        return {}
    node = c.mapping(doc, "thresholds", "tier -> least score (0-100)")
    if node is None:
        return {}
    out: dict[int, float] = {}
    for key in node:
        if isinstance(key, bool) or key not in CUSTOMER_TIERS:
            c.fail(node, key, f"thresholds are keyed by customer tier {MIN_CUSTOMER_TIER} to {MAX_CUSTOMER_TIER}")
            continue
        value = c.number(node, key, low=0, high=FULL_MARKS)
        if value is not None:
            out[int(key)] = value
    if scale.worst in out and out[scale.worst] != 0:
        c.fail(node, scale.worst, f"tier {scale.worst} is the worst: it takes every score below the others (0)")
    absent = [t for t in scale.best_first()[:-1] if t not in out and t not in node]
    if absent:
        c.fail(doc, "thresholds", f"thresholds lack tier {', '.join(map(str, absent))} (every tier but the worst)")
    ranked = [t for t in scale.best_first() if t in out]
    for better, worse in itertools.pairwise(ranked):
        if out[better] <= out[worse]:
            c.fail(node, better, f"tier {better} is better than tier {worse}: its threshold must be higher")
    out.pop(scale.worst, None)
    return out


def _bumps(c: _Checker, doc: Any) -> list[Bump]:
    items = doc.get("bumps", [])
    if not isinstance(items, list):
        c.fail(doc, "bumps", "bumps is a list of {attribute, steps, equals?}")
        return []
    out: list[Bump] = []
    limit = len(CUSTOMER_TIERS) - 1
    for i, node in enumerate(items):
        if not isinstance(node, dict) or "attribute" not in node:
            c.fail(items, i, "a bump is {attribute: name, steps: 1, equals?: value}")
            continue
        c.unknown(node, ("attribute", "equals", "steps"), "a bump")
        attribute = c.name(node, "attribute", "an attribute")
        steps = c.integer(node, "steps", -limit, limit) if "steps" in node else 1
        if steps == 0:
            c.fail(node, "steps", "steps is how many tiers up (or down, negative): not 0")
        equals = node.get("equals")
        if isinstance(equals, dict | list):
            c.fail(node, "equals", "equals takes a plain value")
        if attribute is not None and steps:
            out.append(Bump(attribute, steps, equals))
    return out


def _hysteresis(c: _Checker, doc: Any) -> Hysteresis:
    if "hysteresis" not in doc:
        return Hysteresis()
    node = c.mapping(doc, "hysteresis", "periods (or up and down): reviews in a row a move needs")
    if node is None:
        return Hysteresis()
    c.unknown(node, ("down", "periods", "up"), "hysteresis")
    both = c.integer(node, "periods", 1, MAX_HYSTERESIS) if "periods" in node else 1
    up = c.integer(node, "up", 1, MAX_HYSTERESIS) if "up" in node else both
    down = c.integer(node, "down", 1, MAX_HYSTERESIS) if "down" in node else both
    return Hysteresis(up or 1, down or 1)


def _costs(c: _Checker, doc: Any) -> CostRates:
    if "costs" not in doc:
        return CostRates()
    node = c.mapping(doc, "costs", "per_hour, vendor_handoff and currency")
    if node is None:
        return CostRates()
    c.unknown(node, ("currency", "per_hour", "vendor_handoff"), "costs")
    rates: dict[int, float] = {}
    if "per_hour" in node and (hours := c.mapping(node, "per_hour", "support tier -> cost of an hour")) is not None:
        for key in hours:
            if isinstance(key, bool) or key not in SUPPORT_TIERS:
                c.fail(hours, key, f"per_hour is keyed by support tier {SUPPORT_TIERS[0]} to {SUPPORT_TIERS[-1]}")
            elif (rate := c.number(hours, key, low=0, high=float(MAX_RATE))) is not None:
                rates[int(key)] = rate
    handoff = c.number(node, "vendor_handoff", low=0, high=float(MAX_RATE)) if "vendor_handoff" in node else 0.0
    currency = node.get("currency", "EUR")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        c.fail(node, "currency", f"currency is a three-letter code such as EUR or USD, got {currency!r}")
        currency = "EUR"
    return CostRates(per_hour=rates, per_vendor_handoff=handoff or 0.0, currency=currency)


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
