"""Conditions: field tests (``{field: text, keywords_any: [...]}``) combined by ``all``/``any``/``not``."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rules.model import Snapshot

#: Our own fixed pattern (never rule-author input): Unicode word characters.
_WORD = re.compile(r"\w+")


def normalise_words(text: str) -> str:
    """Case-folded words joined by single spaces and padded, so ``" kw "`` finds whole words only."""
    return " " + " ".join(_WORD.findall(text.casefold())) + " "


FIELDS: dict[str, Callable[[Snapshot], Any]] = {
    "subject": lambda s: s.subject,
    "body": lambda s: s.body,
    "text": lambda s: f"{s.subject}\n{s.body}",
    "sender": lambda s: s.sender.lower(),
    "sender_domain": lambda s: s.sender_domain,
    "channel": lambda s: s.channel,
    "customer_tier": lambda s: s.customer_tier,
    "customer_ref": lambda s: s.customer_ref,
    "priority_hint": lambda s: s.priority_hint,
}
TEXT_FIELDS = frozenset({"subject", "body", "text", "sender", "sender_domain", "channel"})


class Condition:
    def test(self, snapshot: Snapshot, saw: dict[str, Any]) -> bool:
        """True when the condition holds; records the values it looked at in ``saw``."""
        raise NotImplementedError


@dataclass(frozen=True)
class All(Condition):
    parts: tuple[Condition, ...]

    def test(self, snapshot: Snapshot, saw: dict[str, Any]) -> bool:
        return all(part.test(snapshot, saw) for part in self.parts)


@dataclass(frozen=True)
class Any_(Condition):
    parts: tuple[Condition, ...]

    def test(self, snapshot: Snapshot, saw: dict[str, Any]) -> bool:
        return any(part.test(snapshot, saw) for part in self.parts)


@dataclass(frozen=True)
class Not(Condition):
    part: Condition

    def test(self, snapshot: Snapshot, saw: dict[str, Any]) -> bool:
        return not self.part.test(snapshot, {})


def _shown(value: Any) -> Any:
    """Values kept in explanations stay short."""
    if isinstance(value, str) and len(value) > 120:
        return value[:117] + "..."
    return value


@dataclass(frozen=True)
class Keywords(Condition):
    field: str
    keywords: tuple[str, ...]  # already normalised, " word word "
    originals: tuple[str, ...]
    need_all: bool

    def test(self, snapshot: Snapshot, saw: dict[str, Any]) -> bool:
        words = normalise_words(str(FIELDS[self.field](snapshot) or ""))
        found = [orig for kw, orig in zip(self.keywords, self.originals, strict=True) if kw in words]
        ok = len(found) == len(self.keywords) if self.need_all else bool(found)
        if ok:
            saw[f"{self.field} keywords"] = found
        return ok


@dataclass(frozen=True)
class Compare(Condition):
    field: str
    op: str
    value: Any

    def test(self, snapshot: Snapshot, saw: dict[str, Any]) -> bool:
        actual = FIELDS[self.field](snapshot)
        ok = _OPERATORS[self.op](actual, self.value)
        if ok:
            saw[self.field] = _shown(actual)
        return ok


def _casefold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def _numeric(check: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def op(actual: Any, expected: Any) -> bool:
        return isinstance(actual, int | float) and not isinstance(actual, bool) and check(actual, expected)

    return op


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": lambda a, e: _casefold(a) == _casefold(e),
    "in": lambda a, e: _casefold(a) in {_casefold(v) for v in e},
    "not_in": lambda a, e: _casefold(a) not in {_casefold(v) for v in e},
    "gte": _numeric(lambda a, e: a >= e),
    "lte": _numeric(lambda a, e: a <= e),
    "gt": _numeric(lambda a, e: a > e),
    "lt": _numeric(lambda a, e: a < e),
    "exists": lambda a, e: (a not in (None, "")) == bool(e),
}
COMPARE_OPERATORS = frozenset(_OPERATORS)
KEYWORD_OPERATORS = frozenset({"keywords_any", "keywords_all"})
