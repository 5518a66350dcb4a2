"""The words every layer shares, each defined once: support tiers, customer tiers, priorities.

Pure constants at the bottom of the import graph (``queues → router → rules``): the rules engine, the
ticket service, the tier queues, the reports and the FastAPI validators all import them from here.
Table-bound words (ticket statuses, the ticket reference, delivery statuses, roles) live with their
tables in ``router/models/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

#: Support tiers run from 0 (self-service) to 4 (an outside vendor); escalation goes up, de-escalation down.
MIN_SUPPORT_TIER = 0
MAX_SUPPORT_TIER = 4
SUPPORT_TIERS = range(MIN_SUPPORT_TIER, MAX_SUPPORT_TIER + 1)
#: The highest tier is an outside vendor: a ticket escalated there is handed off by signed webhook.
VENDOR_TIER = MAX_SUPPORT_TIER
#: The lowest tier is self-service (suggested articles, docs/self-service.md); a requester who asks for a person
#: goes to the frontline tier above it.
SELF_SERVICE_TIER = MIN_SUPPORT_TIER
FRONTLINE_TIER = MIN_SUPPORT_TIER + 1

#: What the agents' UI calls each support tier unless settings rename them (one name per tier).
SUPPORT_TIER_NAMES = ("self-service", "frontline", "technical", "expert", "vendor")

#: Customer value tiers are numbered 1 to 4; which end is the best is the installation's choice (``TierScale``).
MIN_CUSTOMER_TIER = 1
MAX_CUSTOMER_TIER = 4
CUSTOMER_TIERS = range(MIN_CUSTOMER_TIER, MAX_CUSTOMER_TIER + 1)
#: Their names unless a rulebook or the settings rename them (one name per tier, best first).
CUSTOMER_TIER_NAMES = ("strategic partner", "core", "break-even", "money-losing")


@dataclass(frozen=True)
class TierScale:
    """The order of the customer tiers: ``best`` is 1 (tier 1 is the best, the default) or 4 (tier 4 is).

    Support teams number tiers both ways round; the numbers stored stay 1 to 4 either way, and every place
    that compares customer tiers (queue order, the rulebook's matrix by name, the highest tier reached,
    reports) asks the scale instead of using ``<`` or ``min`` on the numbers.
    """

    best: int = MIN_CUSTOMER_TIER

    def __post_init__(self) -> None:
        if self.best not in (MIN_CUSTOMER_TIER, MAX_CUSTOMER_TIER):
            raise ValueError(f"the best customer tier is {MIN_CUSTOMER_TIER} or {MAX_CUSTOMER_TIER}, got {self.best!r}")

    @property
    def worst(self) -> int:
        return MAX_CUSTOMER_TIER if self.best == MIN_CUSTOMER_TIER else MIN_CUSTOMER_TIER

    def rank(self, tier: int) -> int:
        """1 for the best tier, 4 for the worst (the tier's own number when tier 1 is the best)."""
        return tier - MIN_CUSTOMER_TIER + 1 if self.best == MIN_CUSTOMER_TIER else MAX_CUSTOMER_TIER - tier + 1

    def at_rank(self, rank: int) -> int:
        """The tier at ``rank`` (1: the best)."""
        return rank + MIN_CUSTOMER_TIER - 1 if self.best == MIN_CUSTOMER_TIER else MAX_CUSTOMER_TIER - rank + 1

    def better(self, a: int, b: int) -> bool:
        """Whether tier ``a`` is strictly better than tier ``b``."""
        return self.rank(a) < self.rank(b)

    def best_of(self, *tiers: int) -> int:
        return min(tiers, key=self.rank)

    def worst_of(self, *tiers: int) -> int:
        return max(tiers, key=self.rank)

    def best_first(self) -> tuple[int, ...]:
        return tuple(self.at_rank(r) for r in range(1, len(CUSTOMER_TIERS) + 1))

    def step(self, tier: int, steps: int) -> int:
        """``steps`` tiers towards the best (negative: towards the worst), stopping at either end."""
        rank = min(max(self.rank(tier) - steps, 1), len(CUSTOMER_TIERS))
        return self.at_rank(rank)

    def bottom(self, count: int = 2) -> tuple[int, ...]:
        """The ``count`` worst tiers (a base with most customers there is "bottom-heavy")."""
        return self.best_first()[len(CUSTOMER_TIERS) - count :]

    def numbered(self, names_best_first: Sequence[str]) -> tuple[str, ...]:
        """Names given best first, re-ordered by tier number (index ``tier - 1``)."""
        return tuple(names_best_first[self.rank(tier) - 1] for tier in CUSTOMER_TIERS)


#: Tier 1 is the best unless the tier policy (``best: 4``) says otherwise.
DEFAULT_SCALE = TierScale()
_scale = DEFAULT_SCALE


def customer_scale() -> TierScale:
    """The scale this process runs with (installed from the tier policy by the composition root)."""
    return _scale


def use_customer_scale(scale: TierScale) -> TierScale:
    """Install ``scale`` for this process and return the one it replaces. The order of the scale is a property
    of the installation: it is read once at start (a running process refuses a change, ``docs/customer-tiers.md``)."""
    global _scale
    previous, _scale = _scale, scale
    return previous


def tier_rank(tier: int) -> int:
    """1 for the best customer tier on this installation's scale, 4 for the worst."""
    return _scale.rank(tier)


def better(a: int, b: int) -> bool:
    """Whether customer tier ``a`` is strictly better than ``b`` on this installation's scale."""
    return _scale.better(a, b)


def best_of(*tiers: int) -> int:
    """The best of the customer tiers given, on this installation's scale."""
    return _scale.best_of(*tiers)


#: Lowest to highest; a rule "raises" a priority by moving right.
PRIORITIES = ("low", "normal", "high", "urgent")
#: A tier queue's claim order: the most urgent first (rank 0 is taken first).
PRIORITY_RANK = {priority: rank for rank, priority in enumerate(reversed(PRIORITIES))}

#: Per support tier, who may take a particular queued ticket instead of claiming the head of the queue:
#: agents who work the tier (the default), leads and admins only, or nobody.
TakePolicy = Literal["agents", "leads", "nobody"]
TAKE_POLICIES: tuple[TakePolicy, ...] = get_args(TakePolicy)
