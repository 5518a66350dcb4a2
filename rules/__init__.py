"""The rules engine: pure Python, no database, web framework or Redis.

``load_rulebook(path)`` reads and checks a rulebook; ``rulebook.evaluate(snapshot)`` returns a
``Decision`` that explains itself (rules matched, values they saw, rulebook version). The words every
layer shares (support and customer tiers, priorities) are in ``rules.vocabulary``.
"""

from rules.engine import Rulebook
from rules.loader import Problem, RulebookError, load_rulebook, parse_rulebook
from rules.model import SEVERITIES, AttachmentInfo, Decision, RuleMatch, Snapshot
from rules.vocabulary import PRIORITIES

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
