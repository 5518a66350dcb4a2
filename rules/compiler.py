"""Check one rulebook document field by field and gather what the shared matchers need."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from rules import vocabulary
from rules.calendar import DAYS, BusinessCalendar, parse_interval
from rules.conditions import (
    COMPARE_OPERATORS,
    KEYWORD_OPERATORS,
    REGEX_OPERATOR,
    All,
    Any_,
    Compare,
    Condition,
    Keywords,
    Not,
    Regex,
    TriggerKey,
    comparable,
)
from rules.engine import Actions, MatrixCell, Rule
from rules.fields import FieldSpec, field_spec, known_field_names
from rules.located import Problem, position
from rules.matchers import check_regex, normalise_words
from rules.model import SEVERITIES
from rules.vocabulary import CUSTOMER_TIER_NAMES, MAX_SUPPORT_TIER, MIN_SUPPORT_TIER, PRIORITIES

TOP_KEYS = {
    "version",
    "defaults",
    "customer_tiers",
    "severities",
    "services",
    "business_hours",
    "matrix",
    "rules",
}
RULE_KEYS = {"id", "description", "when", "then"}
ACTION_KEYS = {
    "support_tier",
    "priority",
    "severity",
    "sla_policy",
    "queue_group",
    "vendor",
    "tags",
    "note",
    "skip_self_service",
    "override",
    "stop",
}
CELL_KEYS = {"min_tier", "max_tier", "min_priority"}
NUMERIC_OPS = ("gte", "lte", "gt", "lt")


class Compiler:
    """Checks one rulebook document and gathers what the shared matchers need."""

    def __init__(self, source: str, scale: vocabulary.TierScale | None = None) -> None:
        self.source = source
        self.problems: list[Problem] = []
        #: Which end of the customer tiers is the best: a tier's name (names are best first) stands for a place on it.
        self.scale = scale or vocabulary.customer_scale()
        self.customer_tiers: tuple[str, ...] = CUSTOMER_TIER_NAMES
        self.severities: tuple[str, ...] = SEVERITIES
        self.phrases: dict[str, set[str]] = defaultdict(set)
        self.patterns: dict[str, list[str]] = defaultdict(list)
        self.specs: dict[str, FieldSpec] = {}

    def fail(self, node: Any, key: Any, message: str) -> None:
        line, column = position(node, key)
        self.problems.append(Problem(self.source, line, column, message))

    # -- small typed values -------------------------------------------------------------------------
    def tier(self, node: Any, key: Any) -> int | None:
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int) or not MIN_SUPPORT_TIER <= value <= MAX_SUPPORT_TIER:
            self.fail(
                node,
                key,
                f"support tier must be a whole number from {MIN_SUPPORT_TIER} to {MAX_SUPPORT_TIER}, got {value!r}",
            )
            return None
        return value

    def priority(self, node: Any, key: Any) -> str | None:
        value = node[key]
        if value not in PRIORITIES:
            self.fail(node, key, f"priority must be one of {', '.join(PRIORITIES)}, got {value!r}")
            return None
        return str(value)

    def severity(self, node: Any, key: Any) -> str | None:
        value = node[key]
        if value not in self.severities:
            self.fail(node, key, f"severity must be one of {', '.join(self.severities)}, got {value!r}")
            return None
        return str(value)

    def customer_tier(self, node: Any, key: Any, value: Any) -> int | None:
        """A customer tier by number (1-4) or by its configured name (names are best first: on a scale whose best
        tier is 4, the first name is tier 4)."""
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= len(self.customer_tiers):
            return value
        if isinstance(value, str) and value.casefold() in [n.casefold() for n in self.customer_tiers]:
            return self.scale.at_rank([n.casefold() for n in self.customer_tiers].index(value.casefold()) + 1)
        names = ", ".join(self.customer_tiers)
        self.fail(node, key, f"customer tier must be 1 to {len(self.customer_tiers)} or one of: {names}; got {value!r}")
        return None

    def text(self, node: Any, key: Any, what: str, max_length: int = 64) -> str | None:
        value = node[key]
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            self.fail(node, key, f"{what} is a non-empty string of at most {max_length} characters")
            return None
        return value

    # -- conditions -------------------------------------------------------------------------------------
    def condition(self, parent: Any, key: Any) -> Condition | None:
        node = parent[key]
        if not isinstance(node, dict) or not node:
            self.fail(parent, key, "a condition is a mapping: all / any / not, or {field: ..., <operator>: ...}")
            return None
        if len(node) == 1 and next(iter(node)) in ("all", "any"):
            name = next(iter(node))
            items = node[name]
            if not isinstance(items, list) or not items:
                self.fail(node, name, f"'{name}' takes a non-empty list of conditions")
                return None
            parts = [self.condition(items, i) for i in range(len(items))]
            if any(p is None for p in parts):
                return None
            done = tuple(p for p in parts if p is not None)
            return All(done) if name == "all" else Any_(done)
        if len(node) == 1 and "not" in node:
            inner = self.condition(node, "not")
            return Not(inner) if inner is not None else None
        return self.field_test(parent, key, node)

    def field_test(self, parent: Any, key: Any, node: Any) -> Condition | None:
        if "field" not in node:
            self.fail(parent, key, "a field test needs 'field' (or use all / any / not)")
            return None
        spec = field_spec(str(node["field"]))
        if spec is None:
            self.fail(node, "field", f"unknown field {node['field']!r}; known: {', '.join(known_field_names())}")
            return None
        self.specs[spec.name] = spec
        ops = [k for k in node if k != "field"]
        if len(ops) != 1:
            self.fail(parent, key, f"a field test takes exactly one operator, got {len(ops)}")
            return None
        op = ops[0]
        value = node[op]
        if op in KEYWORD_OPERATORS:
            return self.keywords(spec, node, op, value)
        if op == REGEX_OPERATOR:
            return self.regex(spec, node, op, value)
        if op not in COMPARE_OPERATORS:
            known = ", ".join(sorted(COMPARE_OPERATORS | KEYWORD_OPERATORS | {REGEX_OPERATOR}))
            self.fail(node, op, f"unknown operator {op!r}; known: {known}")
            return None
        return self.compare(spec, node, op, value)

    def keywords(self, spec: FieldSpec, node: Any, op: str, value: Any) -> Condition | None:
        if spec.kind != "text":
            self.fail(node, op, f"{op} works on text fields, not {spec.name!r}")
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(node, op, f"{op} takes a non-empty list of words or phrases")
            return None
        phrases = tuple(normalise_words(v) for v in value)
        if any(p.strip() == "" for p in phrases):
            self.fail(node, op, "a keyword must contain at least one letter or digit")
            return None
        self.phrases[spec.name].update(phrases)
        return Keywords(spec, phrases, tuple(value), need_all=(op == "keywords_all"))

    def regex(self, spec: FieldSpec, node: Any, op: str, value: Any) -> Condition | None:
        if spec.kind not in ("text", "scalar", "any"):
            self.fail(node, op, f"regex works on text fields, not {spec.name!r}")
            return None
        if not isinstance(value, str) or not value:
            self.fail(node, op, "regex takes a pattern string (RE2 syntax)")
            return None
        error = check_regex(value)
        if error is not None:
            self.fail(node, op, f"bad regex {value!r}: {error}")
            return None
        patterns = self.patterns[spec.name]
        patterns.append(value)
        return Regex(spec, len(patterns) - 1, value)

    def compare(self, spec: FieldSpec, node: Any, op: str, value: Any) -> Condition | None:
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.fail(node, op, f"{op} takes a non-empty list")
                return None
            if spec.name == "customer_tier":
                tiers = [self.customer_tier(value, i, v) for i, v in enumerate(value)]
                if any(t is None for t in tiers):
                    return None
                value = tiers
            if any(isinstance(v, dict | list) for v in value):
                self.fail(node, op, f"{op} takes a list of plain values")
                return None
            return Compare(spec, op, frozenset(comparable(v) for v in value))
        if op in NUMERIC_OPS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                self.fail(node, op, f"{op} takes a number")
                return None
            if spec.kind in ("text", "list", "bool"):
                self.fail(node, op, f"{op} compares numbers; {spec.name!r} is not numeric")
                return None
            return Compare(spec, op, value)
        if op == "exists":
            if not isinstance(value, bool):
                self.fail(node, op, "exists is true or false")
                return None
            return Compare(spec, op, value)
        # equals
        if isinstance(value, dict | list):
            self.fail(node, op, "equals takes a plain value")
            return None
        if spec.name == "customer_tier":
            tier = self.customer_tier(node, op, value)
            if tier is None:
                return None
            value = tier
        return Compare(spec, op, comparable(value))

    # -- actions and rules ----------------------------------------------------------------------------
    def actions(self, rule: Any) -> Actions | None:
        node = rule["then"]
        if not isinstance(node, dict) or not node:
            self.fail(rule, "then", "'then' is a mapping of actions")
            return None
        before = len(self.problems)
        for k in node:
            if k not in ACTION_KEYS:
                self.fail(node, k, f"unknown action {k!r}; known: {', '.join(sorted(ACTION_KEYS))}")
        tier = self.tier(node, "support_tier") if "support_tier" in node else None
        priority = self.priority(node, "priority") if "priority" in node else None
        severity = self.severity(node, "severity") if "severity" in node else None
        sla = self.text(node, "sla_policy", "sla_policy") if "sla_policy" in node else None
        group = self.text(node, "queue_group", "queue_group") if "queue_group" in node else None
        vendor = self.text(node, "vendor", "vendor") if "vendor" in node else None
        note = self.text(node, "note", "note", max_length=2000) if "note" in node else None
        tags = node.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            self.fail(node, "tags", "tags is a list of strings")
        skip: set[int] = set()
        if "skip_self_service" in node:
            items = node["skip_self_service"]
            if not isinstance(items, list) or not items:
                self.fail(node, "skip_self_service", "skip_self_service is a list of customer tiers")
            else:
                for i, item in enumerate(items):
                    t = self.customer_tier(items, i, item)
                    if t is not None:
                        skip.add(t)
        for flag in ("override", "stop"):
            if flag in node and not isinstance(node[flag], bool):
                self.fail(node, flag, f"{flag} is true or false")
        if len(self.problems) > before:
            return None
        return Actions(
            support_tier=tier,
            priority=priority,
            severity=severity,
            sla_policy=sla,
            queue_group=group,
            vendor=vendor,
            tags=tuple(tags),
            note=note,
            skip_self_service=frozenset(skip),
            override=bool(node.get("override", False)),
            stop=bool(node.get("stop", False)),
        )

    def rules(self, doc: Any) -> list[Rule]:
        items = doc.get("rules", [])
        if not isinstance(items, list):
            self.fail(doc, "rules", "'rules' is a list")
            return []
        seen: dict[str, int] = {}
        out: list[Rule] = []
        for index, rule in enumerate(items):
            if not isinstance(rule, dict):
                self.fail(items, index, "a rule is a mapping with id, when and then")
                continue
            for k in rule:
                if k not in RULE_KEYS:
                    self.fail(rule, k, f"unknown field {k!r} in a rule; known: {', '.join(sorted(RULE_KEYS))}")
            missing = [k for k in ("id", "when", "then") if k not in rule]
            if missing:
                self.fail(items, index, f"rule is missing {', '.join(missing)}")
                continue
            rule_id = str(rule["id"])
            if rule_id in seen:
                self.fail(rule, "id", f"duplicate rule id {rule_id!r} (first at line {seen[rule_id]})")
            else:
                seen[rule_id] = position(rule, "id")[0]
            when = self.condition(rule, "when")
            then = self.actions(rule)
            if when is not None and then is not None:
                out.append(Rule(rule_id, str(rule.get("description", "")), when, then))
        return out

    # -- rulebook-wide sections -------------------------------------------------------------------------
    def names(self, doc: Any, key: str, count: int | None) -> tuple[str, ...] | None:
        value = doc[key]
        ok = isinstance(value, list) and value and all(isinstance(v, str) and v.strip() and len(v) <= 32 for v in value)
        if not ok or (count is not None and len(value) != count) or len({v.casefold() for v in value}) != len(value):
            size = f"exactly {count}" if count else "a non-empty list of"
            self.fail(doc, key, f"{key} takes {size} distinct names of at most 32 characters")
            return None
        return tuple(value)

    def services(self, doc: Any) -> dict[str, int]:
        node = doc.get("services") or {}
        if not isinstance(node, dict):
            self.fail(doc, "services", "services maps a service name to its criticality (1 = most critical)")
            return {}
        out: dict[str, int] = {}
        for name, spec in node.items():
            level = spec.get("criticality") if isinstance(spec, dict) else spec
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
                self.fail(node, name, f"criticality of service {name!r} must be a whole number from 1 to 5")
                continue
            out[str(name)] = level
        return out

    def calendar(self, doc: Any) -> BusinessCalendar | None:
        if doc.get("business_hours") is None:
            return None
        return self.calendar_at(doc, "business_hours")

    def calendar_at(self, parent: Any, key: Any) -> BusinessCalendar | None:
        """A ``{timezone, weekly, holidays}`` mapping at ``parent[key]`` (the rulebook's and SLA calendars)."""
        node = parent[key]
        if not isinstance(node, dict) or "timezone" not in node or "weekly" not in node:
            self.fail(parent, key, f"{key} needs timezone and weekly")
            return None
        try:
            ZoneInfo(str(node["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(node, "timezone", f"unknown time zone {node['timezone']!r}")
            return None
        weekly_node = node["weekly"]
        weekly: list[tuple[Any, ...]] = [() for _ in DAYS]
        if not isinstance(weekly_node, dict):
            self.fail(node, "weekly", "weekly maps mon..sun to intervals like '09:00-17:00'")
            return None
        for day, intervals in weekly_node.items():
            if day not in DAYS:
                self.fail(weekly_node, day, f"unknown day {day!r}; use {', '.join(DAYS)}")
                continue
            items = [intervals] if isinstance(intervals, str) else intervals
            try:
                weekly[DAYS.index(day)] = tuple(parse_interval(str(i)) for i in items or [])
            except (ValueError, TypeError) as exc:
                self.fail(weekly_node, day, f"bad interval for {day}: {exc}")
        country = subdivision = None
        closed: set[date] = set()
        hol = node.get("holidays") or {}
        if isinstance(hol, dict):
            country, subdivision = hol.get("country"), hol.get("subdivision")
            if country is not None:
                try:
                    holidays.country_holidays(str(country), subdiv=subdivision)
                except NotImplementedError as exc:
                    self.fail(hol, "country", f"holidays: {exc}")
            for i, day_text in enumerate(hol.get("closed") or []):
                try:
                    closed.add(date.fromisoformat(str(day_text)))
                except ValueError:
                    self.fail(hol["closed"], i, f"closed dates are YYYY-MM-DD, got {day_text!r}")
        return BusinessCalendar(str(node["timezone"]), tuple(weekly), country, subdivision, frozenset(closed))

    def matrix(self, doc: Any) -> dict[tuple[int, str], MatrixCell]:
        node = doc.get("matrix") or {}
        if not isinstance(node, dict):
            self.fail(doc, "matrix", "matrix maps customer tier -> severity -> {min_tier, max_tier, min_priority}")
            return {}
        out: dict[tuple[int, str], MatrixCell] = {}
        for row_key, row in node.items():
            ctier = self.customer_tier(node, row_key, row_key)
            if not isinstance(row, dict):
                self.fail(node, row_key, "a matrix row maps severities to bounds")
                continue
            for sev, cell in row.items():
                if sev not in self.severities:
                    self.fail(row, sev, f"unknown severity {sev!r}; known: {', '.join(self.severities)}")
                    continue
                if not isinstance(cell, dict) or not cell or set(cell) - CELL_KEYS:
                    self.fail(row, sev, f"a matrix cell takes {', '.join(sorted(CELL_KEYS))}")
                    continue
                lo = self.tier(cell, "min_tier") if "min_tier" in cell else None
                hi = self.tier(cell, "max_tier") if "max_tier" in cell else None
                prio = self.priority(cell, "min_priority") if "min_priority" in cell else None
                if lo is not None and hi is not None and lo > hi:
                    self.fail(row, sev, f"min_tier {lo} is above max_tier {hi}")
                if ctier is not None:
                    out[(ctier, str(sev))] = MatrixCell(lo, hi, prio)
        return out


def index_rules(rules: list[Rule]) -> tuple[dict[TriggerKey, list[int]], tuple[int, ...]]:
    by_key: dict[TriggerKey, list[int]] = defaultdict(list)
    always: list[int] = []
    for i, rule in enumerate(rules):
        keys = rule.when.triggers()
        if keys is None:
            always.append(i)
        else:
            for key in keys:
                by_key[key].append(i)
    return dict(by_key), tuple(always)
