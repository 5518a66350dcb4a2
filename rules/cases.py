"""Rule tests written by rulebook authors: input snapshot → expected tier, priority, tags, ...

A cases file is YAML: a list of ``{name, input: {...snapshot fields...}, expect: {...}}``. ``expect`` may
name ``support_tier``, ``priority``, ``severity``, ``sla_policy``, ``queue_group``, ``rules`` (ids that
must match, in order) and ``tags`` (exact list) or ``tags_include`` (a subset).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from rules.engine import Rulebook
from rules.located import Problem, RulebookError, UnreadableSource, position, read_source
from rules.model import Decision, Snapshot

EXPECT_KEYS = (
    "support_tier",
    "priority",
    "severity",
    "sla_policy",
    "queue_group",
    "vendor",
    "tags",
    "tags_include",
    "rules",
)


@dataclass(frozen=True)
class Case:
    name: str
    line: int
    snapshot: Snapshot
    expect: dict[str, Any]


@dataclass(frozen=True)
class CaseResult:
    case: Case
    decision: Decision
    #: field -> (expected, actual) for every expectation that failed.
    diff: dict[str, tuple[Any, Any]]

    @property
    def passed(self) -> bool:
        return not self.diff


def load_cases(path: Path) -> list[Case]:
    source = str(path)
    try:
        doc = YAML(typ="rt").load(read_source(path, "cases file"))
    except UnreadableSource as exc:
        raise RulebookError([exc.problem]) from exc
    except YAMLError as exc:
        raise RulebookError([Problem(source, 0, 0, f"cannot read cases: {exc}")]) from exc
    if not isinstance(doc, list):
        raise RulebookError([Problem(source, 1, 1, "a cases file is a list of {name, input, expect}")])
    cases: list[Case] = []
    problems: list[Problem] = []
    for i, item in enumerate(doc):
        line, col = position(doc, i)
        if not isinstance(item, dict) or "input" not in item or "expect" not in item:
            problems.append(Problem(source, line, col, "a case needs input and expect"))
            continue
        unknown = sorted(set(item["expect"]) - set(EXPECT_KEYS))
        if unknown:
            problems.append(Problem(source, line, col, f"unknown expectation(s): {', '.join(unknown)}"))
            continue
        try:
            snapshot = Snapshot.from_mapping(dict(item["input"]))
        except (TypeError, ValueError, KeyError) as exc:
            problems.append(Problem(source, line, col, f"bad input: {exc}"))
            continue
        cases.append(Case(str(item.get("name", f"case {i + 1}")), line, snapshot, dict(item["expect"])))
    if problems:
        raise RulebookError(problems)
    return cases


def actual_value(decision: Decision, key: str) -> Any:
    if key == "rules":
        return [m.rule_id for m in decision.matched]
    if key in ("tags", "tags_include"):
        return list(decision.tags)
    return getattr(decision, key)


def run_case(rulebook: Rulebook, case: Case) -> CaseResult:
    decision = rulebook.evaluate(case.snapshot)
    diff: dict[str, tuple[Any, Any]] = {}
    for key, expected in case.expect.items():
        actual = actual_value(decision, key)
        if key == "tags_include":
            ok = set(expected) <= set(actual)
        elif key in ("tags", "rules"):
            ok = list(expected) == actual
        else:
            ok = expected == actual
        if not ok:
            diff[key] = (list(expected) if isinstance(expected, list) else expected, actual)
    return CaseResult(case, decision, diff)


def run_cases(rulebook: Rulebook, cases: list[Case]) -> list[CaseResult]:
    return [run_case(rulebook, case) for case in cases]
