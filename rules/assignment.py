"""Push assignment (``rules/assignment.yaml``): per support tier, how queued work reaches agents, and the choice.

Pure, like the rest of ``rules/``: the loader turns the file into ``AssignmentSettings`` (every mistake as
``file:line:column``, all at once), and ``choose`` picks one agent for one ticket from candidates the caller
read. ``pull`` (the default) is today's behaviour: agents claim; nothing is pushed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rules.located import Problem, RulebookError, UnreadableSource, load_yaml_mapping, position, read_source
from rules.vocabulary import SUPPORT_TIERS

PULL = "pull"
ROUND_ROBIN = "round_robin"
LEAST_LOADED = "least_loaded"
SKILLS_THEN_LEAST_LOADED = "skills_then_least_loaded"
STRATEGIES = (PULL, ROUND_ROBIN, LEAST_LOADED, SKILLS_THEN_LEAST_LOADED)
TOP_KEYS = ("version", "defaults", "tiers", "away_after")
TIER_KEYS = ("strategy", "offer_timeout", "prefer_account_owner")
DEFAULT_OFFER_TIMEOUT = 120.0
DEFAULT_AWAY_AFTER = 300.0
#: Open tickets per tier an agent holds at most when their caps do not name the tier.
DEFAULT_MAX_OPEN = 5


class AssignmentError(RulebookError):
    """The assignment settings are wrong; ``problems`` lists every mistake with its place."""


@dataclass(frozen=True)
class TierAssignment:
    strategy: str = PULL
    #: Seconds an agent has to accept an offer before it goes back to the queue.
    offer_timeout: float = DEFAULT_OFFER_TIMEOUT
    #: Offer a customer's tickets to their account owner first, when the owner is eligible.
    prefer_account_owner: bool = True

    @property
    def pushes(self) -> bool:
        return self.strategy != PULL


@dataclass(frozen=True)
class AssignmentSettings:
    version: str = "default"
    tiers: Mapping[int, TierAssignment] = field(default_factory=dict)
    #: An available agent whose live stream has been gone this long counts as away (0: never automatically).
    away_after: float = DEFAULT_AWAY_AFTER

    def of(self, tier: int) -> TierAssignment:
        return self.tiers.get(tier, TierAssignment())

    def push_tiers(self) -> frozenset[int]:
        return frozenset(t for t, a in self.tiers.items() if a.pushes)


#: No file: every tier pulls.
PULL_EVERYWHERE = AssignmentSettings()


# ----------------------------------------------------------------------------------------------- choice
@dataclass(frozen=True)
class Candidate:
    """An agent who may get the ticket now: available, on shift, works the tier, under their cap."""

    agent_id: int
    open_count: int
    max_open: int
    skills: frozenset[str] = frozenset()
    #: When they were last offered work in this tier (epoch seconds; 0: never): round robin's order.
    last_offered: float = 0.0


@dataclass(frozen=True)
class Choice:
    agent_id: int
    strategy: str
    #: Every candidate considered, in the order the strategy ranked them (the audit event keeps them).
    considered: tuple[int, ...]
    reason: str


def ticket_terms(
    queue_group: str | None, product: str | None, language: str | None, tags: Iterable[str]
) -> frozenset[str]:
    """What a skill is matched against: the queue group, product, language and tags, lower case."""
    values = [queue_group, product, language, *tags]
    return frozenset(v.strip().lower() for v in values if v and v.strip())


def skill_score(skills: frozenset[str], terms: frozenset[str]) -> int:
    return len(skills & terms)


def choose(
    rule: TierAssignment,
    candidates: Sequence[Candidate],
    *,
    terms: frozenset[str] = frozenset(),
    account_owner: int | None = None,
) -> Choice | None:
    """The agent to offer the ticket to, or None when no candidate has room (or the tier pulls).

    Ties break on the agent id, so the choice is deterministic for the same inputs.
    """
    room = [c for c in candidates if c.open_count < c.max_open]
    if not rule.pushes or not room:
        return None
    ranked = _rank(rule.strategy, room, terms)
    considered = tuple(c.agent_id for c in ranked)
    if rule.prefer_account_owner and account_owner is not None and account_owner in considered:
        return Choice(account_owner, rule.strategy, considered, "account owner")
    return Choice(ranked[0].agent_id, rule.strategy, considered, rule.strategy)


def _rank(strategy: str, room: Sequence[Candidate], terms: frozenset[str]) -> list[Candidate]:
    if strategy == ROUND_ROBIN:
        return sorted(room, key=lambda c: (c.last_offered, c.agent_id))
    by_load = sorted(room, key=lambda c: (c.open_count / c.max_open, c.open_count, c.last_offered, c.agent_id))
    if strategy == LEAST_LOADED:
        return by_load
    # skills first: the best match (most terms in common), then the least loaded among equals.
    return sorted(by_load, key=lambda c: -skill_score(c.skills, terms))


# ----------------------------------------------------------------------------------------------- loading
def load_assignment(path: Path) -> AssignmentSettings:
    """Read ``path``; ``AssignmentError`` lists every problem with ``file:line:column``."""
    try:
        text = read_source(path, "assignment settings")
    except UnreadableSource as exc:
        raise AssignmentError([exc.problem]) from exc
    return parse_assignment(text, str(path))


def parse_assignment(text: str, source: str) -> AssignmentSettings:
    doc = load_yaml_mapping(
        text, source, error=AssignmentError, expected="assignment settings are a mapping with 'tiers'"
    )
    check = _Checker(source)
    for key in doc:
        if key not in TOP_KEYS:
            check.fail(doc, key, f"unknown key {key!r}; use {', '.join(TOP_KEYS)}")
    away = check.seconds(doc, "away_after", DEFAULT_AWAY_AFTER, allow_zero=True)
    defaults = check.tier(doc, "defaults", TierAssignment()) if "defaults" in doc else TierAssignment()
    tiers: dict[int, TierAssignment] = dict.fromkeys(SUPPORT_TIERS, defaults)
    node = doc.get("tiers") or {}
    if not isinstance(node, dict):
        check.fail(doc, "tiers", "tiers maps a support tier number to {strategy, offer_timeout, ...}")
        node = {}
    for key in node:
        tier = key if isinstance(key, int) else int(key) if str(key).isdigit() else -1
        if tier not in SUPPORT_TIERS:
            check.fail(
                node, key, f"unknown support tier {key!r}; tiers are {min(SUPPORT_TIERS)} to {max(SUPPORT_TIERS)}"
            )
            continue
        tiers[tier] = check.tier(node, key, defaults)
    if check.problems:
        raise AssignmentError(check.problems)
    return AssignmentSettings(str(doc.get("version", "1")), tiers, away)


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, node: Any, key: Any, message: str) -> None:
        line, column = position(node, key)
        self.problems.append(Problem(self.source, line, column, message))

    def seconds(self, node: Any, key: str, default: float, *, allow_zero: bool = False) -> float:
        if key not in node:
            return default
        value = node[key]
        try:
            seconds = _duration(value)
        except ValueError:
            self.fail(node, key, f"{key} is a duration such as 90, 90s, 2m or 1h, got {value!r}")
            return default
        if not math.isfinite(seconds) or seconds > MAX_SECONDS:
            self.fail(node, key, f"{key} is at most a day (24h), got {value!r}")
            return default
        if seconds < 0 or (seconds == 0 and not allow_zero):
            self.fail(node, key, f"{key} must be {'zero or ' if allow_zero else ''}more than zero, got {value!r}")
            return default
        return seconds

    def tier(self, parent: Any, key: Any, base: TierAssignment) -> TierAssignment:
        node = parent[key]
        if not isinstance(node, dict):
            self.fail(parent, key, "a tier's assignment is a mapping with strategy (and offer_timeout)")
            return base
        for name in node:
            if name not in TIER_KEYS:
                self.fail(node, name, f"unknown key {name!r}; use {', '.join(TIER_KEYS)}")
        strategy = str(node.get("strategy", base.strategy))
        if strategy not in STRATEGIES:
            self.fail(node, "strategy", f"unknown strategy {strategy!r}; use {', '.join(STRATEGIES)}")
            strategy = base.strategy
        owner = node.get("prefer_account_owner", base.prefer_account_owner)
        if not isinstance(owner, bool):
            self.fail(node, "prefer_account_owner", f"prefer_account_owner is true or false, got {owner!r}")
            owner = base.prefer_account_owner
        return TierAssignment(strategy, self.seconds(node, "offer_timeout", base.offer_timeout), owner)


_UNITS = {"s": 1, "m": 60, "h": 3600}
#: Longer than a day is a mistake (and ``.inf`` or ``1e12`` would overflow the offer's deadline).
MAX_SECONDS = 86_400.0


def _duration(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower()
    if text and text[-1] in _UNITS:
        return float(text[:-1]) * _UNITS[text[-1]]
    return float(text)
