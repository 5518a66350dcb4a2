"""Conditions — field tests combined by ``all`` / ``any`` / ``not`` — and the per-evaluation context.

Every leaf can name the *trigger keys* that must fire for it to hold (a keyword found, a regex matched,
a field equal to a value). The engine indexes rules by those keys and evaluates only the rules whose
keys fired (plus the few with none), which keeps 10,000 rules close to the cost of 10.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from rules.fields import Env, FieldSpec
from rules.matchers import KeywordIndex, RegexIndex
from rules.model import Snapshot

TriggerKey = tuple[str, str, Any]


class EvalContext:
    """One snapshot's evaluation: field values and matcher results, each computed once."""

    def __init__(
        self,
        snapshot: Snapshot,
        env: Env,
        keyword_index: dict[str, KeywordIndex],
        regex_index: dict[str, RegexIndex],
    ) -> None:
        self.snapshot = snapshot
        self.env = env
        self._keyword_index = keyword_index
        self._regex_index = regex_index
        self._values: dict[str, Any] = {}
        self._keywords: dict[str, frozenset[str]] = {}
        self._regexes: dict[str, frozenset[int]] = {}

    def value(self, spec: FieldSpec) -> Any:
        if spec.name not in self._values:
            self._values[spec.name] = spec.get(self.snapshot, self.env)
        return self._values[spec.name]

    def keywords(self, spec: FieldSpec) -> frozenset[str]:
        if spec.name not in self._keywords:
            self._keywords[spec.name] = self._keyword_index[spec.name].scan(str(self.value(spec) or ""))
        return self._keywords[spec.name]

    def regexes(self, spec: FieldSpec) -> frozenset[int]:
        if spec.name not in self._regexes:
            value = self.value(spec)
            self._regexes[spec.name] = self._regex_index[spec.name].scan("" if value is None else str(value))
        return self._regexes[spec.name]

    def regex_text(self, spec: FieldSpec, index: int) -> str | None:
        value = self.value(spec)
        return self._regex_index[spec.name].first_match(index, "" if value is None else str(value))


class Condition:
    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        """True when the condition holds; records the values it looked at in ``saw``."""
        raise NotImplementedError

    def triggers(self) -> frozenset[TriggerKey] | None:
        """Keys of which at least one fires whenever this condition holds; None if there is no such set."""
        return None


@dataclass(frozen=True)
class All(Condition):
    parts: tuple[Condition, ...]

    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        return all(part.test(ctx, saw) for part in self.parts)

    def triggers(self) -> frozenset[TriggerKey] | None:
        options = [t for t in (p.triggers() for p in self.parts) if t is not None]
        return min(options, key=len) if options else None


@dataclass(frozen=True)
class Any_(Condition):
    parts: tuple[Condition, ...]

    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        return any(part.test(ctx, saw) for part in self.parts)

    def triggers(self) -> frozenset[TriggerKey] | None:
        sets = [p.triggers() for p in self.parts]
        if any(t is None for t in sets):
            return None
        return frozenset().union(*(t for t in sets if t is not None))


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        return not self.part.test(ctx, {})


def _shown(value: Any) -> Any:
    """Values kept in explanations stay short."""
    if isinstance(value, str) and len(value) > 120:
        return value[:117] + "..."
    return value


@dataclass(frozen=True)
class Keywords(Condition):
    field: FieldSpec
    phrases: tuple[str, ...]  # normalised, " word word "
    originals: tuple[str, ...]
    need_all: bool

    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        hits = ctx.keywords(self.field)
        found = [orig for phrase, orig in zip(self.phrases, self.originals, strict=True) if phrase in hits]
        ok = len(found) == len(self.phrases) if self.need_all else bool(found)
        if ok:
            saw[f"{self.field.name} keywords"] = found
        return ok

    def triggers(self) -> frozenset[TriggerKey] | None:
        if self.need_all:
            return frozenset({("kw", self.field.name, self.phrases[0])})
        return frozenset(("kw", self.field.name, p) for p in self.phrases)


@dataclass(frozen=True)
class Regex(Condition):
    field: FieldSpec
    index: int
    pattern: str

    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        if self.index not in ctx.regexes(self.field):
            return False
        saw[f"{self.field.name} matched /{self.pattern}/"] = _shown(ctx.regex_text(self.field, self.index))
        return True

    def triggers(self) -> frozenset[TriggerKey] | None:
        return frozenset({("re", self.field.name, self.index)})


def comparable(value: Any) -> Any:
    """Strings compare case-insensitively; everything else as it is."""
    return value.casefold() if isinstance(value, str) else value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def op(actual: Any, expected: Any) -> bool:
        return _is_number(actual) and check(actual, expected)

    return op


def _members(actual: Any) -> list[Any]:
    """A list field's elements, or a scalar as a one-element list (``None``: empty)."""
    if actual is None:
        return []
    return [comparable(v) for v in actual] if isinstance(actual, list | tuple) else [comparable(actual)]


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    # On list fields (tags, attachment types) equals/in/not_in ask about any element.
    "equals": lambda a, e: comparable(e) in _members(a),
    "in": lambda a, e: any(isinstance(m, Hashable) and m in e for m in _members(a)),
    "not_in": lambda a, e: not any(isinstance(m, Hashable) and m in e for m in _members(a)),
    "gte": _numeric(lambda a, e: a >= e),
    "lte": _numeric(lambda a, e: a <= e),
    "gt": _numeric(lambda a, e: a > e),
    "lt": _numeric(lambda a, e: a < e),
    "exists": lambda a, e: (a not in (None, "", [], ())) == bool(e),
}
COMPARE_OPERATORS = frozenset(OPERATORS)
KEYWORD_OPERATORS = frozenset({"keywords_any", "keywords_all"})
REGEX_OPERATOR = "regex"


@dataclass(frozen=True)
class Compare(Condition):
    field: FieldSpec
    op: str
    #: For in/not_in a frozenset of comparable values; for equals one comparable value.
    value: Any

    def test(self, ctx: EvalContext, saw: dict[str, Any]) -> bool:
        actual = ctx.value(self.field)
        ok = OPERATORS[self.op](actual, self.value)
        if ok:
            saw[self.field.name] = _shown(actual)
        return ok

    def triggers(self) -> frozenset[TriggerKey] | None:
        if self.op == "equals":
            return frozenset({("eq", self.field.name, self.value)})
        if self.op == "in":
            return frozenset(("eq", self.field.name, v) for v in self.value)
        return None
