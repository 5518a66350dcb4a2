"""The rules engine: pure Python, no database, web framework or Redis.

``load_rulebook(path)`` reads and checks a rulebook; ``rulebook.evaluate(snapshot)`` returns a
``Decision`` that explains itself (rules matched, values they saw, rulebook version).
"""

from rules.engine import Rulebook
from rules.loader import RulebookError, load_rulebook, parse_rulebook
from rules.model import PRIORITIES, Decision, RuleMatch, Snapshot

__all__ = [
    "PRIORITIES",
    "Decision",
    "RuleMatch",
    "Rulebook",
    "RulebookError",
    "Snapshot",
    "load_rulebook",
    "parse_rulebook",
]
