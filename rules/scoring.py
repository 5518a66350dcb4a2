"""Score a customer against the tier policy, propose a tier, and decide whether to move it: pure and deterministic.

``score(policy, figures, attributes, current)`` gives a ``Score`` that explains itself: every criterion's
figure, points, weight and share of the score, the tier the score reaches, the bumps applied and the tier
proposed. ``decide`` applies the hysteresis: a move is made only once enough reviews in a row propose it.
The figures come from the database in bulk (``router.customers.figures``) or, for one customer, from its
monthly rows through ``figures_from_rows``: both fold the months the same way (``aggregate``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rules.review_periods import window
from rules.tiers import Aggregate, Criterion, MetricKey, TierPolicy

#: A customer's figures: one value per metric key the policy needs (absent: no data in the window).
Figures = Mapping[MetricKey, float]
#: Scores and contributions are kept to this many decimals, so a score reads the same wherever it is shown.
DECIMALS = 2
#: Figures are kept to this many decimals: summing a year of months in another order (the database's) never
#: changes them, and so never a score.
PRECISION = 6


def aggregate(kind: Aggregate, values: Sequence[float]) -> float | None:
    """Fold a metric's monthly values (oldest first) the way the policy says; None without any value."""
    if not values:
        return None
    if kind == "sum":
        return math.fsum(values)
    if kind == "mean":
        return math.fsum(values) / len(values)
    if kind == "min":
        return min(values)
    if kind == "max":
        return max(values)
    return values[-1]


def figures_from_rows(
    policy: TierPolicy, rows: Iterable[tuple[str, str, str, float]], last_period: str
) -> dict[MetricKey, float]:
    """One customer's figures from its metric rows ``(period, metric, source, value)``: the months of each key's
    window ending with ``last_period``, a month's value summed over its sources (or the one the key names)."""
    by_metric: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for period, metric, source, value in rows:
        by_metric[metric].append((period, source, value))
    out: dict[MetricKey, float] = {}
    for key in policy.metric_keys():
        first, last = window(last_period, key.window)
        months: dict[str, float] = defaultdict(float)
        for period, source, value in by_metric.get(key.metric, ()):
            if first <= period <= last and (key.source is None or key.source == source):
                months[period] += value
        figure = aggregate(key.aggregate, [months[p] for p in sorted(months)])
        if figure is not None:
            out[key] = round(figure, PRECISION)
    return out


@dataclass(frozen=True)
class Component:
    """One criterion's part of a score."""

    criterion: str
    what: str
    #: The figure the points were read from (the metric less ``minus``, or the attribute); None: no data.
    value: float | None
    points: float
    weight: float
    #: ``points * weight / total weight``: what the criterion adds to the score.
    contribution: float
    #: The figures behind ``value`` by what they are (``revenue, sum of 12 months``: 120000.0).
    parts: Mapping[str, float | None] = field(default_factory=dict)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "what": self.what,
            "value": self.value,
            "parts": dict(self.parts),
            "points": self.points,
            "weight": self.weight,
            "contribution": self.contribution,
            "note": self.note,
        }


@dataclass(frozen=True)
class Score:
    """A customer's score against one policy version, with everything it came from."""

    score: float
    components: tuple[Component, ...]
    #: The tier the score reaches by the thresholds, before bumps.
    by_score: int
    #: The bumps that applied (described), and the steps they add up to (limited by the policy).
    bumps: tuple[str, ...]
    bump_steps: int
    #: The tier proposed: the score's, moved by the bumps; the current tier when ``scored`` is false.
    tier: int
    #: False when the customer had no figure for any metric criterion: it is not re-tiered on no data.
    scored: bool
    policy_version: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, as kept in the tier history and the audit record."""
        return {
            "score": self.score,
            "tier_by_score": self.by_score,
            "bumps": list(self.bumps),
            "bump_steps": self.bump_steps,
            "proposed_tier": self.tier,
            "scored": self.scored,
            "policy_version": self.policy_version,
            "components": [c.as_dict() for c in self.components],
        }

    def explain(self) -> list[str]:
        """The score in words, one line per step."""
        total = math.fsum(c.weight for c in self.components)
        lines = [
            f"{c.criterion}: {_show(c.value)} -> {_show(c.points)} points x weight {_show(c.weight)}/{_show(total)}"
            f" = {_show(c.contribution)}{f' ({c.note})' if c.note else ''}"
            for c in self.components
        ]
        lines.append(f"score {_show(self.score)} reaches tier {self.by_score}")
        if self.bumps:
            lines.append(f"bumps ({', '.join(self.bumps)}) move it {self.bump_steps:+d}: tier {self.tier}")
        if not self.scored:
            lines.append(f"no metric in any window: not scored, stays at tier {self.tier}")
        return lines


def score(policy: TierPolicy, figures: Figures, attributes: Mapping[str, Any], current: int) -> Score:
    """Score one customer; the same inputs give the same score, to the last decimal."""
    total = policy.total_weight
    components: list[Component] = []
    with_data = not any(c.metric is not None for c in policy.criteria)
    for criterion in policy.criteria:
        component = _component(criterion, figures, attributes, total)
        with_data = with_data or (criterion.metric is not None and component.value is not None)
        components.append(component)
    value = round(math.fsum(c.contribution for c in components), DECIMALS)
    by_score = policy.tier_for(value)
    applied = [b for b in policy.bumps if b.applies(attributes)]
    steps = max(-policy.bump_limit, min(policy.bump_limit, sum(b.steps for b in applied)))
    proposed = policy.scale.step(by_score, steps) if with_data else current
    return Score(
        score=value,
        components=tuple(components),
        by_score=by_score,
        bumps=tuple(b.describe() for b in applied),
        bump_steps=steps,
        tier=proposed,
        scored=with_data,
        policy_version=policy.version,
    )


#: ``propose(figures, attributes, current)``: the tier ``score`` proposes, and whether it scored the customer.
Proposer = Callable[[Figures, Mapping[str, Any], int], tuple[int, bool]]


def proposer(policy: TierPolicy) -> Proposer:
    """``score`` without its explanation, for a review of every customer: most stay where they are, and only
    those who would move need their score explained (``score`` once more). The same arithmetic, in the same
    order, so it proposes the tier ``score`` proposes, to the last decimal."""
    total = policy.total_weight
    plan = tuple(
        (c.attribute, c.metric, c.minus, c.normalise.points, c.weight, c.missing) for c in policy.criteria
    )  # fmt: skip
    no_metric = not any(c.metric is not None for c in policy.criteria)
    bumps, limit, tier_for, step = policy.bumps, policy.bump_limit, policy.tier_for, policy.scale.step

    def propose(figures: Figures, attributes: Mapping[str, Any], current: int) -> tuple[int, bool]:
        with_data = no_metric
        contributions = []
        for attribute, metric, minus, points_of, weight, missing in plan:
            value: float | None
            if attribute is not None:
                value = _numeric(attributes.get(attribute))
            else:
                value = figures.get(metric)  # type: ignore[arg-type]
                if value is not None:
                    with_data = True
                    if minus is not None:
                        value -= figures.get(minus) or 0.0
            points = missing if value is None else round(points_of(value), DECIMALS)
            contributions.append(round(points * weight / total, DECIMALS + 2))
        if not with_data:
            return current, False
        by_score = tier_for(round(math.fsum(contributions), DECIMALS))
        if not attributes or not bumps:
            return by_score, True  # no attribute, no bump: ``step(by_score, 0)``
        steps = max(-limit, min(limit, sum(b.steps for b in bumps if b.applies(attributes))))
        return step(by_score, steps), True

    return propose


def _component(criterion: Criterion, figures: Figures, attributes: Mapping[str, Any], total: float) -> Component:
    parts: dict[str, float | None] = {}
    note = ""
    value: float | None
    if criterion.attribute is not None:
        value = _numeric(attributes.get(criterion.attribute))
        parts[f"attribute {criterion.attribute}"] = value
    else:
        assert criterion.metric is not None
        value = figures.get(criterion.metric)
        metric_label, minus_label = criterion.labels
        parts[metric_label] = value
        if criterion.minus is not None:
            less = figures.get(criterion.minus)
            parts[minus_label] = less
            if value is not None:
                value -= less or 0.0
                note = "" if less is not None else f"no {criterion.minus.metric}: 0"
    if value is None:
        points, note = criterion.missing, f"no data: {_show(criterion.missing)} points"
    else:
        points = round(criterion.normalise.points(value), DECIMALS)
    contribution = round(points * criterion.weight / total, DECIMALS + 2)
    return Component(
        criterion=criterion.id,
        what=criterion.what,
        value=value,
        points=points,
        weight=criterion.weight,
        contribution=contribution,
        parts=parts,
        note=note,
    )


def _numeric(value: Any) -> float | None:
    """An attribute as a number: true/false as 1/0, numbers as they are, numeric text read; else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _show(value: float | None) -> str:
    if value is None:
        return "none"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0")


# ----------------------------------------------------------------------------------------------- hysteresis
@dataclass(frozen=True)
class Pending:
    """A proposed move not made yet: to ``tier``, proposed in ``streak`` reviews in a row, the last in ``period``."""

    tier: int
    streak: int
    period: str


Outcome = Literal["stay", "move", "hold"]


@dataclass(frozen=True)
class Decision:
    """What a review does with a proposal: ``stay`` (the proposal is the current tier), ``move``, or ``hold``
    (a move proposed ``streak`` times in a row, ``needed`` times before it is made)."""

    outcome: Outcome
    #: What to remember for the next review (None: nothing pending).
    pending: Pending | None
    streak: int
    needed: int


def decide(
    policy: TierPolicy, *, current: int, proposed: int, pending: Pending | None, period: str, previous: str
) -> Decision:
    """The hysteresis: a proposal counts once per review period (a repeated run in the same period counts
    nothing more), and a streak goes on only when the previous period proposed the same tier."""
    if proposed == current:
        return Decision("stay", None, 0, 0)
    needed = policy.hysteresis.needed(rising=policy.scale.better(proposed, current))
    if pending is not None and pending.tier == proposed and pending.period == period:
        streak = pending.streak
    elif pending is not None and pending.tier == proposed and pending.period == previous:
        streak = pending.streak + 1
    else:
        streak = 1
    if streak >= needed:
        return Decision("move", None, streak, needed)
    return Decision("hold", Pending(proposed, streak, period), streak, needed)
