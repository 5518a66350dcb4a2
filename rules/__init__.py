"""The rules engine: pure Python, no database, web framework or Redis.

``load_rulebook(path)`` reads and checks a rulebook; ``rulebook.evaluate(snapshot)`` returns a
``Decision`` that explains itself (rules matched, values they saw, rulebook version). The words every
layer shares (support and customer tiers, priorities) are in ``rules.vocabulary``.

The names below are imported on first use (PEP 562): importing ``rules.vocabulary`` (which every layer and
the command line's start-up do) must not compile the engine, RE2 and the YAML loader with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rules.engine import Rulebook
    from rules.loader import Problem, RulebookError, load_rulebook, parse_rulebook
    from rules.model import SEVERITIES, AttachmentInfo, Decision, RuleMatch, Snapshot
    from rules.vocabulary import PRIORITIES

_HOME = {
    "PRIORITIES": "rules.vocabulary",
    "SEVERITIES": "rules.model",
    "AttachmentInfo": "rules.model",
    "Decision": "rules.model",
    "Problem": "rules.loader",
    "RuleMatch": "rules.model",
    "Rulebook": "rules.engine",
    "RulebookError": "rules.loader",
    "Snapshot": "rules.model",
    "load_rulebook": "rules.loader",
    "parse_rulebook": "rules.loader",
}

__all__ = [
    "PRIORITIES",
    "SEVERITIES",
    "AttachmentInfo",
    "Decision",
    "Problem",
    "RuleMatch",
    "Rulebook",
    "RulebookError",
    "Snapshot",
    "load_rulebook",
    "parse_rulebook",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'rules' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
