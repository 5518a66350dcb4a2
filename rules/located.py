"""Located problems in YAML files a person writes: every mistake as ``file:line:column``, all at once.

Shared by the rulebook, its test cases and the SLA policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError


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


def position(node: Any, key: Any) -> tuple[int, int]:
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


def load_yaml_mapping(
    text: str,
    source: str,
    *,
    located: bool = True,
    error: type[RulebookError] = RulebookError,
    expected: str = "a rulebook is a mapping with 'rules'",
) -> Any:
    """A YAML document that must be a mapping; problems raise ``error`` with their location.

    The C-backed safe loader is ~4x faster; the round-trip loader keeps line numbers for messages.
    """
    loader = YAML(typ="rt") if located else YAML(typ="safe", pure=False)
    try:
        doc = loader.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise error([Problem(source, line, col, f"not valid YAML: {exc}")]) from exc
    if not isinstance(doc, dict):
        raise error([Problem(source, 1, 1, expected)])
    return doc
