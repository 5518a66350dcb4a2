"""The customer tier policy, checked and compiled (``rules/tiers.yaml``, the language: docs/customer-tiers.md).

Pure data: which metrics count and how much (criteria, each normalised to 0-100 points and weighted), the
least score of each tier, bumps for strategic attributes, how many reviews in a row a move needs
(hysteresis), the order of the scale (``best: 1`` or ``best: 4``) and what support costs
(``rules.tier_costs.CostRates``, read by the cost-to-serve measurement). ``rules.tier_loader`` reads the
YAML; ``rules.scoring`` applies it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

from rules.tier_costs import CostRates
from rules.vocabulary import CUSTOMER_TIERS, TierScale

#: How a criterion folds a metric's monthly values over its window.
Aggregate = Literal["sum", "mean", "min", "max", "last"]
AGGREGATES: tuple[Aggregate, ...] = ("sum", "mean", "min", "max", "last")
#: The metric tierroute measures itself, per customer and month (``tierroute customers cost --record``):
#: handling time and vendor handoffs priced by ``CostRates``, from the source ``tierroute``.
COST_METRIC = "support_cost"
COST_SOURCE = "tierroute"
#: A criterion's window when the policy names none: a year of monthly periods.
DEFAULT_WINDOW = 12
#: Scores and points run from 0 to this.
FULL_MARKS = 100.0


@dataclass(frozen=True)
class Bands:
    """Points by bands: a value at least ``lower`` of a band (and below the next) earns its points; a value
    below the first band earns nothing."""

    #: ``(lower, points)``, lower bounds strictly rising.
    steps: tuple[tuple[float, float], ...]

    def points(self, value: float) -> float:
        earned = 0.0
        for lower, points in self.steps:
            if value < lower:
                break
            earned = points
        return earned

    def describe(self) -> str:
        return "bands " + ", ".join(f"≥{_num(lower)}→{_num(points)}" for lower, points in self.steps)


@dataclass(frozen=True)
class Linear:
    """Points on a straight line: ``zero`` earns 0, ``full`` earns 100, clamped beyond (``zero`` above
    ``full`` makes a lower value the better one, as for a cost)."""

    zero: float
    full: float

    def points(self, value: float) -> float:
        share = (value - self.zero) / (self.full - self.zero)
        return min(max(share, 0.0), 1.0) * FULL_MARKS

    def describe(self) -> str:
        return f"linear {_num(self.zero)}→0 … {_num(self.full)}→100"


Normalisation = Bands | Linear


class MetricKey(NamedTuple):
    """One figure the database computes per customer: ``aggregate`` of ``metric`` over ``window`` monthly
    periods (a period's value is the sum over its sources, or the one ``source`` only). A tuple: it keys
    every customer's figures, and a tuple hashes fast."""

    metric: str
    aggregate: Aggregate
    window: int
    source: str | None = None

    def describe(self) -> str:
        where = f" from {self.source}" if self.source else ""
        if self.aggregate == "last":
            return f"{self.metric}{where}, latest of {self.window} months"
        return f"{self.metric}{where}, {self.aggregate} of {self.window} months"


@dataclass(frozen=True)
class Criterion:
    """One weighted part of the score: a metric figure (less another, ``minus``) or a customer attribute,
    normalised to points; a customer without the figure earns ``missing`` points."""

    id: str
    weight: float
    normalise: Normalisation
    metric: MetricKey | None = None
    minus: MetricKey | None = None
    attribute: str | None = None
    missing: float = 0.0
    description: str = ""
    #: Line of the criterion in the policy file (explanations point there).
    line: int = 0

    def metric_keys(self) -> tuple[MetricKey, ...]:
        return tuple(k for k in (self.metric, self.minus) if k is not None)

    @cached_property
    def what(self) -> str:
        """``describe()``, made once (a review explains every customer's score with it)."""
        return self.describe()

    @cached_property
    def labels(self) -> tuple[str, str]:
        """What the metric and the one subtracted are, in words."""
        return (self.metric.describe() if self.metric else "", self.minus.describe() if self.minus else "")

    def describe(self) -> str:
        if self.attribute is not None:
            what = f"attribute {self.attribute}"
        else:
            assert self.metric is not None
            what = self.metric.describe() + (f" minus {self.minus.describe()}" if self.minus else "")
        return f"{what}; {self.normalise.describe()}; weight {_num(self.weight)}"


@dataclass(frozen=True)
class Bump:
    """``steps`` tiers towards the best (negative: towards the worst) for a customer whose attribute is set
    (true, a non-zero number, a non-empty text) or, with ``equals``, has that value."""

    attribute: str
    steps: int
    equals: Any = None

    def applies(self, attributes: Mapping[str, Any]) -> bool:
        value = attributes.get(self.attribute)
        if self.equals is not None:
            return _same(value, self.equals)
        return _truthy(value)

    def describe(self) -> str:
        when = f"{self.attribute} = {self.equals!r}" if self.equals is not None else self.attribute
        return f"{when} {self.steps:+d}"


@dataclass(frozen=True)
class Hysteresis:
    """How many reviews in a row must propose the same move before it is made, up and down apart."""

    up: int = 1
    down: int = 1

    def needed(self, rising: bool) -> int:
        return self.up if rising else self.down


#: What the early warning counts per customer over its window: tickets opened, and of those tickets the SLA
#: breaches, escalations and reopens (``rules/tiers.yaml`` ``at_risk:``).
AT_RISK_SIGNALS = ("breaches", "escalations", "reopens", "tickets")


@dataclass(frozen=True)
class AtRisk:
    """The early warning before a slip: a customer of a ``watched`` tier whose tickets opened in the last
    ``window_days`` reach any of ``thresholds`` (signal -> least count) is at risk, told once per window."""

    watched: tuple[int, ...]
    window_days: int
    thresholds: Mapping[str, int]

    def crossed(self, counts: Mapping[str, int]) -> tuple[str, ...]:
        """The signals whose count reaches its threshold, in ``AT_RISK_SIGNALS`` order."""
        return tuple(s for s in AT_RISK_SIGNALS if s in self.thresholds and counts.get(s, 0) >= self.thresholds[s])


@dataclass(frozen=True)
class TierPolicy:
    """A checked tier policy; ``version`` is the hash of its text (kept on every change it makes)."""

    version: str
    scale: TierScale
    criteria: tuple[Criterion, ...]
    #: The least score of each tier but the worst (which takes every score below the others).
    thresholds: Mapping[int, float]
    bumps: tuple[Bump, ...] = ()
    #: At most this many steps from bumps together, either way.
    bump_limit: int = len(CUSTOMER_TIERS) - 1
    hysteresis: Hysteresis = field(default_factory=Hysteresis)
    costs: CostRates = field(default_factory=CostRates)
    #: The early warning; None: no customer is ever at risk.
    at_risk: AtRisk | None = None
    source: str = "<tier policy>"

    def tier_for(self, score: float) -> int:
        """The best tier whose threshold the score reaches."""
        for tier, least in self._ladder:
            if score >= least:
                return tier
        return self.scale.worst

    @cached_property
    def _ladder(self) -> tuple[tuple[int, float], ...]:
        return tuple((t, self.thresholds[t]) for t in self.scale.best_first() if t in self.thresholds)

    def metric_keys(self) -> tuple[MetricKey, ...]:
        """Every figure the criteria need, once each, in policy order."""
        seen: dict[MetricKey, None] = {}
        for criterion in self.criteria:
            for key in criterion.metric_keys():
                seen.setdefault(key, None)
        return tuple(seen)

    @property
    def total_weight(self) -> float:
        return sum(c.weight for c in self.criteria)


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().casefold() not in ("", "0", "false", "no", "off", "none")
    return bool(value)


def _same(value: Any, expected: Any) -> bool:
    if isinstance(value, str) and isinstance(expected, str):
        return value.strip().casefold() == expected.strip().casefold()
    return bool(value == expected)


def _num(value: float) -> str:
    """A number as a person writes it: 12000 rather than 12000.0."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
