"""Evaluate a compiled rulebook against a snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rules.conditions import Condition
from rules.model import PRIORITIES, Decision, RuleMatch, Snapshot


@dataclass(frozen=True)
class Actions:
    support_tier: int | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    #: Allows this rule to lower a tier or priority set before it.
    override: bool = False
    #: No later rule is looked at once this one matched.
    stop: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.support_tier is not None:
            out["support_tier"] = self.support_tier
        if self.priority is not None:
            out["priority"] = self.priority
        if self.tags:
            out["tags"] = list(self.tags)
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
class Rulebook:
    """A checked, compiled rulebook; ``version`` is the hash of its source text."""

    version: str
    default_tier: int
    default_priority: str
    rules: tuple[Rule, ...]

    def evaluate(self, snapshot: Snapshot) -> Decision:
        """Apply the rules in order: a later rule raises tier or priority, lowers them only with ``override``."""
        tier = self.default_tier
        priority = snapshot.priority_hint if snapshot.priority_hint in PRIORITIES else self.default_priority
        tags: list[str] = []
        matched: list[RuleMatch] = []
        for rule in self.rules:
            saw: dict[str, Any] = {}
            if not rule.when.test(snapshot, saw):
                continue
            act = rule.then
            if act.support_tier is not None and (act.override or act.support_tier > tier):
                tier = act.support_tier
            if act.priority is not None and (
                act.override or PRIORITIES.index(act.priority) > PRIORITIES.index(priority)
            ):
                priority = act.priority
            tags.extend(t for t in act.tags if t not in tags)
            matched.append(RuleMatch(rule.id, rule.description, saw, act.as_dict()))
            if act.stop:
                break
        return Decision(tier, priority, tuple(tags), tuple(matched), self.version)
