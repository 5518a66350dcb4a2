"""Evaluate a compiled rulebook against a snapshot."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rules.conditions import Condition, EvalContext, TriggerKey, comparable
from rules.fields import Env, FieldSpec
from rules.matchers import KeywordIndex, RegexIndex
from rules.model import Decision, RuleMatch, Snapshot
from rules.vocabulary import DEFAULT_SCALE, MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, PRIORITIES, TierScale


@dataclass(frozen=True)
class Actions:
    support_tier: int | None = None
    priority: str | None = None
    severity: str | None = None
    sla_policy: str | None = None
    queue_group: str | None = None
    #: The outside vendor a tier-4 handoff goes to (a name from the webhooks configuration).
    vendor: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    #: Customer tiers that never start in self-service (tier 0) when this rule matched.
    skip_self_service: frozenset[int] = frozenset()
    #: Allows this rule to lower a tier, priority or severity set before it.
    override: bool = False
    #: No later rule is looked at once this one matched.
    stop: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("support_tier", "priority", "severity", "sla_policy", "queue_group", "vendor", "note"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.tags:
            out["tags"] = list(self.tags)
        if self.skip_self_service:
            out["skip_self_service"] = sorted(self.skip_self_service)
        if self.override:
            out["override"] = True
        if self.stop:
            out["stop"] = True
        return out


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    when: Condition
    then: Actions


@dataclass(frozen=True)
class MatrixCell:
    """Bounds for one (customer tier, severity): the tier is raised to ``min_tier``, capped at ``max_tier``."""

    min_tier: int | None = None
    max_tier: int | None = None
    min_priority: str | None = None


@dataclass
class Rulebook:
    """A checked, compiled rulebook; ``version`` is the hash of its source text."""

    version: str
    default_tier: int
    default_priority: str
    default_severity: str
    severities: tuple[str, ...]
    #: The customer tiers' names by number (index ``tier - 1``), whichever end of the scale is the best.
    customer_tiers: tuple[str, ...]
    rules: tuple[Rule, ...]
    env: Env
    matrix: Mapping[tuple[int, str], MatrixCell] = field(default_factory=dict)
    keyword_index: dict[str, KeywordIndex] = field(default_factory=dict)
    regex_index: dict[str, RegexIndex] = field(default_factory=dict)
    equality_fields: dict[str, FieldSpec] = field(default_factory=dict)
    #: Specs of the fields that have a keyword or regex index.
    index_fields: dict[str, FieldSpec] = field(default_factory=dict)
    rules_by_trigger: dict[TriggerKey, list[int]] = field(default_factory=dict)
    always_check: tuple[int, ...] = ()
    #: The scale the rulebook's tier names were read against.
    scale: TierScale = DEFAULT_SCALE

    def _candidates(self, ctx: EvalContext) -> list[int]:
        """Rules whose trigger keys fired, plus those without triggers, in rulebook order."""
        by_key = self.rules_by_trigger
        specs = self.index_fields
        fired: set[int] = set(self.always_check)
        for name in self.keyword_index:
            for phrase in ctx.keywords(specs[name]):
                fired.update(by_key.get(("kw", name, phrase), ()))
        for name in self.regex_index:
            for index in ctx.regexes(specs[name]):
                fired.update(by_key.get(("re", name, index), ()))
        for name, spec in self.equality_fields.items():
            value = ctx.value(spec)
            members = value if isinstance(value, list | tuple) else (value,)
            for member in members:
                key = comparable(member)
                if isinstance(key, Hashable):  # nested JSON attributes can never equal a rule's value
                    fired.update(by_key.get(("eq", name, key), ()))
        return sorted(fired)

    def evaluate(self, snapshot: Snapshot, *, use_index: bool = True) -> Decision:
        """Apply the rules in order (a later rule raises tier, priority and severity, lowers them only with
        ``override``), then the customer-tier matrix, then skip-self-service.

        ``use_index=False`` tests every rule instead of the indexed candidates (the tests' reference).
        """
        ctx = EvalContext(snapshot, self.env, self.keyword_index, self.regex_index)
        candidates = self._candidates(ctx) if use_index else range(len(self.rules))
        tier = self.default_tier
        priority = snapshot.priority_hint if snapshot.priority_hint in PRIORITIES else self.default_priority
        severity = self.default_severity
        sla_policy: str | None = None
        queue_group: str | None = None
        vendor: str | None = None
        tags: list[str] = []
        notes: list[str] = []
        skip: set[int] = set()
        matched: list[RuleMatch] = []
        for index in candidates:
            rule = self.rules[index]
            saw: dict[str, Any] = {}
            if not rule.when.test(ctx, saw):
                continue
            act = rule.then
            if act.support_tier is not None and (act.override or act.support_tier > tier):
                tier = act.support_tier
            if act.priority is not None and (
                act.override or _rank(PRIORITIES, act.priority) > _rank(PRIORITIES, priority)
            ):
                priority = act.priority
            if act.severity is not None and (
                act.override or self.severities.index(act.severity) < self.severities.index(severity)
            ):
                severity = act.severity
            sla_policy = act.sla_policy or sla_policy
            queue_group = act.queue_group or queue_group
            vendor = act.vendor or vendor
            tags.extend(t for t in act.tags if t not in tags)
            if act.note:
                notes.append(act.note)
            skip |= act.skip_self_service
            matched.append(RuleMatch(rule.id, rule.description, saw, act.as_dict()))
            if act.stop:
                break
        tier, priority, adjustments = self._adjust(snapshot.customer_tier, severity, tier, priority, skip)
        return Decision(
            support_tier=tier,
            priority=priority,
            tags=tuple(tags),
            matched=tuple(matched),
            rulebook_version=self.version,
            severity=severity,
            sla_policy=sla_policy,
            queue_group=queue_group,
            vendor=vendor,
            notes=tuple(notes),
            adjustments=tuple(adjustments),
        )

    def _adjust(
        self, customer_tier: int, severity: str, tier: int, priority: str, skip: set[int]
    ) -> tuple[int, str, list[str]]:
        notes: list[str] = []
        cell = self.matrix.get((customer_tier, severity))
        label = f"matrix[{self.tier_name(customer_tier)}, {severity}]"
        if cell is not None:
            if cell.min_tier is not None and tier < cell.min_tier:
                notes.append(f"{label}: tier {tier} raised to {cell.min_tier}")
                tier = cell.min_tier
            if cell.max_tier is not None and tier > cell.max_tier:
                notes.append(f"{label}: tier {tier} capped at {cell.max_tier}")
                tier = cell.max_tier
            if cell.min_priority is not None and _rank(PRIORITIES, priority) < _rank(PRIORITIES, cell.min_priority):
                notes.append(f"{label}: priority {priority} raised to {cell.min_priority}")
                priority = cell.min_priority
        if tier == 0 and customer_tier in skip:
            notes.append(f"skip self-service for {self.tier_name(customer_tier)}: tier 0 raised to 1")
            tier = 1
        return max(MIN_SUPPORT_TIER, min(MAX_SUPPORT_TIER, tier)), priority, notes

    def tier_name(self, customer_tier: int) -> str:
        if 1 <= customer_tier <= len(self.customer_tiers):
            return self.customer_tiers[customer_tier - 1]
        return str(customer_tier)


def _rank(order: tuple[str, ...], value: str) -> int:
    return order.index(value)
