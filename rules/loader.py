"""Read a rulebook (YAML) into a compiled ``Rulebook``; every mistake is reported with file:line:column.

Nothing is half-loaded: either every rule checks out and a rulebook is returned, or ``RulebookError``
lists all the problems found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from rules.conditions import (
    COMPARE_OPERATORS,
    FIELDS,
    KEYWORD_OPERATORS,
    TEXT_FIELDS,
    All,
    Any_,
    Compare,
    Condition,
    Keywords,
    Not,
    normalise_words,
)
from rules.engine import Actions, Rule, Rulebook
from rules.model import MAX_TIER, PRIORITIES


@dataclass(frozen=True)
class Problem:
    source: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


class RulebookError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def fail(self, node: Any, key: Any, message: str) -> None:
        line, column = _position(node, key)
        self.problems.append(Problem(self.source, line, column, message))


def _position(node: Any, key: Any) -> tuple[int, int]:
    """1-based line and column of ``node[key]`` (or of ``node`` itself) as ruamel recorded them."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 0, 0
    try:
        if isinstance(node, CommentedMap) and key is not None:
            line, col = lc.key(key)
        elif isinstance(node, CommentedSeq) and key is not None:
            line, col = lc.item(key)
        else:
            line, col = lc.line, lc.col
    except (KeyError, IndexError, TypeError):
        line, col = lc.line, lc.col
    return line + 1, col + 1


_TOP_KEYS = {"version", "defaults", "rules"}
_RULE_KEYS = {"id", "description", "when", "then"}
_ACTION_KEYS = {"support_tier", "priority", "tags", "override", "stop"}


def _tier(check: _Checker, node: Any, key: Any) -> int | None:
    value = node[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIER:
        check.fail(node, key, f"support tier must be a whole number from 0 to {MAX_TIER}, got {value!r}")
        return None
    return value


def _priority(check: _Checker, node: Any, key: Any) -> str | None:
    value = node[key]
    if value not in PRIORITIES:
        check.fail(node, key, f"priority must be one of {', '.join(PRIORITIES)}, got {value!r}")
        return None
    return str(value)


def _condition(check: _Checker, parent: Any, key: Any) -> Condition | None:
    node = parent[key]
    if not isinstance(node, dict) or not node:
        check.fail(parent, key, "a condition is a mapping: all / any / not, or {field: ..., <operator>: ...}")
        return None
    if len(node) == 1 and next(iter(node)) in ("all", "any"):
        name = next(iter(node))
        items = node[name]
        if not isinstance(items, list) or not items:
            check.fail(node, name, f"'{name}' takes a non-empty list of conditions")
            return None
        parts = [_condition(check, items, i) for i in range(len(items))]
        if any(p is None for p in parts):
            return None
        done = tuple(p for p in parts if p is not None)
        return All(done) if name == "all" else Any_(done)
    if len(node) == 1 and "not" in node:
        inner = _condition(check, node, "not")
        return Not(inner) if inner is not None else None
    return _field_test(check, parent, key, node)


def _field_test(check: _Checker, parent: Any, key: Any, node: Any) -> Condition | None:
    if "field" not in node:
        check.fail(parent, key, "a field test needs 'field' (or use all / any / not)")
        return None
    field = node["field"]
    if field not in FIELDS:
        check.fail(node, "field", f"unknown field {field!r}; known: {', '.join(sorted(FIELDS))}")
        return None
    ops = [k for k in node if k != "field"]
    if len(ops) != 1:
        check.fail(parent, key, "a field test takes exactly one operator")
        return None
    op = ops[0]
    value = node[op]
    if op in KEYWORD_OPERATORS:
        if field not in TEXT_FIELDS:
            check.fail(node, op, f"{op} works on text fields, not {field!r}")
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            check.fail(node, op, f"{op} takes a non-empty list of words or phrases")
            return None
        normalised = tuple(normalise_words(v) for v in value)
        if any(n.strip() == "" for n in normalised):
            check.fail(node, op, "a keyword must contain at least one letter or digit")
            return None
        return Keywords(field, normalised, tuple(value), need_all=(op == "keywords_all"))
    if op not in COMPARE_OPERATORS:
        known = ", ".join(sorted(COMPARE_OPERATORS | KEYWORD_OPERATORS))
        check.fail(node, op, f"unknown operator {op!r}; known: {known}")
        return None
    if op in ("in", "not_in") and not isinstance(value, list):
        check.fail(node, op, f"{op} takes a list")
        return None
    if op in ("gte", "lte", "gt", "lt") and (isinstance(value, bool) or not isinstance(value, int | float)):
        check.fail(node, op, f"{op} takes a number")
        return None
    plain = list(value) if isinstance(value, list) else value
    return Compare(field, op, plain)


def _actions(check: _Checker, rule: Any) -> Actions | None:
    node = rule["then"]
    if not isinstance(node, dict) or not node:
        check.fail(rule, "then", "'then' is a mapping of actions")
        return None
    ok = True
    for k in node:
        if k not in _ACTION_KEYS:
            check.fail(node, k, f"unknown action {k!r}; known: {', '.join(sorted(_ACTION_KEYS))}")
            ok = False
    tier = _tier(check, node, "support_tier") if "support_tier" in node else None
    priority = _priority(check, node, "priority") if "priority" in node else None
    ok = ok and ("support_tier" not in node or tier is not None)
    ok = ok and ("priority" not in node or priority is not None)
    tags = node.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        check.fail(node, "tags", "tags is a list of strings")
        ok = False
    for flag in ("override", "stop"):
        if flag in node and not isinstance(node[flag], bool):
            check.fail(node, flag, f"{flag} is true or false")
            ok = False
    if not ok:
        return None
    return Actions(tier, priority, tuple(tags), bool(node.get("override", False)), bool(node.get("stop", False)))


def _rules(check: _Checker, doc: Any) -> Iterator[Rule]:
    items = doc.get("rules", [])
    if not isinstance(items, list):
        check.fail(doc, "rules", "'rules' is a list")
        return
    seen: dict[str, int] = {}
    for index, rule in enumerate(items):
        if not isinstance(rule, dict):
            check.fail(items, index, "a rule is a mapping with id, when and then")
            continue
        for k in rule:
            if k not in _RULE_KEYS:
                check.fail(rule, k, f"unknown field {k!r} in a rule; known: {', '.join(sorted(_RULE_KEYS))}")
        missing = [k for k in ("id", "when", "then") if k not in rule]
        if missing:
            check.fail(items, index, f"rule is missing {', '.join(missing)}")
            continue
        rule_id = str(rule["id"])
        if rule_id in seen:
            check.fail(rule, "id", f"duplicate rule id {rule_id!r} (first at line {seen[rule_id]})")
        else:
            seen[rule_id] = _position(rule, "id")[0]
        when = _condition(check, rule, "when")
        then = _actions(check, rule)
        if when is not None and then is not None:
            yield Rule(rule_id, str(rule.get("description", "")), when, then)


def parse_rulebook(text: str, source: str = "<rulebook>") -> Rulebook:
    """Check and compile rulebook text; raises ``RulebookError`` listing every problem."""
    check = _Checker(source)
    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise RulebookError([Problem(source, line, col, f"not valid YAML: {exc}")]) from exc
    if not isinstance(doc, dict):
        raise RulebookError([Problem(source, 1, 1, "a rulebook is a mapping with 'rules'")])
    for k in doc:
        if k not in _TOP_KEYS:
            check.fail(doc, k, f"unknown top-level field {k!r}; known: {', '.join(sorted(_TOP_KEYS))}")
    defaults = doc.get("defaults") or {}
    default_tier, default_priority = 1, "normal"
    if "support_tier" in defaults:
        default_tier = _tier(check, defaults, "support_tier") or 0
    if "priority" in defaults:
        default_priority = _priority(check, defaults, "priority") or "normal"
    rules = tuple(_rules(check, doc))
    if check.problems:
        raise RulebookError(check.problems)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return Rulebook(version, default_tier, default_priority, rules)


def load_rulebook(path: Path) -> Rulebook:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulebookError([Problem(str(path), 0, 0, f"cannot read rulebook: {exc.strerror}")]) from exc
    return parse_rulebook(text, str(path))
