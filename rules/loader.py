"""Read a rulebook (YAML) into a compiled ``Rulebook``; every mistake is reported with file:line:column.

Nothing is half-loaded: either every part checks out and a rulebook is returned, or ``RulebookError``
lists all the problems found.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import re2

from rules.compiler import TOP_KEYS, Compiler, index_rules
from rules.engine import Rulebook
from rules.fields import Env
from rules.located import Problem, RulebookError, UnreadableSource, load_yaml_mapping, read_source
from rules.matchers import KeywordIndex, RegexIndex
from rules.model import SEVERITIES
from rules.vocabulary import CUSTOMER_TIER_NAMES, CUSTOMER_TIERS, TierScale, customer_scale

__all__ = ["Problem", "RulebookError", "load_rulebook", "parse_rulebook"]


def parse_rulebook(text: str, source: str = "<rulebook>", scale: TierScale | None = None) -> Rulebook:
    """Check and compile rulebook text; raises ``RulebookError`` listing every problem.

    A rulebook is read first with the fast (libyaml-based) loader. When that finds problems the text is
    read again with the round-trip loader, which is the reference: its line and column numbers locate
    each problem, and where libyaml's scanner reads a corner of YAML 1.2 differently (``[a:b]`` in a
    flow sequence) and the reference finds nothing wrong, the reference's rulebook is the one returned.

    Customer tiers named in the rulebook stand for their place on ``scale`` (default: the process's scale).
    """
    scale = scale or customer_scale()
    try:
        return _compile(load_yaml_mapping(text, source, located=False), text, source, scale)
    except RulebookError:
        return _compile(load_yaml_mapping(text, source, located=True), text, source, scale)


def _compile(doc: Any, text: str, source: str, scale: TierScale) -> Rulebook:
    c = Compiler(source, scale)
    for k in doc:
        if k not in TOP_KEYS:
            c.fail(doc, k, f"unknown top-level field {k!r}; known: {', '.join(sorted(TOP_KEYS))}")
    if "customer_tiers" in doc:
        c.customer_tiers = c.names(doc, "customer_tiers", len(CUSTOMER_TIERS)) or CUSTOMER_TIER_NAMES
    if "severities" in doc:
        c.severities = c.names(doc, "severities", None) or SEVERITIES
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        c.fail(doc, "defaults", "defaults is a mapping of support_tier, priority, severity")
        defaults = {}
    for k in defaults:
        if k not in ("support_tier", "priority", "severity"):
            c.fail(defaults, k, f"unknown default {k!r}; known: priority, severity, support_tier")
    default_tier = (c.tier(defaults, "support_tier") if "support_tier" in defaults else 1) or 0
    default_priority = (c.priority(defaults, "priority") if "priority" in defaults else None) or "normal"
    fallback_severity = "minor" if "minor" in c.severities else c.severities[-1]
    default_severity = (c.severity(defaults, "severity") if "severity" in defaults else None) or fallback_severity
    env = Env(c.services(doc), c.calendar(doc))
    matrix = c.matrix(doc)
    rules = c.rules(doc)
    regex_index: dict[str, RegexIndex] = {}
    for name, patterns in c.patterns.items():
        try:
            regex_index[name] = RegexIndex(patterns)
        except re2.error as exc:
            c.problems.append(Problem(source, 0, 0, f"the {len(patterns)} regexes on {name!r} do not compile: {exc}"))
    if c.problems:
        raise RulebookError(c.problems)
    by_key, always = index_rules(rules)
    equality_fields = {key[1]: c.specs[key[1]] for key in by_key if key[0] == "eq"}
    index_fields = {name: c.specs[name] for name in [*c.phrases, *c.patterns]}
    return Rulebook(
        version=hashlib.sha256(text.encode()).hexdigest()[:16],
        default_tier=default_tier,
        default_priority=default_priority,
        default_severity=default_severity,
        severities=c.severities,
        customer_tiers=scale.numbered(c.customer_tiers),
        scale=scale,
        rules=tuple(rules),
        env=env,
        matrix=matrix,
        keyword_index={name: KeywordIndex(phrases) for name, phrases in c.phrases.items()},
        regex_index=regex_index,
        equality_fields=equality_fields,
        index_fields=index_fields,
        rules_by_trigger=by_key,
        always_check=always,
    )


def load_rulebook(path: Path, scale: TierScale | None = None) -> Rulebook:
    try:
        text = read_source(path, "rulebook")
    except UnreadableSource as exc:
        raise RulebookError([exc.problem]) from exc
    return parse_rulebook(text, str(path), scale)
